//! Behaviour of the WAL on real files: replay, recovery from torn tails, detection of corruption,
//! concurrent producers, group commit and backpressure.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use store::wal::{Damage, Record, TryAppendError, Wal, WalError, WalOptions, segment_path};

const HEADER: u64 = 16;

/// Two 34-byte records (50 bytes framed) fit in a 120-byte segment.
fn small_segments() -> WalOptions {
    let mut options = WalOptions::default();
    options.segment_size = 120;
    options.max_record_size = 100;
    options.max_queued_bytes = 4096;
    options
}

fn payload(i: u64, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i as usize * 31 + j * 7) as u8).collect()
}

fn append_all(wal: &Wal, payloads: &[Vec<u8>]) -> Vec<u64> {
    let tickets: Vec<_> = payloads
        .iter()
        .map(|p| wal.append(p.clone()).expect("append"))
        .collect();
    tickets
        .into_iter()
        .map(|t| t.wait().expect("durable"))
        .collect()
}

fn reopen(dir: &Path, options: &WalOptions) -> (Wal, Vec<Record>, Option<store::wal::TornTail>) {
    let (wal, replay) = Wal::open(dir, options.clone()).expect("open");
    let torn = replay.torn_tail().cloned();
    let records = replay.collect::<Result<Vec<_>, _>>().expect("replay");
    (wal, records, torn)
}

fn records(first_lsn: u64, payloads: &[Vec<u8>]) -> Vec<Record> {
    (first_lsn..)
        .zip(payloads)
        .map(|(lsn, p)| Record {
            lsn,
            payload: p.clone(),
        })
        .collect()
}

fn segment_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    names
}

fn flip_byte(path: &Path, offset: u64) {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open segment");
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, offset).expect("read byte");
    byte[0] ^= 0xFF;
    file.write_all_at(&byte, offset).expect("write byte");
}

fn set_len(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(len))
        .expect("truncate segment");
}

/// Holds the writer thread inside a completion callback until the returned sender is dropped,
/// so that a test can make records pile up in the queue deterministically, without sleeping.
///
/// Returns once the writer is inside the callback: the gate record is durable, its bytes are
/// released from the queue, and nothing appended from now on is taken before the release.
fn stall_writer(wal: &Wal) -> mpsc::Sender<()> {
    let (release, released) = mpsc::channel::<()>();
    let (entered_tx, entered) = mpsc::channel::<()>();
    wal.append_with(b"gate".to_vec(), move |result| {
        result.expect("gate record durable");
        let _ = entered_tx.send(());
        let _ = released.recv();
    })
    .expect("append gate");
    entered
        .recv_timeout(Duration::from_secs(30))
        .expect("the writer reaches the gate");
    release
}

fn poll_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::yield_now();
    }
}

#[test]
fn replay_after_reopen_returns_exactly_what_was_appended_across_rollovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = small_segments();
    let first: Vec<Vec<u8>> = (0..9).map(|i| payload(i, (i as usize * 13) % 60)).collect();
    let (wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    assert_eq!(append_all(&wal, &first), (1..=9).collect::<Vec<_>>());
    wal.close().expect("close");
    assert!(
        segment_names(dir.path()).len() > 3,
        "the test must cross rollovers"
    );

    let (wal, replayed, torn) = reopen(dir.path(), &options);
    assert_eq!(torn, None);
    assert_eq!(replayed, records(1, &first));

    // A second session continues the sequence, and a third sees both.
    let second: Vec<Vec<u8>> = (9..20).map(|i| payload(i, 34)).collect();
    assert_eq!(append_all(&wal, &second), (10..=20).collect::<Vec<_>>());
    drop(wal);
    let (_, replayed, _) = reopen(dir.path(), &options);
    let all: Vec<Vec<u8>> = first.into_iter().chain(second).collect();
    assert_eq!(replayed, records(1, &all));
}

#[test]
fn dropping_the_log_makes_every_accepted_record_durable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = small_segments();
    let payloads: Vec<Vec<u8>> = (0..200).map(|i| payload(i, 20)).collect();
    let (wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    // Tickets are dropped unread: durability must not depend on anybody waiting.
    for p in &payloads {
        wal.append(p.clone()).expect("append");
    }
    drop(wal);
    let (_, replayed, _) = reopen(dir.path(), &options);
    assert_eq!(replayed, records(1, &payloads));
}

