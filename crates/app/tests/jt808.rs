//! System test of the JT/T 808 gateway and the fleet module (issue 5): 50 simulated terminals of
//! mixed versions, registered through `haihe fleet import`, register, authenticate, report and
//! batch-upload to `haihe serve`; every report is acknowledged, stored once and visible on the API,
//! and a `kill -9` after the acknowledgements loses nothing.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

const TERMINALS: usize = 50;
const REPORTS: u64 = 12;

fn haihe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_haihe"))
        .args(args)
        .output()
        .expect("run haihe")
}

fn count(server: &Server, sql: &str) -> u64 {
    server.sql(sql)["rows"][0][0].as_u64().unwrap()
}

#[test]
fn fifty_terminals_of_mixed_versions_are_acknowledged_stored_once_and_survive_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let csv = tmp.path().join("fleet.csv");
    let csv_s = csv.to_str().unwrap();
    let data_s = data.to_str().unwrap();

    // The fleet's registry, imported before the server starts: only registered terminals may
    // register (`terminals = "registered"` is the default).
    let out = haihe(&[
        "simulate",
        "--fleet-csv",
        csv_s,
        "--terminals",
        &TERMINALS.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = haihe(&["fleet", "import", csv_s, "--data-dir", data_s]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let config = write_config(tmp.path(), "");
    let mut server = Server::start_with(data.clone(), config.clone());
    assert_ne!(server.jt808, 0, "ports.json names the JT/T 808 port");

    // One unregistered terminal is refused (result 4) and stores nothing.
    let out = haihe(&[
        "simulate",
        "--jt808",
        &format!("127.0.0.1:{}", server.jt808),
        "--terminals",
        "1",
        "--first-terminal",
        "900",
        "--reports",
        "2",
        "--progress",
        "0",
    ]);
    let stranger: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(stranger["authenticated"], 0, "{stranger}");

    let out = haihe(&[
        "simulate",
        "--jt808",
        &format!("127.0.0.1:{}", server.jt808),
        "--terminals",
        &TERMINALS.to_string(),
        "--version",
        "mixed",
        "--interval",
        "1",
        "--reports",
        &REPORTS.to_string(),
        "--signal-loss-every",
        "2",
        "--signal-loss-secs",
        "2",
        "--progress",
        "0",
    ]);
    assert!(
        out.status.success(),
        "simulate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["authenticated"], TERMINALS as u64, "{s}");
    for v in ["2011", "2013", "2019"] {
        assert!(
            s["versions"][v]["authenticated"].as_u64().unwrap_or(0) > 0,
            "no {v} terminal: {s}"
        );
    }
    assert_eq!(s["reports_sent"], s["reports_acked"], "{s}");
    assert_eq!(s["batches_sent"], s["batches_acked"], "{s}");
    assert!(s["batches_sent"].as_u64().unwrap() > 0, "no batch: {s}");
    assert_eq!(s["ack_timeouts"], 0, "{s}");
    assert_eq!(s["connections"]["dropped"], 0, "{s}");
    let fixes = s["fixes"].as_u64().unwrap();
    assert_eq!(fixes, TERMINALS as u64 * REPORTS, "{s}");

    // Every fix is stored exactly once — then again after kill -9 and a restart.
    let stored = "SELECT count(*) FROM fleet_reports";
    assert_eq!(count(&server, stored), fixes);
    server.kill9();
    let server = Server::start_with(data, config);
    assert_eq!(count(&server, stored), fixes);
    assert_eq!(
        count(
            &server,
            "SELECT count(*) FROM (SELECT terminal_id, ts FROM fleet_reports \
             GROUP BY terminal_id, ts HAVING count(*) > 1)"
        ),
        0,
        "a fix stored twice"
    );
    assert_eq!(
        count(
            &server,
            "SELECT count(DISTINCT terminal_id) FROM fleet_reports"
        ),
        TERMINALS as u64
    );
    assert_eq!(
        count(
            &server,
            "SELECT count(*) FROM fleet_reports WHERE vin IS NULL"
        ),
        0,
        "every report carries its registered VIN"
    );
    assert!(count(&server, "SELECT count(*) FROM fleet_reports WHERE reissue") > 0);
    assert_eq!(
        count(
            &server,
            "SELECT count(*) FROM positions WHERE source LIKE 'jt808-%'"
        ),
        count(
            &server,
            "SELECT count(*) FROM fleet_reports WHERE position_valid"
        )
    );

    // The API lists them with everyone else, with tracks and the fleet KPI.
    let list = server.get("/api/v1/vehicles?limit=1000");
    assert_eq!(list["total"], TERMINALS as u64, "{list}");
    let vin = list["items"][0]["vin"].as_str().unwrap().to_owned();
    let one = server.get(&format!("/api/v1/vehicles/{vin}"));
    assert!(one["state"]["terminal_id"].is_string(), "{one}");
    // The default range is the last 24 hours: the simulated terminals report with the real clock.
    let track = server.get(&format!("/api/v1/vehicles/{vin}/track"));
    assert!(
        !track["geometry"]["coordinates"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{track}"
    );
    let kpi = server.get("/api/v1/kpi");
    let fleet = kpi["fleet"].as_array().unwrap();
    let registered: u64 = fleet
        .iter()
        .map(|c| c["registered"]["total"].as_u64().unwrap())
        .sum();
    let active: u64 = fleet
        .iter()
        .map(|c| c["active"]["total"].as_u64().unwrap())
        .sum();
    assert_eq!(
        (registered, active),
        (TERMINALS as u64, TERMINALS as u64),
        "{kpi}"
    );
}
