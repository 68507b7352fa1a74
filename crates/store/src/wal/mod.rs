//! The write-ahead log of the embedded mode: checksummed records in numbered segment files,
//! appended by many producers at once and made durable by one writer thread with group commit.
//!
//! A record is an opaque byte payload; the log gives it the next LSN (log sequence number, a
//! `u64` that starts at 1 and grows by one per record, without gaps). A record is *durable* once
//! its bytes and the file's length have been fsynced; [`Wal::durable_lsn`] is the highest LSN at
//! or below which every record is durable. Nothing may be acknowledged to a device before that.
//!
//! On disk the log is a directory of segment files, each named by the LSN of its first record
//! (`00000000000000000001.wal`), holding records framed as described in `frame.rs`. A segment is
//! closed when the next record would take it past [`WalOptions::segment_size`]; the writer only
//! ever appends to the newest one. [`Wal::truncate_before`] deletes old segments once their
//! records are safely stored elsewhere.
//!
//! Opening the log recovers it: a torn record at the end of the newest segment (what a crash in
//! the middle of a write leaves) is cut off, because it was never acknowledged; damage anywhere
//! else is reported as [`WalError::Corrupt`] with the file and offset, because it may be
//! acknowledged data. The [`Replay`] returned by [`Wal::open`] yields the records found.
//!
//! The log assumes it is the only writer of its directory; the process that opens it must hold
//! the data directory exclusively.

mod error;
mod frame;
mod segment;
mod writer;

use std::fmt;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use error::{Damage, TryAppendError, WalError};
pub use segment::{Record, Replay, TornTail};

use frame::HEADER_LEN;
use segment::SegmentFile;
use writer::{Active, Callback, Counters, Pending, Shared, State, Writer};

/// The LSN of the first record ever written to a log.
pub const FIRST_LSN: u64 = 1;

/// Limits of a log. Construct with `WalOptions::default()` and change the fields you need.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalOptions {
    /// A segment is closed when the next record would make it larger than this many bytes.
    pub segment_size: u64,
    /// Largest payload `append` accepts, in bytes. Replay does not use it: records written
    /// under a larger limit are still read back.
    pub max_record_size: usize,
    /// Bytes that records accepted but not yet durable may occupy: each counts its payload, its
    /// 16-byte header and its queue entry (40 bytes on 64-bit targets). When the bound is reached,
    /// `append` blocks and `try_append` refuses, so that a slow disk slows the producers down
    /// instead of growing memory.
    pub max_queued_bytes: usize,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: 64 << 20,
            max_record_size: 1 << 20,
            max_queued_bytes: 64 << 20,
        }
    }
}

impl WalOptions {
    fn validate(&self) -> Result<(), WalError> {
        let max_frame = HEADER_LEN as u64 + self.max_record_size as u64;
        let max_charge = writer::charge(0) as u64 + self.max_record_size as u64;
        if u32::try_from(self.max_record_size).is_err() {
            return Err(WalError::InvalidOptions(
                "max_record_size must fit the 32-bit length field",
            ));
        }
        if self.segment_size < max_frame {
            return Err(WalError::InvalidOptions(
                "segment_size must hold at least one record of max_record_size plus its 16-byte header",
            ));
        }
        if (self.max_queued_bytes as u64) < max_charge {
            return Err(WalError::InvalidOptions(
                "max_queued_bytes must hold at least one record of max_record_size with its header and queue entry",
            ));
        }
        Ok(())
    }
}

/// A snapshot of the log's counters, for `/metrics`. Counters count since the log was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalStats {
    /// Records accepted by `append` and its variants.
    pub appended: u64,
    /// Records written and fsynced.
    pub records: u64,
    /// Payload bytes of those records.
    pub payload_bytes: u64,
    /// Bytes written to segment files, headers included.
    pub bytes_written: u64,
    /// Group commits: each takes everything queued at that moment.
    pub batches: u64,
    /// fsync calls on segments (one per batch, plus one per rollover inside a batch) and on the
    /// directory (one per rollover).
    pub fsyncs: u64,
    /// Time spent in segment fsyncs (directory fsyncs are not timed).
    pub fsync_time: Duration,
    pub segments_created: u64,
    pub segments_removed: u64,
    /// Segments currently on disk.
    pub segments: u64,
    /// Bytes held by records accepted and not yet durable, as `max_queued_bytes` counts them
    /// (the backpressure gauge).
    pub queued_bytes: u64,
    /// Appenders currently blocked because `max_queued_bytes` is reached.
    pub blocked_appenders: u64,
    pub durable_lsn: u64,
}