#[test]
fn a_record_cut_short_at_the_tail_is_dropped_and_appends_continue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = WalOptions::default();
    let payloads: Vec<Vec<u8>> = (0..5).map(|i| payload(i, 40)).collect();
    let (wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    append_all(&wal, &payloads);
    drop(wal);

    // Cut the fifth record in the middle of its payload, as a crash during the write would.
    let path = segment_path(dir.path(), 1);
    let good = 4 * (HEADER + 40);
    set_len(&path, good + HEADER + 10);

    let (wal, replayed, torn) = reopen(dir.path(), &options);
    assert_eq!(replayed, records(1, &payloads[..4]));
    let torn = torn.expect("torn tail reported");
    assert_eq!(torn.path, path);
    assert_eq!(torn.offset, good);
    assert_eq!(torn.dropped_bytes, HEADER + 10);
    assert_eq!(
        torn.damage,
        Damage::LengthBeyondEnd {
            len: 40,
            available: 10
        }
    );
    assert_eq!(fs::metadata(&path).expect("stat").len(), good);

    // The lost record's LSN is given to the next append, and the log is whole again.
    assert_eq!(wal.durable_lsn(), 4);
    let replacement = b"written after recovery".to_vec();
    assert_eq!(
        append_all(&wal, std::slice::from_ref(&replacement)),
        vec![5]
    );
    drop(wal);
    let (_, replayed, torn) = reopen(dir.path(), &options);
    assert_eq!(torn, None);
    let mut expected = payloads[..4].to_vec();
    expected.push(replacement);
    assert_eq!(replayed, records(1, &expected));
}

#[test]
fn a_half_written_header_at_the_tail_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = WalOptions::default();
    let (wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    append_all(&wal, &[payload(0, 8), payload(1, 8)]);
    drop(wal);
    let path = segment_path(dir.path(), 1);
    set_len(&path, HEADER + 8 + 5);
    let (_, replayed, torn) = reopen(dir.path(), &options);
    assert_eq!(replayed, records(1, &[payload(0, 8)]));
    assert_eq!(
        torn.expect("torn").damage,
        Damage::ShortHeader { available: 5 }
    );
}

#[test]
fn a_flipped_byte_in_the_last_record_is_dropped_and_appends_continue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = WalOptions::default();
    let payloads: Vec<Vec<u8>> = (0..3).map(|i| payload(i, 40)).collect();
    let (wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    append_all(&wal, &payloads);
    drop(wal);
    let path = segment_path(dir.path(), 1);
    let good = 2 * (HEADER + 40);
    flip_byte(&path, good + HEADER + 39);

    let (wal, replayed, torn) = reopen(dir.path(), &options);
    assert_eq!(replayed, records(1, &payloads[..2]));
    let torn = torn.expect("torn");
    assert_eq!(torn.damage, Damage::ChecksumMismatch);
    assert_eq!(torn.offset, good);
    assert_eq!(append_all(&wal, &[b"again".to_vec()]), vec![3]);
}

#[test]
fn a_torn_first_record_of_the_newest_segment_keeps_the_lsn_sequence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = small_segments();
    let payloads: Vec<Vec<u8>> = (0..5).map(|i| payload(i, 34)).collect();
    let (wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    append_all(&wal, &payloads);
    drop(wal);
    // Segment 5 holds only record 5; tear it down to its first byte.
    set_len(&segment_path(dir.path(), 5), 1);
    let (wal, replayed, torn) = reopen(dir.path(), &options);
    assert_eq!(replayed, records(1, &payloads[..4]));
    assert!(torn.is_some());
    assert_eq!(append_all(&wal, &[b"five".to_vec()]), vec![5]);
}

