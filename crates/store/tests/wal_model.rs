//! Model test: random sequences of appends, reopens, checkpoints and torn tails against an
//! in-memory list of (LSN, payload), checking after every reopen that replay equals the model.
//!
//! The properties: a record acknowledged durable is replayed until a checkpoint past it removes
//! its segment; LSNs are dense and continue after recovery; tearing the newest record (the only
//! one a crash can tear, since everything before it was fsynced) loses exactly that record.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use proptest::collection::vec;
use proptest::prelude::*;
use store::wal::{Wal, WalOptions};

const HEADER: u64 = 16;

#[derive(Debug, Clone)]
enum Op {
    /// Append all payloads, then wait for all of them (so they may share group commits).
    Append(Vec<Vec<u8>>),
    /// Close cleanly and open again.
    Reopen,
    /// Checkpoint at an LSN chosen by the selector within the log's current range.
    TruncateBefore(u16),
    /// Close, damage the last record of the newest segment, open again. `cut` truncates the
    /// file at an offset inside the record; otherwise one byte of it (past the length field,
    /// whose damage `cut` already covers) is inverted.
    CorruptTail { cut: bool, at: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => vec(vec(any::<u8>(), 0..=60), 1..6).prop_map(Op::Append),
        1 => Just(Op::Reopen),
        1 => any::<u16>().prop_map(Op::TruncateBefore),
        2 => (any::<bool>(), any::<u16>()).prop_map(|(cut, at)| Op::CorruptTail { cut, at }),
    ]
}

fn options() -> WalOptions {
    // Segments of a few records each, so that rollovers, checkpoints and tails interact.
    let mut options = WalOptions::default();
    options.segment_size = 200;
    options.max_record_size = 60;
    options.max_queued_bytes = 4096;
    options
}

#[derive(Debug, Default)]
struct Model {
    records: Vec<(u64, Vec<u8>)>,
    next_lsn: u64,
    /// The highest checkpoint so far: records below it may have been deleted.
    floor: u64,
}

/// First LSNs of the segments on disk, oldest first.
fn segments(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut found: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter_map(|path| {
            let stem = path.file_name()?.to_str()?.strip_suffix(".wal")?;
            Some((stem.parse().ok()?, path))
        })
        .collect();
    found.sort();
    found
}

fn reopen(dir: &Path, model: &mut Model, expect_torn: bool) -> Result<Wal, TestCaseError> {
    let (wal, replay) = Wal::open(dir, options()).expect("open");
    prop_assert_eq!(
        replay.torn_tail().is_some(),
        expect_torn,
        "{:?}",
        replay.torn_tail()
    );
    prop_assert_eq!(replay.end_lsn(), model.next_lsn);
    let replayed: Vec<(u64, Vec<u8>)> = replay
        .map(|r| r.map(|r| (r.lsn, r.payload)))
        .collect::<Result<_, _>>()
        .expect("replay without corruption");
    // Replay is the model minus a prefix that checkpoints were allowed to remove.
    prop_assert!(replayed.len() <= model.records.len());
    let removed = model.records.len() - replayed.len();
    prop_assert_eq!(&model.records[removed..], &replayed[..]);
    prop_assert!(
        model.records[..removed]
            .iter()
            .all(|(lsn, _)| *lsn < model.floor),
        "a record at or above checkpoint {} was lost",
        model.floor
    );
    model.records.drain(..removed);
    prop_assert_eq!(wal.durable_lsn(), model.next_lsn - 1);
    Ok(wal)
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let mut model = Model {
        next_lsn: 1,
        ..Model::default()
    };
    let mut wal = Some(reopen(dir, &mut model, false)?);
    for op in ops {
        match op {
            Op::Append(payloads) => {
                let log = wal.as_ref().expect("open");
                let tickets: Vec<_> = payloads
                    .iter()
                    .map(|p| log.append(p.clone()).expect("append"))
                    .collect();
                for (ticket, payload) in tickets.into_iter().zip(payloads) {
                    prop_assert_eq!(ticket.lsn(), model.next_lsn);
                    model.records.push((model.next_lsn, payload));
                    model.next_lsn += 1;
                    ticket.wait().expect("durable");
                }
                prop_assert_eq!(log.durable_lsn(), model.next_lsn - 1);
            }
            Op::Reopen => {
                drop(wal.take());
                wal = Some(reopen(dir, &mut model, false)?);
            }
            Op::TruncateBefore(selector) => {
                let low = model.records.first().map_or(model.next_lsn, |r| r.0);
                let lsn = low + u64::from(selector) % (model.next_lsn + 2 - low);
                wal.as_ref()
                    .expect("open")
                    .truncate_before(lsn)
                    .expect("truncate");
                model.floor = model.floor.max(lsn);
                // Every segment left except the newest holds a record at or above `lsn`.
                let left = segments(dir);
                if let Some((next_first, _)) = left.get(1) {
                    prop_assert!(*next_first > lsn, "segment {:?} should be gone", left[0]);
                }
            }
            Op::CorruptTail { cut, at } => {
                drop(wal.take());
                let (first_lsn, path) = segments(dir).pop().expect("a segment");
                let len = fs::metadata(&path).expect("stat").len();
                let mut expect_torn = false;
                if len > 0 {
                    let (lsn, payload) = model.records.pop().expect("the newest record");
                    prop_assert!(
                        lsn >= first_lsn,
                        "the newest record is in the newest segment"
                    );
                    let frame = HEADER + payload.len() as u64;
                    let start = len - frame;
                    let file = OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&path)
                        .expect("open segment");
                    if cut {
                        let keep = u64::from(at) % frame;
                        file.set_len(start + keep).expect("truncate");
                        // Cutting exactly at the record's start leaves a clean end.
                        expect_torn = keep != 0;
                    } else {
                        let offset = start + 4 + u64::from(at) % (frame - 4);
                        let mut byte = [0u8];
                        file.read_exact_at(&mut byte, offset).expect("read");
                        file.write_all_at(&[!byte[0]], offset).expect("write");
                        expect_torn = true;
                    }
                    model.next_lsn = lsn;
                }
                wal = Some(reopen(dir, &mut model, expect_torn)?);
            }
        }
    }
    drop(wal.take());
    reopen(dir, &mut model, false)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_log_matches_an_in_memory_model(ops in vec(op(), 1..30)) {
        run(ops)?;
    }
}