/// A handle on an open write-ahead log. All methods take `&self`; share it with `Arc`.
///
/// Dropping it (or calling [`Wal::close`]) waits until every accepted record is durable and the
/// writer thread has stopped.
pub struct Wal {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

impl fmt::Debug for Wal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.shared.dir)
            .field("durable_lsn", &self.durable_lsn())
            .finish_non_exhaustive()
    }
}

impl Wal {
    /// Opens (creating if needed) the log in `dir`, recovers it, and starts the writer thread.
    ///
    /// The returned [`Replay`] yields the records that were on disk, oldest first; new appends
    /// continue at [`Replay::end_lsn`]. Recovery of the newest segment happens here, so errors
    /// about it are returned now; older segments are checked as the replay reads them.
    pub fn open(dir: impl AsRef<Path>, options: WalOptions) -> Result<(Wal, Replay), WalError> {
        options.validate()?;
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(|source| WalError::Io {
            op: "create directory",
            path: dir.clone(),
            source,
        })?;
        let mut segments = segment::list(&dir)?;
        let recovered = match segments.last() {
            Some(last) => segment::recover_last(last)?,
            None => {
                let path = dir.join(segment::file_name(FIRST_LSN));
                OpenOptions::new()
                    .append(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(|source| WalError::Io {
                        op: "create segment",
                        path: path.clone(),
                        source,
                    })?;
                segment::sync_dir(&dir)?;
                segments.push(SegmentFile {
                    first_lsn: FIRST_LSN,
                    path,
                });
                segment::Recovered {
                    len: 0,
                    next_lsn: FIRST_LSN,
                    torn_tail: None,
                }
            }
        };
        let last = segments.last().expect("at least one segment exists now");
        let file = OpenOptions::new()
            .append(true)
            .open(&last.path)
            .map_err(|source| WalError::Io {
                op: "open segment for appending",
                path: last.path.clone(),
                source,
            })?;
        let active = Active {
            file,
            path: last.path.clone(),
            len: recovered.len,
        };
        let shared = Arc::new(Shared {
            dir: dir.clone(),
            options,
            state: Mutex::new(State {
                queue: Vec::new(),
                next_lsn: recovered.next_lsn,
                queued_bytes: 0,
                writer_idle: false,
                closing: false,
                failed: None,
                blocked_appenders: 0,
                ticket_waiters: 0,
                appended: 0,
            }),
            work: Condvar::new(),
            space: Condvar::new(),
            durable: Condvar::new(),
            durable_lsn: AtomicU64::new(recovered.next_lsn.saturating_sub(1)),
            segments: Mutex::new(segments.iter().map(|s| s.first_lsn).collect()),
            counters: Counters::default(),
        });
        let writer = Writer {
            shared: Arc::clone(&shared),
            active,
            buf: Vec::new(),
            spare: Vec::new(),
        };
        let handle = thread::Builder::new()
            .name("haihe-wal".into())
            .spawn(move || writer.run())
            .map_err(|source| WalError::Io {
                op: "start the writer thread for",
                path: dir,
                source,
            })?;
        let replay = segment::Replay::new(
            segments,
            recovered.len,
            recovered.next_lsn,
            recovered.torn_tail,
        );
        Ok((
            Wal {
                shared,
                writer: Some(handle),
            },
            replay,
        ))
    }

    /// Accepts a record and returns at once with its ticket; waits only while the queue is
    /// full (backpressure), never for fsync.
    pub fn append(&self, payload: Vec<u8>) -> Result<Ticket, WalError> {
        let lsn = self.enqueue(payload, None, true).map_err(blocking_error)?;
        Ok(self.ticket(lsn))
    }

    /// Like [`Wal::append`] but refuses instead of waiting when the queue is full.
    pub fn try_append(&self, payload: Vec<u8>) -> Result<Ticket, TryAppendError> {
        let lsn = self.enqueue(payload, None, false)?;
        Ok(self.ticket(lsn))
    }

    /// Accepts a record and returns its LSN; `on_durable` is called once, on the writer thread,
    /// with the LSN when the record is durable or with the error that prevented it.
    ///
    /// This is the way for async code to wait without blocking a runtime thread: complete a
    /// oneshot channel in the callback. Keep the callback short: it delays the next group
    /// commit. It must not call a blocking append or `Ticket::wait`, which would wait for the
    /// writer thread it runs on. It is not called if this method returns an error.
    pub fn append_with<F>(&self, payload: Vec<u8>, on_durable: F) -> Result<u64, WalError>
    where
        F: FnOnce(Result<u64, WalError>) + Send + 'static,
    {
        self.enqueue(payload, Some(Box::new(on_durable)), true)
            .map_err(blocking_error)
    }

    /// Like [`Wal::append_with`] but refuses instead of waiting when the queue is full; the
    /// callback is then dropped without being called.
    pub fn try_append_with<F>(&self, payload: Vec<u8>, on_durable: F) -> Result<u64, TryAppendError>
    where
        F: FnOnce(Result<u64, WalError>) + Send + 'static,
    {
        self.enqueue(payload, Some(Box::new(on_durable)), false)
    }

    /// Every record with an LSN at or below this is durable (0 when there is none).
    pub fn durable_lsn(&self) -> u64 {
        self.shared.durable_lsn.load(Ordering::Acquire)
    }

    /// The directory the log lives in.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Deletes every segment whose records all have LSNs below `lsn`; returns how many.
    ///
    /// Call it once the records before `lsn` are safely stored elsewhere (in Parquet). Only whole
    /// segments go, oldest first, and never the one being written, so a replay after this still
    /// yields every record from `lsn` on, and possibly some before it.
    pub fn truncate_before(&self, lsn: u64) -> Result<usize, WalError> {
        let mut segments = self.shared.lock_segments();
        // A segment's records end just before the next segment's first LSN.
        let doomed = segments
            .windows(2)
            .take_while(|pair| pair[1] <= lsn)
            .count();
        let mut removed = 0;
        let mut result = Ok(());
        // Oldest first, so that a crash half-way leaves a log without holes.
        for &first_lsn in &segments[..doomed] {
            let path = self.shared.dir.join(segment::file_name(first_lsn));
            if let Err(source) = fs::remove_file(&path) {
                result = Err(WalError::Io {
                    op: "remove segment",
                    path,
                    source,
                });
                break;
            }
            removed += 1;
        }
        segments.drain(..removed);
        drop(segments);
        self.shared
            .counters
            .segments_removed
            .fetch_add(removed as u64, Ordering::Relaxed);
        result?;
        if removed > 0 {
            // Not needed for safety (a segment that comes back is replayed again), but it keeps
            // the disk usage we report true after a crash.
            segment::sync_dir(&self.shared.dir)?;
        }
        Ok(removed)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> WalStats {
        let c = &self.shared.counters;
        let (appended, queued_bytes, blocked_appenders) = {
            let state = self.shared.lock();
            (
                state.appended,
                state.queued_bytes as u64,
                state.blocked_appenders as u64,
            )
        };
        WalStats {
            appended,
            records: c.records.load(Ordering::Relaxed),
            payload_bytes: c.payload_bytes.load(Ordering::Relaxed),
            bytes_written: c.bytes_written.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            fsyncs: c.fsyncs.load(Ordering::Relaxed),
            fsync_time: Duration::from_nanos(c.fsync_nanos.load(Ordering::Relaxed)),
            segments_created: c.segments_created.load(Ordering::Relaxed),
            segments_removed: c.segments_removed.load(Ordering::Relaxed),
            segments: self.shared.lock_segments().len() as u64,
            queued_bytes,
            blocked_appenders,
            durable_lsn: self.durable_lsn(),
        }
    }

    /// Makes every accepted record durable, stops the writer thread and reports whether the log
    /// failed at any point. Dropping the log does the same but cannot report the error.
    pub fn close(mut self) -> Result<(), WalError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), WalError> {
        if let Some(handle) = self.writer.take() {
            {
                let mut state = self.shared.lock();
                state.closing = true;
            }
            self.shared.work.notify_one();
            if handle.join().is_err() {
                return Err(WalError::WriterPanicked);
            }
        }
        match &self.shared.lock().failed {
            Some(error) => Err(WalError::Failed(Arc::clone(error))),
            None => Ok(()),
        }
    }

    fn ticket(&self, lsn: u64) -> Ticket {
        Ticket {
            lsn,
            shared: Arc::clone(&self.shared),
        }
    }

    fn enqueue(
        &self,
        payload: Vec<u8>,
        notify: Option<Callback>,
        block: bool,
    ) -> Result<u64, TryAppendError> {
        let max = self.shared.options.max_record_size;
        if payload.len() > max {
            return Err(WalError::RecordTooLarge {
                len: payload.len(),
                max,
            }
            .into());
        }
        let charge = writer::charge(payload.len());
        let limit = self.shared.options.max_queued_bytes;
        let mut state = self.shared.lock();
        loop {
            if let Some(error) = &state.failed {
                return Err(WalError::Failed(Arc::clone(error)).into());
            }
            if state.queued_bytes + charge <= limit {
                break;
            }
            if !block {
                return Err(TryAppendError::Full { payload, limit });
            }
            state.blocked_appenders += 1;
            state = self
                .shared
                .space
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.blocked_appenders -= 1;
        }
        let lsn = state.next_lsn;
        state.next_lsn += 1;
        state.queue.push(Pending { payload, notify });
        state.queued_bytes += charge;
        state.appended += 1;
        // Only the appender that finds the writer asleep pays for the wake-up system call.
        let wake = std::mem::replace(&mut state.writer_idle, false);
        drop(state);
        if wake {
            self.shared.work.notify_one();
        }
        Ok(lsn)
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// A blocking append waits for space, so the only way it can fail is the log's own error.
fn blocking_error(error: TryAppendError) -> WalError {
    match error {
        TryAppendError::Wal(error) => error,
        TryAppendError::Full { .. } => unreachable!("blocking appends wait for queue space"),
    }
}

/// The receipt for an appended record: its LSN, and a way to wait until it is durable.
pub struct Ticket {
    lsn: u64,
    shared: Arc<Shared>,
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket").field("lsn", &self.lsn).finish()
    }
}

impl Ticket {
    /// The record's LSN.
    pub fn lsn(&self) -> u64 {
        self.lsn
    }

    /// Whether the record is durable now; never blocks.
    pub fn is_durable(&self) -> bool {
        self.shared.durable_lsn.load(Ordering::Acquire) >= self.lsn
    }

    /// Blocks until the record is durable and returns its LSN, or the error that prevented it.
    pub fn wait(self) -> Result<u64, WalError> {
        self.wait_until(None)
            .map(|durable| durable.expect("no deadline"))
    }

    /// Like [`Ticket::wait`] but gives up after `timeout`, returning `Ok(None)`.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<Option<u64>, WalError> {
        self.wait_until(Some(Instant::now() + timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<Option<u64>, WalError> {
        if self.is_durable() {
            return Ok(Some(self.lsn));
        }
        let mut state = self.shared.lock();
        state.ticket_waiters += 1;
        let outcome = loop {
            // The writer publishes the durable LSN before it takes this lock to notify, so
            // checking it under the lock cannot miss a wake-up.
            if self.is_durable() {
                break Ok(Some(self.lsn));
            }
            if let Some(error) = &state.failed {
                break Err(WalError::Failed(Arc::clone(error)));
            }
            match deadline {
                None => {
                    state = self
                        .shared
                        .durable
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break Ok(None);
                    }
                    state = self
                        .shared
                        .durable
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        };
        state.ticket_waiters -= 1;
        outcome
    }
}

/// Where a segment that starts at `first_lsn` lives; for tests and tools that inspect the files.
pub fn segment_path(dir: &Path, first_lsn: u64) -> PathBuf {
    dir.join(segment::file_name(first_lsn))
}

/// Reads every record of the log in `dir`, oldest first, without writing anything: for tools
/// (`haihe sql --data-dir`) that look at a data directory while a server may be appending to it.
///
/// Unlike [`Wal::open`] this never truncates or creates files. Reading stops quietly at the
/// first invalid record of the newest segment (a torn tail, or a record the server is writing
/// right now) and at the length each segment had when it was opened. A segment that disappears
/// before it is opened was truncated by the server after its records reached Parquet, and is
/// skipped. Damage in any older segment, or records missing between two segments, is
/// [`WalError::Corrupt`], as in a replay. A missing directory is an empty log.
pub fn read_records(dir: &Path) -> Result<Vec<Record>, WalError> {
    let segments = match segment::list(dir) {
        Ok(segments) => segments,
        Err(WalError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    let mut records: Vec<Record> = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let newest = i + 1 == segments.len();
        let mut reader = match segment::SegmentReader::open(seg, None) {
            Ok(reader) => reader,
            Err(WalError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && records.is_empty() =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        // Segments are deleted only from the front, so once reading has started a segment must
        // begin exactly where the previous one ended.
        if let Some(last) = records.last()
            && seg.first_lsn != last.lsn + 1
        {
            return Err(WalError::Corrupt {
                path: seg.path.clone(),
                offset: 0,
                damage: Damage::MissingRecords {
                    next_lsn: last.lsn + 1,
                    next_segment_starts_at: seg.first_lsn,
                },
            });
        }
        loop {
            let mut payload = Vec::new();
            match reader.read_into(&mut payload) {
                Ok(Some(lsn)) => records.push(Record { lsn, payload }),
                Ok(None) => break,
                Err(segment::ReadError::Io(e)) => return Err(e),
                Err(segment::ReadError::Damaged { .. }) if newest => break,
                Err(segment::ReadError::Damaged { offset, damage }) => {
                    return Err(WalError::Corrupt {
                        path: seg.path.clone(),
                        offset,
                        damage,
                    });
                }
            }
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_segments(segment_size: u64) -> WalOptions {
        WalOptions {
            segment_size,
            max_record_size: 100,
            max_queued_bytes: 4096,
        }
    }

    fn segment_names(dir: &Path) -> Vec<u64> {
        segment::list(dir)
            .expect("list")
            .iter()
            .map(|s| s.first_lsn)
            .collect()
    }

    fn append_all(wal: &Wal, payloads: impl IntoIterator<Item = Vec<u8>>) -> Vec<u64> {
        let tickets: Vec<Ticket> = payloads
            .into_iter()
            .map(|p| wal.append(p).expect("append"))
            .collect();
        tickets
            .into_iter()
            .map(|t| t.wait().expect("durable"))
            .collect()
    }

    #[test]
    fn a_new_log_starts_at_lsn_1_with_one_empty_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, replay) = Wal::open(dir.path(), WalOptions::default()).expect("open");
        assert_eq!(replay.end_lsn(), FIRST_LSN);
        assert_eq!(replay.count(), 0);
        assert_eq!(wal.durable_lsn(), 0);
        assert_eq!(segment_names(dir.path()), vec![1]);
        let ticket = wal.append(b"first".to_vec()).expect("append");
        assert_eq!(ticket.lsn(), 1);
        assert_eq!(ticket.wait().expect("durable"), 1);
        assert_eq!(wal.durable_lsn(), 1);
    }

    #[test]
    fn segments_roll_over_between_records_and_are_named_by_their_first_lsn() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Each record is 16 + 34 = 50 bytes, so a 120-byte segment holds exactly two.
        let (wal, _) = Wal::open(dir.path(), small_segments(120)).expect("open");
        let lsns = append_all(&wal, (0..7u8).map(|i| vec![i; 34]));
        assert_eq!(lsns, (1..=7).collect::<Vec<_>>());
        assert_eq!(segment_names(dir.path()), vec![1, 3, 5, 7]);
        for first in [1, 3, 5] {
            let len = fs::metadata(segment_path(dir.path(), first))
                .expect("stat")
                .len();
            assert_eq!(len, 100, "segment {first} holds two records");
        }
        let stats = wal.stats();
        assert_eq!(stats.segments_created, 3);
        assert_eq!(stats.segments, 4);
        assert_eq!(stats.records, 7);
        assert_eq!(stats.bytes_written, 350);
    }

    #[test]
    fn a_record_larger_than_a_segments_free_space_starts_a_new_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = Wal::open(dir.path(), small_segments(120)).expect("open");
        append_all(&wal, [vec![1; 10], vec![2; 100], vec![3; 10]]);
        // 26 bytes used; the 116-byte record does not fit beside them but fits alone.
        assert_eq!(segment_names(dir.path()), vec![1, 2, 3]);
    }

    #[test]
    fn records_above_the_maximum_size_are_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = Wal::open(dir.path(), small_segments(4096)).expect("open");
        let error = wal.append(vec![0; 101]).expect_err("too large");
        assert!(
            matches!(error, WalError::RecordTooLarge { len: 101, max: 100 }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "WAL record of 101 bytes exceeds the maximum record size of 100 bytes"
        );
        let try_error = wal.try_append(vec![0; 101]).expect_err("too large");
        assert!(matches!(
            try_error,
            TryAppendError::Wal(WalError::RecordTooLarge { .. })
        ));
        // The refusal consumed no LSN, and a record of exactly the maximum is fine.
        assert_eq!(append_all(&wal, [vec![0; 100]]), vec![1]);
    }

    #[test]
    fn inconsistent_options_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = WalOptions {
            segment_size: 1 << 20,
            ..WalOptions::default()
        };
        assert!(matches!(
            Wal::open(dir.path(), options),
            Err(WalError::InvalidOptions(_))
        ));
        let options = WalOptions {
            max_queued_bytes: 1000,
            ..WalOptions::default()
        };
        assert!(matches!(
            Wal::open(dir.path(), options),
            Err(WalError::InvalidOptions(_))
        ));
    }

    #[test]
    fn truncate_before_removes_only_whole_segments_below_the_lsn() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = Wal::open(dir.path(), small_segments(120)).expect("open");
        append_all(&wal, (0..7u8).map(|i| vec![i; 34]));
        assert_eq!(segment_names(dir.path()), vec![1, 3, 5, 7]);

        // LSN 4 lives in segment 3, so only segment 1 (LSNs 1 and 2) can go.
        assert_eq!(wal.truncate_before(4).expect("truncate"), 1);
        assert_eq!(segment_names(dir.path()), vec![3, 5, 7]);
        // Nothing more below 4; asking again is harmless.
        assert_eq!(wal.truncate_before(4).expect("truncate"), 0);
        assert_eq!(wal.truncate_before(5).expect("truncate"), 1);
        assert_eq!(segment_names(dir.path()), vec![5, 7]);
        // The segment being written is never removed, even when all its records are below.
        assert_eq!(wal.truncate_before(100).expect("truncate"), 1);
        assert_eq!(segment_names(dir.path()), vec![7]);
        assert_eq!(wal.stats().segments_removed, 3);

        // Appends continue in the surviving segment and the LSNs keep counting.
        assert_eq!(append_all(&wal, [vec![9; 34]]), vec![8]);
        drop(wal);
        let (_, replay) = Wal::open(dir.path(), small_segments(120)).expect("reopen");
        let lsns: Vec<u64> = replay.map(|r| r.expect("record").lsn).collect();
        assert_eq!(lsns, vec![7, 8]);
    }

    #[test]
    fn an_emptied_log_keeps_counting_from_its_segment_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = Wal::open(dir.path(), small_segments(120)).expect("open");
        append_all(&wal, (0..4u8).map(|i| vec![i; 34]));
        // Segment 3 is full; the next record would start segment 5, but has not been written.
        assert_eq!(wal.truncate_before(5).expect("truncate"), 1);
        drop(wal);
        let path = segment_path(dir.path(), 3);
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(0))
            .expect("empty the last segment");
        let (wal, replay) = Wal::open(dir.path(), small_segments(120)).expect("reopen");
        assert_eq!(replay.end_lsn(), 3);
        assert_eq!(wal.durable_lsn(), 2);
        assert_eq!(append_all(&wal, [vec![1]]), vec![3]);
    }
}
