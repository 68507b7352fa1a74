//! Crash test: after the reply to a heartbeat that followed N reports, `kill -9` the server; after
//! a restart all N reports are queryable, none twice. Repeated at varying kill points, with
//! flushes to Parquet happening in between so rows come back from both the files and the WAL.

mod common;

use common::*;
use proto_gbt32960::{Command, Response};

/// A small deterministic generator for the kill points (the test must be reproducible).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// The report numbers stored for `vin` (report n has odometer 1000 + n/10), checking that none
/// is stored twice.
fn stored(server: &Server, vin: &str) -> std::collections::BTreeSet<u32> {
    let r = server.sql(&format!(
        "SELECT odometer_km FROM vehicle_samples WHERE vin = '{vin}'"
    ));
    let rows = r["rows"].as_array().unwrap();
    let set: std::collections::BTreeSet<u32> = rows
        .iter()
        .map(|row| ((row[0].as_f64().unwrap() - 1000.0) * 10.0).round() as u32)
        .collect();
    assert_eq!(set.len(), rows.len(), "a report is stored twice");
    set
}

#[test]
fn kill_9_after_the_reply_loses_no_acknowledged_report() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), "[storage]\nflush_interval_secs = 1\n");
    let data = tmp.path().join("data");
    let vin = "LXCRASH0000000001";
    let mut rng = Lcg(0x5EED_32960);
    let mut sent = 0u32;
    let mut acked: Vec<u32> = Vec::new();
    for round in 0..6 {
        let mut server = Server::start_with(data.clone(), config.clone());
        let have = stored(&server, vin);
        for n in &acked {
            assert!(
                have.contains(n),
                "round {round}: acknowledged report {n} is lost"
            );
        }
        assert!(
            have.iter().all(|&n| n <= sent),
            "round {round}: a report that was never sent"
        );

        let mut c = Client::connect(server.gbt);
        c.send(&login(vin, round + 1));
        assert_eq!(c.recv().unwrap().header.response, Response::SUCCESS);
        let n = 100 + rng.below(400) as u32;
        let mut burst = Vec::new();
        for _ in 0..n {
            sent += 1;
            burst.extend(report(vin, sent).encode().unwrap());
            acked.push(sent);
        }
        burst.extend(heartbeat(vin).encode().unwrap());
        c.send_bytes(&burst);
        // Only the heartbeat's reply makes the reports before it acknowledged.
        let reply = c.recv().unwrap();
        assert_eq!(reply.header.command, Command::HEARTBEAT);

        // More reports that are never acknowledged, then the kill at a varying point of them;
        // every other round waits for a flush first, so rows come back from Parquet and the WAL.
        if round % 2 == 1 {
            let before = server.metric("haihe_store_buffered_rows");
            assert!(before > 0.0);
            poll(30, "a flush", || {
                (server.metric("haihe_store_buffered_rows") == 0.0).then_some(())
            });
        }
        let extra = rng.below(300) as u32;
        let mut tail = Vec::new();
        for _ in 0..extra {
            sent += 1;
            tail.extend(report(vin, sent).encode().unwrap());
        }
        c.send_bytes(&tail);
        server.kill9();
    }
    let server = Server::start_with(data, config);
    let have = stored(&server, vin);
    for n in &acked {
        assert!(have.contains(n), "final: acknowledged report {n} is lost");
    }
    let files = server.sql("SELECT count(*) FROM vehicle_samples WHERE ts < now()");
    assert!(files["rows"][0][0].as_u64().unwrap() >= acked.len() as u64);
}
