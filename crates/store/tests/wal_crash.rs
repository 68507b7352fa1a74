//! Crash test: a child process appends and reports each record it has seen become durable; the
//! parent kills it with SIGKILL at an arbitrary moment and checks that every reported record is
//! replayed with its payload. Three rounds run on the same directory, so recovery from one crash
//! is itself crashed into.
//!
//! The child is this test binary run again with `HAIHE_WAL_CRASH_CHILD` set, which is why the
//! test has its own `main` (`harness = false` in Cargo.toml). SIGKILL ends the process but not the
//! kernel, so this proves the log's own logic (what it acknowledges is written and replayed,
//! the torn tail is recovered); the fsync calls that cover power loss are exercised, not tested.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use store::wal::{Wal, WalOptions};

const CHILD_ENV: &str = "HAIHE_WAL_CRASH_CHILD";
const TEST_NAME: &str = "kill_9_loses_no_acknowledged_record";
const ROUNDS: u64 = 3;
const ACKS_BEFORE_KILL: usize = 1500;
const CHILD_THREADS: u64 = 4;

fn options() -> WalOptions {
    // Small segments, so that the kill sometimes lands around a rollover.
    let mut options = WalOptions::default();
    options.segment_size = 256 * 1024;
    options.max_record_size = 4096;
    options
}

/// The payload that the child appends as record `seq` of `thread` in `round`; the parent
/// computes the same bytes to check what was replayed.
fn payload(round: u64, thread: u64, seq: u64) -> Vec<u8> {
    let len = ((round * 7919 + thread * 104_729 + seq * 31) % 3000) as usize;
    let mut body = format!("round {round} thread {thread} seq {seq};").into_bytes();
    body.extend((0..len).map(|i| (i as u64 ^ seq) as u8));
    body
}

fn child(dir: &Path, round: u64) {
    let (wal, replay) = Wal::open(dir, options()).expect("child: open");
    drop(replay);
    let wal = Arc::new(wal);
    let out = Arc::new(Mutex::new(io::stdout()));
    let threads: Vec<_> = (0..CHILD_THREADS)
        .map(|thread| {
            let wal = Arc::clone(&wal);
            let out = Arc::clone(&out);
            thread::spawn(move || {
                // Bounded so that an orphaned child cannot run forever.
                for seq in 0..1_000_000 {
                    let ticket = wal
                        .append(payload(round, thread, seq))
                        .expect("child: append");
                    let lsn = ticket.wait().expect("child: durable");
                    // Printed only after `wait`, as a gateway would only then answer a device.
                    let mut out = out.lock().expect("stdout lock");
                    if writeln!(out, "durable {lsn} {thread} {seq}")
                        .and_then(|()| out.flush())
                        .is_err()
                    {
                        // The parent is gone.
                        return;
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("child thread");
    }
}

fn kill_9_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("current_exe");
    // LSN -> the payload the child acknowledged under it, over all rounds.
    let mut acked: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .env(CHILD_ENV, dir.path())
            .env("HAIHE_WAL_CRASH_ROUND", round.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines_tx, lines) = mpsc::channel();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut record = |line: String| {
            let fields: Vec<u64> = line
                .strip_prefix("durable ")
                .unwrap_or_else(|| panic!("unexpected child output {line:?}"))
                .split(' ')
                .map(|f| f.parse().expect("number"))
                .collect();
            let [lsn, thread, seq] = fields[..] else {
                panic!("unexpected child output {line:?}");
            };
            let previous = acked.insert(lsn, payload(round, thread, seq));
            assert!(previous.is_none(), "LSN {lsn} acknowledged twice");
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        for _ in 0..ACKS_BEFORE_KILL {
            let timeout = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(timeout) {
                Ok(line) => record(line),
                Err(e) => {
                    let _ = child.kill();
                    panic!("round {round}: child stopped acknowledging: {e}");
                }
            }
        }
        child.kill().expect("SIGKILL the child");
        child.wait().expect("reap the child");
        // Lines still in the pipe were printed after `wait` too, so they count as acknowledged.
        reader.join().expect("reader thread");
        for line in lines.try_iter() {
            record(line);
        }

        let (wal, replay) = Wal::open(dir.path(), options()).expect("reopen after SIGKILL");
        let replayed: BTreeMap<u64, Vec<u8>> = replay
            .map(|r| r.map(|r| (r.lsn, r.payload)))
            .collect::<Result<_, _>>()
            .expect("replay after SIGKILL has no corruption");
        drop(wal);
        let lsns: Vec<u64> = replayed.keys().copied().collect();
        assert_eq!(
            lsns,
            (1..=lsns.len() as u64).collect::<Vec<_>>(),
            "round {round}: replayed LSNs are dense from 1"
        );
        for (lsn, payload) in &acked {
            match replayed.get(lsn) {
                Some(found) => assert!(
                    found == payload,
                    "round {round}: LSN {lsn} replayed with another payload"
                ),
                None => panic!("round {round}: acknowledged LSN {lsn} was lost"),
            }
        }
    }
}

fn main() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        let round = std::env::var("HAIHE_WAL_CRASH_ROUND")
            .ok()
            .and_then(|r| r.parse().ok())
            .expect("round number");
        child(Path::new(&dir), round);
        return;
    }
    // Speak just enough of libtest's command line for `cargo test FILTER` and test listers.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = io::stdout();
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            writeln!(out, "{TEST_NAME}: test").expect("stdout");
        }
        return;
    }
    // Positional arguments are name filters; skip the values of libtest options that take one.
    let mut filters = Vec::new();
    let mut skipped = false;
    let mut takes_value = false;
    let mut previous = "";
    for arg in &args {
        if std::mem::take(&mut takes_value) {
            skipped |= previous == "--skip" && TEST_NAME.contains(arg.as_str());
            continue;
        }
        previous = arg;
        if arg.starts_with('-') {
            takes_value = !arg.contains('=')
                && matches!(
                    arg.as_str(),
                    "--test-threads" | "--skip" | "--format" | "--color" | "--logfile" | "-Z"
                );
        } else {
            filters.push(arg);
        }
    }
    let selected = filters.is_empty() || filters.iter().any(|f| TEST_NAME.contains(f.as_str()));
    if !selected || skipped || args.iter().any(|a| a == "--ignored") {
        writeln!(out, "0 passed, 0 failed").expect("stdout");
        return;
    }
    writeln!(out, "running 1 test").expect("stdout");
    kill_9_loses_no_acknowledged_record();
    writeln!(out, "test {TEST_NAME} ... ok\n1 passed, 0 failed").expect("stdout");
}