#[test]
fn damage_in_an_older_segment_is_an_error_naming_the_file_and_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = small_segments();
    let payloads: Vec<Vec<u8>> = (0..7).map(|i| payload(i, 34)).collect();
    let (wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    append_all(&wal, &payloads);
    drop(wal);
    // Segments 1, 3, 5, 7; damage the second record of segment 3 (LSN 4), which was fsynced
    // long before the crash could have torn anything.
    let path = segment_path(dir.path(), 3);
    flip_byte(&path, 50 + HEADER + 5);

    let (wal, mut replay) = Wal::open(dir.path(), options.clone()).expect("open");
    let good: Vec<Record> = replay.by_ref().take(3).map(|r| r.expect("ok")).collect();
    assert_eq!(good, records(1, &payloads[..3]));
    let error = replay.next().expect("an item").expect_err("corruption");
    match &error {
        WalError::Corrupt {
            path: p,
            offset,
            damage,
        } => {
            assert_eq!(p, &path);
            assert_eq!(*offset, 50);
            assert_eq!(*damage, Damage::ChecksumMismatch);
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("00000000000000000003.wal"), "{message}");
    assert!(message.contains("offset 50"), "{message}");
    assert!(replay.next().is_none(), "replay ends at the error");
    // Recovery never shortens an older segment: the damaged record is evidence, not a tail.
    assert_eq!(fs::metadata(&path).expect("stat").len(), 100);
    drop(wal);

    // An older segment cut short is reported the same way.
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    append_all(&wal, &payloads);
    drop(wal);
    set_len(&segment_path(dir.path(), 3), 70);
    let (_, replay) = Wal::open(dir.path(), options).expect("open");
    let error = replay
        .collect::<Result<Vec<_>, _>>()
        .expect_err("corruption");
    assert!(
        matches!(
            error,
            WalError::Corrupt {
                offset: 50,
                damage: Damage::LengthBeyondEnd { .. },
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_missing_segment_in_the_middle_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = small_segments();
    let payloads: Vec<Vec<u8>> = (0..7).map(|i| payload(i, 34)).collect();
    let (wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    append_all(&wal, &payloads);
    drop(wal);
    fs::remove_file(segment_path(dir.path(), 3)).expect("remove");
    let (_, replay) = Wal::open(dir.path(), options).expect("open");
    let error = replay.collect::<Result<Vec<_>, _>>().expect_err("gap");
    assert!(
        matches!(
            error,
            WalError::Corrupt {
                damage: Damage::MissingRecords {
                    next_lsn: 3,
                    next_segment_starts_at: 5
                },
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_complete_record_with_the_wrong_lsn_in_the_newest_segment_is_not_cut_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = WalOptions::default();
    let (wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    append_all(&wal, &[payload(0, 10), payload(1, 10)]);
    drop(wal);
    // Append a byte-exact copy of record 1: its checksum is valid, so it is no torn write, and
    // recovery must not silently delete it.
    let path = segment_path(dir.path(), 1);
    let bytes = fs::read(&path).expect("read");
    let first = bytes[..(HEADER + 10) as usize].to_vec();
    let mut file = OpenOptions::new().append(true).open(&path).expect("open");
    std::io::Write::write_all(&mut file, &first).expect("append copy");
    drop(file);
    let error = Wal::open(dir.path(), options).expect_err("corrupt");
    assert!(
        matches!(
            error,
            WalError::Corrupt {
                offset: 52,
                damage: Damage::UnexpectedLsn {
                    found: 1,
                    expected: 3
                },
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(fs::metadata(&path).expect("stat").len(), 78);
}

#[test]
fn concurrent_producers_get_unique_dense_durable_lsns() {
    const PRODUCERS: u64 = 8;
    const PER_PRODUCER: u64 = 1000;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = WalOptions::default();
    // Small segments so that rollovers happen under contention too.
    options.segment_size = 64 * 1024;
    options.max_record_size = 1024;
    let (wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    let wal = Arc::new(wal);
    let start = Arc::new(Barrier::new(PRODUCERS as usize));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let wal = Arc::clone(&wal);
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                let mut acked = Vec::new();
                if p % 2 == 0 {
                    // Blocking style: wait for each record before sending the next.
                    for i in 0..PER_PRODUCER {
                        let body = format!("producer {p} record {i}").into_bytes();
                        let ticket = wal.append(body.clone()).expect("append");
                        let lsn = ticket.lsn();
                        assert_eq!(ticket.wait().expect("durable"), lsn);
                        assert!(wal.durable_lsn() >= lsn);
                        acked.push((lsn, body));
                    }
                } else {
                    // Callback style, as async code would use it.
                    let (tx, rx) = mpsc::channel();
                    let mut sent = BTreeMap::new();
                    for i in 0..PER_PRODUCER {
                        let body = format!("producer {p} record {i}").into_bytes();
                        let tx = tx.clone();
                        let lsn = wal
                            .append_with(body.clone(), move |r| {
                                let _ = tx.send(r);
                            })
                            .expect("append");
                        sent.insert(lsn, body);
                    }
                    drop(tx);
                    for result in rx {
                        let lsn = result.expect("durable");
                        acked.push((lsn, sent.remove(&lsn).expect("callback for own record")));
                    }
                    assert!(sent.is_empty(), "every callback was called");
                }
                acked
            })
        })
        .collect();
    let mut acked: Vec<(u64, Vec<u8>)> = producers
        .into_iter()
        .flat_map(|h| h.join().expect("producer"))
        .collect();
    acked.sort();
    let total = PRODUCERS * PER_PRODUCER;
    let lsns: Vec<u64> = acked.iter().map(|(lsn, _)| *lsn).collect();
    assert_eq!(lsns, (1..=total).collect::<Vec<_>>(), "unique and dense");
    assert_eq!(wal.durable_lsn(), total);
    let stats = wal.stats();
    assert_eq!(stats.appended, total);
    assert_eq!(stats.records, total);
    assert!(stats.segments_created > 0);
    assert!(stats.batches <= total);

    Arc::into_inner(wal)
        .expect("last handle")
        .close()
        .expect("close");
    let (_, replayed, _) = reopen(dir.path(), &options);
    let expected: Vec<Record> = acked
        .into_iter()
        .map(|(lsn, payload)| Record { lsn, payload })
        .collect();
    assert_eq!(replayed, expected);
}

#[test]
fn group_commit_shares_one_fsync_among_many_records() {
    const PRODUCERS: usize = 8;
    const PER_PRODUCER: usize = 1000;
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    let wal = Arc::new(wal);
    // While the writer is held, the producers' records can only pile up; releasing it must then
    // commit all of them with one write and one fsync.
    let release = stall_writer(&wal);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let wal = Arc::clone(&wal);
            thread::spawn(move || {
                (0..PER_PRODUCER)
                    .map(|i| wal.append(vec![p as u8; 500 + i % 7]).expect("append"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let tickets: Vec<_> = producers
        .into_iter()
        .flat_map(|h| h.join().expect("producer"))
        .collect();
    drop(release);
    for ticket in tickets {
        ticket.wait().expect("durable");
    }
    let stats = wal.stats();
    let records = (PRODUCERS * PER_PRODUCER + 1) as u64;
    assert_eq!(stats.records, records);
    // The gate's own batch, then one batch (one write, one fsync) for all 8000 others.
    assert_eq!(stats.batches, 2, "{stats:?}");
    assert_eq!(stats.fsyncs, 2, "{stats:?}");
}

#[test]
fn a_full_queue_refuses_try_append_and_blocks_append_until_there_is_room() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = WalOptions::default();
    options.max_record_size = 100;
    options.max_queued_bytes = 1000;
    let (wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    let wal = Arc::new(wal);
    let release = stall_writer(&wal);

    // Each record uses 84 + 16 + 40 = 140 bytes of the bound, so exactly 7 fit.
    let mut tickets = Vec::new();
    let rejected = loop {
        match wal.try_append(vec![7; 84]) {
            Ok(ticket) => tickets.push(ticket),
            Err(TryAppendError::Full { payload, limit }) => {
                assert_eq!(limit, 1000);
                break payload;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
        assert!(tickets.len() <= 7, "the queue bound is not enforced");
    };
    assert_eq!(tickets.len(), 7);
    // The refused payload comes back whole, so the caller can retry it later.
    assert_eq!(rejected, vec![7; 84]);
    assert!(wal.stats().queued_bytes <= 1000);
    let err = wal
        .try_append_with(vec![1; 84], |_| panic!("not called for a refused record"))
        .expect_err("full");
    assert!(matches!(err, TryAppendError::Full { .. }));

    // A blocking append waits, visibly, until the writer makes room.
    let blocked = {
        let wal = Arc::clone(&wal);
        thread::spawn(move || wal.append(rejected).expect("append").wait())
    };
    poll_until("the appender to block", || {
        wal.stats().blocked_appenders == 1
    });
    assert!(!blocked.is_finished());
    drop(release);
    let lsn = blocked.join().expect("join").expect("durable");
    for ticket in tickets {
        assert!(ticket.wait().expect("durable") < lsn);
    }
    assert_eq!(wal.stats().queued_bytes, 0);
}

#[test]
fn tickets_can_be_polled_and_waited_with_a_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    let release = stall_writer(&wal);
    let ticket = wal.append(b"behind the gate".to_vec()).expect("append");
    assert_eq!(ticket.lsn(), 2);
    assert!(!ticket.is_durable());
    assert_eq!(
        ticket
            .wait_timeout(Duration::from_millis(1))
            .expect("no error"),
        None
    );
    drop(release);
    assert_eq!(
        ticket
            .wait_timeout(Duration::from_secs(30))
            .expect("no error"),
        Some(2)
    );
    assert!(ticket.is_durable());
}
