//! The state shared between appenders and the single writer thread, and the thread's group
//! commit loop.
//!
//! Appenders only push onto a queue under a mutex; the writer takes everything queued at once,
//! frames it into one buffer, writes it with one `write` and makes it durable with one
//! `sync_data` (one per segment when a batch crosses a rollover), then publishes the new durable
//! LSN and runs the completion callbacks. The cost of an fsync is therefore shared by every
//! record that arrived while the previous one was in progress.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::WalOptions;
use super::error::WalError;
use super::frame::{self, HEADER_LEN};
use super::segment;

/// Called once with the record's LSN when it is durable, or with the error that prevented it.
pub(crate) type Callback = Box<dyn FnOnce(Result<u64, WalError>) + Send + 'static>;

/// How many bytes of `max_queued_bytes` a record of `payload_len` bytes uses: its frame on disk
/// plus its entry in the queue, so that a flood of tiny records is bounded too.
pub(crate) fn charge(payload_len: usize) -> usize {
    HEADER_LEN + payload_len + std::mem::size_of::<Pending>()
}

/// Framing buffer capacity kept between batches; a burst may grow it, idle time gives it back.
const KEEP_BUF: usize = 4 << 20;

/// A record waiting for the writer. Its LSN is implied by its position in the queue.
pub(crate) struct Pending {
    pub(crate) payload: Vec<u8>,
    pub(crate) notify: Option<Callback>,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("payload_len", &self.payload.len())
            .field("has_callback", &self.notify.is_some())
            .finish()
    }
}

/// Everything appenders, tickets and the writer coordinate on; guarded by `Shared::state`.
#[derive(Debug)]
pub(crate) struct State {
    /// Records accepted but not yet taken by the writer; the first has LSN
    /// `next_lsn - queue.len()`. Assigning LSNs under the same lock as the push is what keeps
    /// the queue in LSN order.
    pub(crate) queue: Vec<Pending>,
    pub(crate) next_lsn: u64,
    /// Sum of `charge` over records accepted and not yet durable, including the batch being
    /// written. Counting the batch in flight makes `max_queued_bytes` a bound on the memory the
    /// records hold (plus one framing copy of the batch in flight).
    pub(crate) queued_bytes: usize,
    pub(crate) writer_idle: bool,
    pub(crate) closing: bool,
    pub(crate) failed: Option<Arc<WalError>>,
    pub(crate) blocked_appenders: usize,
    pub(crate) ticket_waiters: usize,
    pub(crate) appended: u64,
}

/// Counters for `Wal::stats`, updated by the writer without taking the state lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) records: AtomicU64,
    pub(crate) payload_bytes: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) fsyncs: AtomicU64,
    pub(crate) fsync_nanos: AtomicU64,
    pub(crate) segments_created: AtomicU64,
    pub(crate) segments_removed: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) options: WalOptions,
    pub(crate) state: Mutex<State>,
    /// The writer waits here for records or for shutdown.
    pub(crate) work: Condvar,
    /// Appenders blocked by backpressure wait here for queue space.
    pub(crate) space: Condvar,
    /// `Ticket::wait` waits here for the durable LSN to advance.
    pub(crate) durable: Condvar,
    /// Highest LSN known to be on stable storage; everything at or below it is durable.
    pub(crate) durable_lsn: AtomicU64,
    /// First LSNs of the segments on disk, oldest first; the last one is being written.
    pub(crate) segments: Mutex<Vec<u64>>,
    pub(crate) counters: Counters,
}

impl Shared {
    /// Locks the state, ignoring poisoning: no code panics while holding this lock (callbacks
    /// run outside it), so the state is consistent even if some thread died elsewhere.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn lock_segments(&self) -> MutexGuard<'_, Vec<u64>> {
        self.segments.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts the log into the failed state, fails every queued record and wakes every waiter.
    fn fail(&self, error: Arc<WalError>) {
        let queued = {
            let mut state = self.lock();
            state.failed.get_or_insert_with(|| Arc::clone(&error));
            self.space.notify_all();
            self.durable.notify_all();
            std::mem::take(&mut state.queue)
        };
        for pending in queued {
            if let Some(notify) = pending.notify {
                call(notify, Err(WalError::Failed(Arc::clone(&error))));
            }
        }
    }
}

/// Runs a completion callback, containing a panic in it: one caller's bug must not stop the
/// log from committing for everybody else.
fn call(notify: Callback, result: Result<u64, WalError>) {
    let _ = panic::catch_unwind(AssertUnwindSafe(move || notify(result)));
}

/// The segment being appended to.
#[derive(Debug)]
pub(crate) struct Active {
    pub(crate) file: File,
    pub(crate) path: PathBuf,
    pub(crate) len: u64,
}

/// The writer thread's own state.
#[derive(Debug)]
pub(crate) struct Writer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) active: Active,
    /// Framing buffer, reused across batches so a steady load allocates nothing per batch.
    pub(crate) buf: Vec<u8>,
    /// An empty queue with capacity, swapped with the shared one to take a batch in O(1).
    pub(crate) spare: Vec<Pending>,
}

/// Marks the log failed if the writer thread unwinds, so that no appender or ticket waits
/// forever for a thread that is gone.
struct PanicGuard(Arc<Shared>);

