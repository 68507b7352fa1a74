//! Measures WAL throughput: N producer threads append fixed-size records and wait for each to be
//! durable, the way gateway connections wait before answering a device.
//!
//! `cargo run --release -p store --example wal_throughput -- [DIR] [PRODUCERS] [RECORDS_EACH]
//! [RECORD_BYTES] [IN_FLIGHT]`; DIR (`-` for the default) defaults to a temporary directory under
//! `target/`, IN_FLIGHT is how many records each producer keeps unacknowledged (default 1).

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use store::wal::{Ticket, Wal, WalOptions};

fn arg<T: std::str::FromStr>(args: &[String], index: usize, default: T) -> T {
    args.get(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Beside the binary, i.e. under target/: /tmp may be a RAM disk, where fsync costs nothing.
    let exe = std::env::current_exe()?;
    let scratch = tempfile::tempdir_in(exe.parent().ok_or("executable has no directory")?)?;
    let dir = args
        .first()
        .filter(|d| !d.is_empty() && *d != "-")
        .map_or_else(|| scratch.path().to_path_buf(), PathBuf::from);
    let producers: usize = arg(&args, 1, 8);
    let each: usize = arg(&args, 2, 5000);
    let size: usize = arg(&args, 3, 500);
    let in_flight: usize = arg(&args, 4, 1).max(1);

    let (wal, replay) = Wal::open(&dir, WalOptions::default())?;
    drop(replay);
    let wal = Arc::new(wal);
    let started = Instant::now();
    let threads: Vec<_> = (0..producers)
        .map(|p| {
            let wal = Arc::clone(&wal);
            thread::spawn(move || -> Result<(), store::wal::WalError> {
                let mut window: std::collections::VecDeque<Ticket> = Default::default();
                for i in 0..each {
                    if window.len() == in_flight {
                        window.pop_front().expect("non-empty").wait()?;
                    }
                    window.push_back(wal.append(vec![(p + i) as u8; size])?);
                }
                window.into_iter().try_for_each(|t| t.wait().map(drop))
            })
        })
        .collect();
    for t in threads {
        t.join().expect("producer")?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = wal.stats();
    let mut out = io::stdout();
    writeln!(
        out,
        "{producers} producers x {each} records of {size} B, {in_flight} in flight each, in {elapsed:.2} s"
    )?;
    writeln!(
        out,
        "records/s {:.0}  MB/s {:.1}  fsyncs {} ({:.0}/s)  records/fsync {:.1}  mean fsync {:.2} ms",
        stats.records as f64 / elapsed,
        stats.bytes_written as f64 / elapsed / 1e6,
        stats.fsyncs,
        stats.fsyncs as f64 / elapsed,
        stats.records as f64 / stats.batches.max(1) as f64,
        stats.fsync_time.as_secs_f64() * 1e3 / stats.batches.max(1) as f64,
    )?;
    Ok(())
}
