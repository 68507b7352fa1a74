//! Overload test: senders much faster than storage. The pipeline's in-flight limit and the store's
//! flush threshold are small, so backpressure must hold the server's memory under a bound while
//! every acknowledged report is stored.

// The figures of the run are printed for the issue note.
#![allow(clippy::print_stderr)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::*;
use proto_gbt32960::Command;

/// The bound this test holds the server to (resident memory, MiB), while the senders offer about
/// 330 MiB. The idle server uses about 60 MiB; the in-flight limit (4 MiB) and the flush
/// threshold (16 MiB) add buffers, decoding and Parquet writing on top.
const RSS_BOUND_MIB: u64 = 256;
const IN_FLIGHT_LIMIT: u64 = 4 << 20;

#[test]
fn fast_senders_are_slowed_not_buffered_and_nothing_acknowledged_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let extra = "[storage]\nflush_interval_secs = 1\nflush_bytes = 16777216\nmax_in_flight_bytes = 4194304\n";
    let server = Server::start(tmp.path(), extra);
    let senders = 6u32;
    let per_sender = 25_000u32;

    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (done, peak) = (Arc::clone(&done), Arc::clone(&peak));
        let pid = server.child.id();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                // The resident set of the server process, sampled every 20 ms.
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let kib = status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                peak.fetch_max(kib, Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        })
    };

    // The pipeline's in-flight bytes, sampled over HTTP: they must reach the limit (the senders
    // are faster than storage) and never pass it.
    let in_flight_watch = {
        let done = Arc::clone(&done);
        let probe = Server::probe(&server);
        std::thread::spawn(move || {
            let mut peak = 0.0f64;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(probe.metric("haihe_pipeline_in_flight_bytes"));
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            peak as u64
        })
    };
    let handles: Vec<_> = (0..senders)
        .map(|s| {
            let port = server.gbt;
            std::thread::spawn(move || {
                let vin = format!("LXLOAD{s:011}");
                let mut c = Client::connect(port);
                c.send(&login(&vin, 1));
                c.recv().unwrap();
                // Everything in large writes, as fast as the socket takes it.
                let mut chunk = Vec::with_capacity(1 << 20);
                for n in 1..=per_sender {
                    chunk.extend(padded_report(&vin, n).encode().unwrap());
                    if chunk.len() >= 1 << 20 {
                        c.send_bytes(&chunk);
                        chunk.clear();
                    }
                }
                chunk.extend(heartbeat(&vin).encode().unwrap());
                c.send_bytes(&chunk);
                assert_eq!(c.recv().unwrap().header.command, Command::HEARTBEAT);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let peak_mib = peak.load(Ordering::Relaxed) / 1024;
    let in_flight_peak = in_flight_watch.join().unwrap();
    watcher.join().unwrap();

    // Every report was acknowledged by its sender's heartbeat reply, so every one is durable and
    // becomes queryable once applied (the applier may still be catching up).
    let want = serde_json::json!([[u64::from(senders * per_sender), senders]]);
    poll(60, "every acknowledged report to be queryable", || {
        let r = server.sql("SELECT count(*), count(DISTINCT vin) FROM vehicle_samples");
        (r["rows"] == want).then_some(())
    });
    eprintln!(
        "peak RSS {peak_mib} MiB, peak in flight {in_flight_peak} B, for {} reports",
        senders * per_sender
    );
    assert!(
        in_flight_peak <= IN_FLIGHT_LIMIT,
        "in flight {in_flight_peak} B over the limit"
    );
    assert!(
        in_flight_peak >= IN_FLIGHT_LIMIT / 2,
        "the senders never filled the pipeline ({in_flight_peak} B)"
    );
    assert!(peak_mib > 0, "the watcher saw the server");
    assert!(
        peak_mib < RSS_BOUND_MIB,
        "peak RSS {peak_mib} MiB over the {RSS_BOUND_MIB} MiB bound"
    );
}

/// A report with a 2 000-byte vendor block: volume that storage must write but samples do not keep.
fn padded_report(vin: &str, n: u32) -> proto_gbt32960::Frame {
    use proto_gbt32960::{Block2016, Body, RawBlock, Report};
    let mut f = report(vin, n);
    if let Body::Report(Report::V2016(r)) = &mut f.body {
        r.blocks.push(Block2016::UserDefined(RawBlock {
            type_id: 0x80,
            data: vec![0x5A; 2000],
        }));
    }
    f
}