impl Drop for PanicGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail(Arc::new(WalError::WriterPanicked));
        }
    }
}

impl Writer {
    pub(crate) fn run(mut self) {
        let _guard = PanicGuard(Arc::clone(&self.shared));
        loop {
            let Some((first_lsn, mut batch, bytes)) = self.take_batch() else {
                return;
            };
            let result = self.write_batch(first_lsn, &batch);
            // Records in chunks synced before a failure are durable and are reported so.
            let durable = self.shared.durable_lsn.load(Ordering::Acquire);
            let failure = result.err().map(Arc::new);
            if failure.is_none() {
                let counters = &self.shared.counters;
                counters.batches.fetch_add(1, Ordering::Relaxed);
                counters
                    .records
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                let payload: usize = batch.iter().map(|p| p.payload.len()).sum();
                counters
                    .payload_bytes
                    .fetch_add(payload as u64, Ordering::Relaxed);
                let mut state = self.shared.lock();
                state.queued_bytes -= bytes;
                if state.blocked_appenders > 0 {
                    self.shared.space.notify_all();
                }
                if state.ticket_waiters > 0 {
                    self.shared.durable.notify_all();
                }
            } else if let Some(error) = &failure {
                self.shared.fail(Arc::clone(error));
            }
            for (lsn, pending) in (first_lsn..).zip(batch.drain(..)) {
                if let Some(notify) = pending.notify {
                    let result = match &failure {
                        Some(error) if lsn > durable => Err(WalError::Failed(Arc::clone(error))),
                        _ => Ok(lsn),
                    };
                    call(notify, result);
                }
            }
            if failure.is_some() {
                return;
            }
            self.spare = batch;
        }
    }

    /// Waits for records and takes all of them, or returns `None` once closing and drained.
    fn take_batch(&mut self) -> Option<(u64, Vec<Pending>, usize)> {
        let shared = Arc::clone(&self.shared);
        let mut state = shared.lock();
        while state.queue.is_empty() {
            if state.closing || state.failed.is_some() {
                return None;
            }
            state.writer_idle = true;
            state = shared
                .work
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.writer_idle = false;
        let mut batch = std::mem::take(&mut self.spare);
        std::mem::swap(&mut batch, &mut state.queue);
        let first_lsn = state.next_lsn - batch.len() as u64;
        // Released only once the records are durable.
        let bytes = batch.iter().map(|p| charge(p.payload.len())).sum();
        Some((first_lsn, batch, bytes))
    }

    fn write_batch(&mut self, first_lsn: u64, batch: &[Pending]) -> Result<(), WalError> {
        let segment_size = self.shared.options.segment_size;
        self.buf.clear();
        let mut buffered_last = None;
        for (lsn, pending) in (first_lsn..).zip(batch) {
            let frame = (HEADER_LEN + pending.payload.len()) as u64;
            let used = self.active.len + self.buf.len() as u64;
            // Roll over between records, never inside one; an empty segment takes any record
            // (options guarantee a maximum-size record fits in a segment anyway).
            if used > 0 && used + frame > segment_size {
                if let Some(last) = buffered_last.take() {
                    self.flush(last)?;
                }
                self.roll(lsn)?;
            }
            frame::encode(lsn, &pending.payload, &mut self.buf);
            buffered_last = Some(lsn);
        }
        if let Some(last) = buffered_last {
            self.flush(last)?;
        }
        self.buf.shrink_to(KEEP_BUF);
        Ok(())
    }

    /// Writes the buffer with one call, syncs it, and publishes `last` as durable.
    fn flush(&mut self, last: u64) -> Result<(), WalError> {
        let io_err = |op, source| WalError::Io {
            op,
            path: self.active.path.clone(),
            source,
        };
        self.active
            .file
            .write_all(&self.buf)
            .map_err(|e| io_err("write", e))?;
        let started = Instant::now();
        // sync_data also persists the file length, which is all the metadata a reader needs.
        self.active
            .file
            .sync_data()
            .map_err(|e| io_err("fsync", e))?;
        let counters = &self.shared.counters;
        counters.fsync_nanos.fetch_add(
            u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        counters
            .bytes_written
            .fetch_add(self.buf.len() as u64, Ordering::Relaxed);
        self.active.len += self.buf.len() as u64;
        self.buf.clear();
        self.shared.durable_lsn.store(last, Ordering::Release);
        Ok(())
    }

    /// Starts a new segment whose first record will be `first_lsn`.
    fn roll(&mut self, first_lsn: u64) -> Result<(), WalError> {
        let path = self.shared.dir.join(segment::file_name(first_lsn));
        // create_new: an existing file of that name would mean two writers or a bug, and
        // appending to it would interleave two histories.
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| WalError::Io {
                op: "create segment",
                path: path.clone(),
                source,
            })?;
        segment::sync_dir(&self.shared.dir)?;
        let counters = &self.shared.counters;
        counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        counters.segments_created.fetch_add(1, Ordering::Relaxed);
        self.active = Active { file, path, len: 0 };
        self.shared.lock_segments().push(first_lsn);
        Ok(())
    }
}
