//! The embedded mode's lake: recent rows buffered in memory as Arrow batches, older rows in
//! Hive-partitioned Parquet files, and DataFusion SQL over both (DESIGN.md §3, §4).
//!
//! Rows arrive through [`Lake::insert_all`] (or [`Lake::insert_rows`] / [`Lake::insert`] for
//! the vehicle tables only) in WAL order,
//! tagged with the LSN of the WAL record they came from, and are queryable at once. [`Lake::flush`] writes everything buffered to Parquet
//! (one file per table and Beijing calendar day, sorted by entity then time) and reports the LSN
//! up to which the WAL may now be truncated. The lake remembers that LSN across restarts, and
//! `insert` ignores records at or below it, so replaying the whole WAL after a restart never
//! duplicates rows.
//!
//! Tables: `vehicle_samples` (one column per field of `model::VehicleSample`), `fleet_reports`
//! (one column per field of `model::FleetReport`), `positions` (the samples that have a position
//! and the fleet reports with a valid fix), `connector_status` and `charging_sessions` (one column
//! per field of `model::ConnectorStatus` / `model::ChargingSession`), and `vehicles`, `alarms` and
//! `stations` (from the catalog, passed in by the caller for each query). All five stored tables
//! follow one flush, one commit and one
//! replay rule: a flush writes every buffered row of every table under one sequence number, so a
//! record's rows of different tables are always committed together. See `files.rs` for the layout
//! on disk and the commit protocol.

mod buffer;
mod charging;
mod error;
mod files;
mod fleet;
mod fleet_query;
mod json;
mod query;
mod rows;
mod schema;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arrow::array::{Array, AsArray, Int64Array, RecordBatch};
use arrow::compute::{SortColumn, concat, interleave_record_batch, lexsort_to_indices};
use arrow::datatypes::TimestampMicrosecondType;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use model::{ChargingSession, ConnectorStatus, FleetReport, Timestamp, VehicleSample};

pub use error::LakeError;
pub use fleet::entity_id as fleet_entity_id;
pub use fleet_query::DriveData;
pub use json::{QueryRows, batches_to_json};
pub use query::CatalogTables;
pub use rows::TrackPoint;
pub use schema::{
    alarms_schema, charging_sessions_schema, connector_status_schema, fleet_reports_schema,
    positions_schema, samples_schema, stations_schema, vehicles_schema,
};

use buffer::SampleBuilder;
use charging::{SessionBuilder, StatusBuilder};
use files::{CommitState, FileEntry, FileList, Table};
use fleet::FleetBuilder;

/// Limits and tuning of a lake. Construct with `LakeOptions::default()` and change the fields
/// you need.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LakeOptions {
    /// `needs_flush` says yes once the oldest buffered row was received this long ago
    /// (`storage.flush_interval_secs`).
    pub flush_interval: Duration,
    /// `needs_flush` says yes once this many bytes are buffered.
    pub flush_bytes: u64,
    /// Rows per in-memory batch: inserted rows go into column builders that are sealed into an
    /// immutable batch at this size (or at a flush); queries copy the rows not sealed yet, so
    /// this also bounds what one query copies.
    pub batch_rows: usize,
    /// Rows per Parquet row group. Smaller groups prune more finely; larger ones compress better.
    pub row_group_rows: usize,
    /// zstd level of the Parquet files (1–22).
    pub zstd_level: i32,
    /// Memory all running queries together may use for sorts, joins and aggregates; a query
    /// that needs more fails with a clear error instead of exhausting the server.
    pub query_memory_bytes: usize,
    /// Threads a query may use (DataFusion's `target_partitions`); 0 means one per core.
    pub query_threads: usize,
}

impl Default for LakeOptions {
    fn default() -> Self {
        LakeOptions {
            flush_interval: Duration::from_secs(60),
            flush_bytes: 256 << 20,
            batch_rows: 8192,
            row_group_rows: 64 * 1024,
            zstd_level: 3,
            query_memory_bytes: 1 << 30,
            query_threads: 0,
        }
    }
}

impl LakeOptions {
    fn validate(&self) -> Result<(), LakeError> {
        if self.batch_rows == 0 {
            return Err(LakeError::InvalidOptions("batch_rows must be at least 1"));
        }
        if self.row_group_rows == 0 {
            return Err(LakeError::InvalidOptions(
                "row_group_rows must be at least 1",
            ));
        }
        if !(1..=22).contains(&self.zstd_level) {
            return Err(LakeError::InvalidOptions(
                "zstd_level must be between 1 and 22",
            ));
        }
        if self.query_memory_bytes < 1 << 20 {
            return Err(LakeError::InvalidOptions(
                "query_memory_bytes must be at least 1 MiB",
            ));
        }
        Ok(())
    }
}

/// What one [`Lake::flush`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlushStats {
    /// `vehicle_samples` rows written.
    pub rows: u64,
    /// `fleet_reports` rows written.
    pub fleet_rows: u64,
    /// `positions` rows written.
    pub position_rows: u64,
    /// `connector_status` rows written.
    pub status_rows: u64,
    /// `charging_sessions` rows written.
    pub session_rows: u64,
    /// Parquet files written (every table, every day partition).
    pub files: u64,
    /// Bytes of those files.
    pub bytes: u64,
    /// Every row inserted with an LSN at or below this is in Parquet now: the caller may
    /// truncate the WAL before `flushed_lsn + 1`.
    pub flushed_lsn: u64,
    /// How long the flush took.
    pub duration: Duration,
}

/// The files one flush wrote, per table.
type NewFiles = Vec<(Table, Vec<FileEntry>)>;

/// One value per stored table, indexed by [`Table::index`].
type PerTable<T> = [T; Table::ALL.len()];

/// The rows of one WAL record for [`Lake::insert_all`], one slice per inserted table (any may be
/// empty).
#[derive(Debug, Default, Clone, Copy)]
pub struct LakeRows<'a> {
    pub samples: &'a [VehicleSample],
    pub reports: &'a [FleetReport],
    pub statuses: &'a [ConnectorStatus],
    pub sessions: &'a [ChargingSession],
}

/// Sealed in-memory batches of the rows inserted together (any may be empty), one per table,
/// `positions` derived from the samples and fleet reports.
#[derive(Debug, Clone)]
struct Sealed {
    batches: PerTable<RecordBatch>,
    bytes: u64,
    oldest_received: i64,
}

impl Sealed {
    fn batch(&self, table: Table) -> &RecordBatch {
        &self.batches[table.index()]
    }

    /// Rows of the tables that are inserted (positions are derived, not counted).
    fn rows(&self) -> u64 {
        Table::ALL
            .iter()
            .filter(|&&t| t != Table::Positions)
            .map(|&t| self.batch(t).num_rows() as u64)
            .sum()
    }
}

/// Everything behind the lake's lock. Queries copy out `Arc`s and let go at once.
#[derive(Debug)]
struct State {
    active: SampleBuilder,
    active_fleet: FleetBuilder,
    active_status: StatusBuilder,
    active_sessions: SessionBuilder,
    sealed: Vec<Sealed>,
    /// Totals over `sealed`, kept up to date so that an insert need not walk the list.
    sealed_bytes: u64,
    sealed_rows: u64,
    sealed_oldest_received: i64,
    /// The committed files of each table.
    files: PerTable<FileList>,
    commit: CommitState,
    applied_lsn: u64,
    /// Set when a flush failed in a way that may have left files which a later flush would
    /// make look committed; see [`LakeError::Failed`].
    failed: Option<String>,
}

/// What a query sees: the files and the in-memory batches at one instant, consistently (a row is
/// in exactly one of them).
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    /// Per table (by [`Table::index`]): its committed files…
    pub(crate) files: PerTable<FileList>,
    /// …and its buffered batches.
    pub(crate) batches: PerTable<Vec<RecordBatch>>,
}

/// The lake of one data directory. All methods take `&self`; share it with `Arc`.
pub struct Lake {
    dir: PathBuf,
    read_only: bool,
    options: LakeOptions,
    state: Mutex<State>,
    /// Serialises flush and retention, the two operations that change the file list.
    maintenance: Mutex<()>,
    runtime: Arc<RuntimeEnv>,
    // Gauges readable without the lock, for backpressure checks on every insert.
    buffered_bytes: AtomicU64,
    buffered_rows: AtomicU64,
    applied_lsn: AtomicU64,
    oldest_received: AtomicI64,
}

impl fmt::Debug for Lake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lake")
            .field("dir", &self.dir)
            .field("read_only", &self.read_only)
            .field("applied_lsn", &self.applied_lsn())
            .field("buffered_rows", &self.buffered_rows())
            .finish_non_exhaustive()
    }
}

impl Lake {
    /// Opens (creating if needed) the lake in `dir` for the server: finds the committed Parquet
    /// files and deletes what interrupted flushes left (temp files and files of flushes that
    /// never committed; their rows are still in the WAL).
    pub fn open(dir: impl AsRef<Path>, options: LakeOptions) -> Result<Lake, LakeError> {
        options.validate()?;
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(LakeError::io("create directory", &dir))?;
        let stale_state = dir.join(format!("{}.tmp", files::STATE_FILE));
        match fs::remove_file(&stale_state) {
            Ok(()) => files::sync_dir(&dir)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LakeError::io("remove", stale_state)(e)),
        }
        if files::read_state(&dir)?.is_none() && files::scan_is_empty(&dir)? {
            // A new lake: the state file exists from the start, so that its absence later means
            // damage rather than "nothing committed yet".
            files::write_state(&dir, CommitState::default())?;
        }
        Self::load(dir, options, false)
    }

    /// Opens the lake in `dir` for reading only (`haihe sql --data-dir` while a server may be
    /// running): never creates, writes or deletes anything; files of flushes in progress are
    /// ignored. A missing directory is an empty lake.
    ///
    /// Rows may still be inserted (into memory only) to overlay the WAL: read the WAL with
    /// [`crate::wal::read_records`] *before* opening, then insert every record; those already
    /// in the files opened here are skipped by LSN. Reading in the other order could miss the
    /// records of a flush that commits in between.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Lake, LakeError> {
        Self::load(dir.as_ref().to_path_buf(), LakeOptions::default(), true)
    }

    fn load(dir: PathBuf, options: LakeOptions, read_only: bool) -> Result<Lake, LakeError> {
        let state = files::read_state(&dir)?;
        let commit = state.unwrap_or_default();
        let mut lists = Vec::new();
        for table in Table::ALL {
            let (found, leftovers) = files::scan(&dir, table, commit.last_seq)?;
            if state.is_none() && !leftovers.paths.is_empty() {
                // Without the state file every data file would look uncommitted and be deleted;
                // a lake that lost it needs a person, not a clean-up.
                return Err(LakeError::Corrupt(format!(
                    "{} holds Parquet files but no {}; refusing to treat them as leftovers",
                    dir.display(),
                    files::STATE_FILE
                )));
            }
            if !read_only && !leftovers.paths.is_empty() {
                for path in &leftovers.paths {
                    tracing::warn!(path = %path.display(), "removing a file left by an interrupted flush");
                }
                files::remove_all(&leftovers.paths)?;
                let mut parents: Vec<&Path> =
                    leftovers.paths.iter().filter_map(|p| p.parent()).collect();
                parents.dedup();
                for parent in parents {
                    files::sync_dir(parent)?;
                }
            }
            lists.push(Arc::new(found));
        }
        // `lists` follows `Table::ALL`.
        let files: PerTable<FileList> =
            std::array::from_fn(|i| lists.get(i).cloned().unwrap_or_default());
        let threads = if options.query_threads == 0 {
            std::thread::available_parallelism().map_or(2, usize::from)
        } else {
            options.query_threads
        };
        let options = LakeOptions {
            query_threads: threads,
            ..options
        };
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(options.query_memory_bytes, 1.0)
            .build_arc()?;
        Ok(Lake {
            state: Mutex::new(State {
                active: SampleBuilder::new(options.batch_rows, 0, 0),
                active_fleet: FleetBuilder::new(0),
                active_status: StatusBuilder::default(),
                active_sessions: SessionBuilder::default(),
                sealed: Vec::new(),
                sealed_bytes: 0,
                sealed_rows: 0,
                sealed_oldest_received: i64::MAX,
                files,
                commit,
                applied_lsn: commit.flushed_lsn,
                failed: None,
            }),
            dir,
            read_only,
            options,
            maintenance: Mutex::new(()),
            runtime,
            buffered_bytes: AtomicU64::new(0),
            buffered_rows: AtomicU64::new(0),
            applied_lsn: AtomicU64::new(commit.flushed_lsn),
            oldest_received: AtomicI64::new(i64::MAX),
        })
    }

    /// The lake's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the lake was opened with [`Lake::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Buffers the `vehicle_samples` rows of the WAL record `lsn`: [`Lake::insert_rows`] for a
    /// record without fleet reports.
    pub fn insert(&self, lsn: u64, rows: &[VehicleSample]) -> Result<bool, LakeError> {
        self.insert_rows(lsn, rows, &[])
    }

    /// Buffers the rows of the WAL record `lsn` (samples and fleet reports; their `positions`
    /// rows follow); they are queryable when this returns.
    ///
    /// Call it once per WAL record, in LSN order, with all the record's rows (possibly none: the
    /// LSN still counts as applied). A record at or below [`Lake::applied_lsn`] is a replay of
    /// one already applied (after a restart, the lake starts at the LSN of its last flush) and is
    /// ignored: the result is `false`.
    pub fn insert_rows(
        &self,
        lsn: u64,
        samples: &[VehicleSample],
        reports: &[FleetReport],
    ) -> Result<bool, LakeError> {
        self.insert_all(
            lsn,
            &LakeRows {
                samples,
                reports,
                ..LakeRows::default()
            },
        )
    }

    /// Buffers the rows of the WAL record `lsn` for every inserted table (samples, fleet
    /// reports, connector status changes, charging sessions; the `positions` rows follow); they
    /// are queryable when this returns.
    ///
    /// The rules of [`Lake::insert_rows`] apply: once per WAL record, in LSN order, and a record
    /// at or below [`Lake::applied_lsn`] is ignored (`false`).
    pub fn insert_all(&self, lsn: u64, rows: &LakeRows<'_>) -> Result<bool, LakeError> {
        let mut state = self.lock();
        if lsn <= state.applied_lsn {
            return Ok(false);
        }
        for row in rows.samples {
            state.active.append(row);
            if state.active.rows() >= self.options.batch_rows {
                self.seal(&mut state)?;
            }
        }
        for report in rows.reports {
            state.active_fleet.append(report);
            if state.active_fleet.rows() >= self.options.batch_rows {
                self.seal(&mut state)?;
            }
        }
        for status in rows.statuses {
            state.active_status.append(status);
            if state.active_status.rows() >= self.options.batch_rows {
                self.seal(&mut state)?;
            }
        }
        for session in rows.sessions {
            state.active_sessions.append(session);
            if state.active_sessions.rows() >= self.options.batch_rows {
                self.seal(&mut state)?;
            }
        }
        state.applied_lsn = lsn;
        self.applied_lsn.store(lsn, Ordering::Release);
        self.publish_gauges(&state);
        Ok(true)
    }

    /// Bytes the buffered rows occupy (estimated for the rows not sealed into a batch yet).
    pub fn buffered_bytes(&self) -> u64 {
        self.buffered_bytes.load(Ordering::Acquire)
    }

    /// Rows buffered in memory and not yet in Parquet.
    pub fn buffered_rows(&self) -> u64 {
        self.buffered_rows.load(Ordering::Acquire)
    }

    /// The LSN of the last record inserted (or, after opening, the last one flushed).
    pub fn applied_lsn(&self) -> u64 {
        self.applied_lsn.load(Ordering::Acquire)
    }

    /// Every row inserted with an LSN at or below this is in committed Parquet files.
    pub fn flushed_lsn(&self) -> u64 {
        self.lock().commit.flushed_lsn
    }

    /// Whether it is time to flush: the buffer holds `flush_bytes`, or its oldest row was
    /// received `flush_interval` before `now`.
    pub fn needs_flush(&self, now: Timestamp) -> bool {
        if self.buffered_bytes() >= self.options.flush_bytes {
            return true;
        }
        let oldest = self.oldest_received.load(Ordering::Acquire);
        let interval = i64::try_from(self.options.flush_interval.as_micros()).unwrap_or(i64::MAX);
        oldest != i64::MAX && now.as_micros().saturating_sub(oldest) >= interval
    }

    /// Seals every active builder into batches (with their `positions` rows).
    fn seal(&self, state: &mut State) -> Result<(), LakeError> {
        if active_rows(state) == 0 {
            return Ok(());
        }
        let oldest_received = active_oldest_received(state).unwrap_or(i64::MAX);
        let samples = if state.active.rows() > 0 {
            let next = state.active.successor(self.options.batch_rows);
            std::mem::replace(&mut state.active, next).finish()?
        } else {
            RecordBatch::new_empty(schema::samples_schema())
        };
        let fleet = if state.active_fleet.rows() > 0 {
            // Fleet reports are rarer than samples in most records: the builder grows as
            // needed instead of reserving a whole batch up front.
            std::mem::replace(&mut state.active_fleet, FleetBuilder::new(0)).finish()?
        } else {
            RecordBatch::new_empty(schema::fleet_reports_schema())
        };
        let status = if state.active_status.rows() > 0 {
            state.active_status.finish()?
        } else {
            RecordBatch::new_empty(schema::connector_status_schema())
        };
        let sessions = if state.active_sessions.rows() > 0 {
            state.active_sessions.finish()?
        } else {
            RecordBatch::new_empty(schema::charging_sessions_schema())
        };
        let positions = positions_of(&samples, &fleet)?;
        // In `Table::ALL` order.
        let batches = [samples, fleet, positions, status, sessions];
        let bytes = batches
            .iter()
            .map(|b| b.get_array_memory_size() as u64)
            .sum();
        let sealed = Sealed {
            batches,
            bytes,
            oldest_received,
        };
        state.sealed_bytes += bytes;
        state.sealed_rows += sealed.rows();
        state.sealed_oldest_received = state.sealed_oldest_received.min(oldest_received);
        state.sealed.push(sealed);
        Ok(())
    }

    fn publish_gauges(&self, state: &State) {
        let oldest = active_oldest_received(state).map_or(state.sealed_oldest_received, |o| {
            o.min(state.sealed_oldest_received)
        });
        let active_bytes = state.active.estimated_bytes()
            + state.active_fleet.estimated_bytes()
            + state.active_status.estimated_bytes()
            + state.active_sessions.estimated_bytes();
        self.buffered_bytes
            .store(state.sealed_bytes + active_bytes as u64, Ordering::Release);
        self.buffered_rows.store(
            state.sealed_rows + active_rows(state) as u64,
            Ordering::Release,
        );
        self.oldest_received.store(oldest, Ordering::Release);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves at worst a half-appended row in the builders,
        // which `finish` then refuses; the lake stays usable for queries.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The files and buffered batches as of now, for a query.
    pub(crate) fn snapshot(&self) -> Result<Snapshot, LakeError> {
        let state = self.lock();
        let sealed = |table: Table| -> Vec<RecordBatch> {
            state
                .sealed
                .iter()
                .map(|s| s.batch(table))
                .filter(|b| b.num_rows() > 0)
                .cloned()
                .collect()
        };
        let mut batches: PerTable<Vec<RecordBatch>> = Table::ALL.map(sealed);
        // Rows inserted since the last seal must be visible too: a copy of them (at most one
        // batch) keeps the builders growing undisturbed.
        if state.active.rows() > 0 {
            let active = state.active.snapshot()?;
            batches[Table::Positions.index()].push(buffer::positions_of(&active)?);
            batches[Table::Samples.index()].push(active);
        }
        if state.active_fleet.rows() > 0 {
            let active = state.active_fleet.snapshot()?;
            batches[Table::Positions.index()].push(fleet::positions_of(&active)?);
            batches[Table::Fleet.index()].push(active);
        }
        if state.active_status.rows() > 0 {
            batches[Table::Status.index()].push(state.active_status.snapshot()?);
        }
        if state.active_sessions.rows() > 0 {
            batches[Table::Sessions.index()].push(state.active_sessions.snapshot()?);
        }
        batches[Table::Positions.index()].retain(|b| b.num_rows() > 0);
        Ok(Snapshot {
            files: state.files.clone(),
            batches,
        })
    }

    /// Parquet files currently part of the lake (every table), for tests and tools.
    pub fn file_paths(&self) -> Vec<PathBuf> {
        let state = self.lock();
        state
            .files
            .iter()
            .flat_map(|list| list.iter())
            .map(|f| f.path.clone())
            .collect()
    }

    fn check_writable(&self) -> Result<(), LakeError> {
        if self.read_only {
            return Err(LakeError::ReadOnly {
                path: self.dir.clone(),
            });
        }
        Ok(())
    }

    /// Writes every buffered row to Parquet and then drops it from memory.
    ///
    /// Each table gets one file per Beijing calendar day of `ts` (late, reissued rows go to their
    /// own day's partition), sorted by entity and time, written under a temp name, fsynced,
    /// renamed and its directory fsynced; then the commit file names the flush, and only then
    /// are the rows dropped from memory. Queries running meanwhile see every row exactly once.
    /// Inserts may continue during a flush; their rows stay buffered for the next one.
    ///
    /// This does blocking file IO and CPU-heavy encoding: call it from a blocking thread.
    pub fn flush(&self) -> Result<FlushStats, LakeError> {
        self.check_writable()?;
        let started = std::time::Instant::now();
        let _maintenance = self
            .maintenance
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (sealed, lsn, commit) = {
            let mut state = self.lock();
            if let Some(reason) = &state.failed {
                return Err(LakeError::Failed(reason.clone()));
            }
            self.seal(&mut state)?;
            self.publish_gauges(&state);
            (state.sealed.clone(), state.applied_lsn, state.commit)
        };
        if sealed.is_empty() {
            if lsn > commit.flushed_lsn {
                // Records without rows still move the LSN on; remembering it keeps a replay
                // after a restart from re-inserting anything, and lets the WAL be truncated.
                let next = CommitState {
                    flushed_lsn: lsn,
                    ..commit
                };
                files::write_state(&self.dir, next)?;
                self.lock().commit = next;
            }
            return Ok(FlushStats {
                flushed_lsn: lsn,
                duration: started.elapsed(),
                ..FlushStats::default()
            });
        }

        let seq = commit.last_seq + 1;
        let mut created = Vec::new();
        let written = self.write_flush(&sealed, seq, lsn, &mut created);
        let (new_files, mut stats) = match written {
            Ok(written) => written,
            Err(error) => {
                // Files of this sequence would look committed after the next flush commits a
                // higher one, so they must go now, or no flush may follow until a reopen.
                if let Err(cleanup) = files::remove_all(&created) {
                    self.lock().failed = Some(format!(
                        "flush {seq} failed ({error}) and its files could not be removed ({cleanup})"
                    ));
                }
                return Err(error);
            }
        };
        let next = CommitState {
            flushed_lsn: lsn,
            last_seq: seq,
        };
        if let Err(error) = files::write_state(&self.dir, next) {
            // The commit may or may not be on disk: keep the files (a reopen decides by the
            // state file) and the rows (they are still the queryable copy), and flush no more.
            self.lock().failed = Some(format!("committing flush {seq} failed: {error}"));
            return Err(error);
        }
        {
            let mut state = self.lock();
            state.sealed.drain(..sealed.len());
            state.sealed_bytes = state.sealed.iter().map(|s| s.bytes).sum();
            state.sealed_rows = state.sealed.iter().map(Sealed::rows).sum();
            state.sealed_oldest_received = state
                .sealed
                .iter()
                .map(|s| s.oldest_received)
                .min()
                .unwrap_or(i64::MAX);
            for (table, entries) in new_files {
                let list = &mut state.files[table.index()];
                let mut files = list.as_ref().clone();
                files.extend(entries);
                *list = Arc::new(files);
            }
            state.commit = next;
            self.publish_gauges(&state);
        }
        stats.flushed_lsn = lsn;
        stats.duration = started.elapsed();
        Ok(stats)
    }

    /// Writes every table's sealed rows, one file per table and day, all under flush `seq`.
    fn write_flush(
        &self,
        sealed: &[Sealed],
        seq: u64,
        lsn: u64,
        created: &mut Vec<PathBuf>,
    ) -> Result<(NewFiles, FlushStats), LakeError> {
        let mut stats = FlushStats::default();
        let mut written = Vec::new();
        for table in Table::ALL {
            let batches: Vec<&RecordBatch> = sealed
                .iter()
                .map(|s| s.batch(table))
                .filter(|b| b.num_rows() > 0)
                .collect();
            if batches.is_empty() {
                continue;
            }
            let mut entries = Vec::new();
            for (day, batch) in sorted_days(table, &batches)? {
                let props = files::writer_properties(
                    table,
                    self.options.row_group_rows,
                    self.options.zstd_level,
                    seq,
                    lsn,
                )?;
                let entry = files::write_file(&self.dir, table, day, seq, &batch, props, created)?;
                stats.files += 1;
                stats.bytes += entry.size;
                match table {
                    Table::Samples => stats.rows += entry.rows,
                    Table::Fleet => stats.fleet_rows += entry.rows,
                    Table::Positions => stats.position_rows += entry.rows,
                    Table::Status => stats.status_rows += entry.rows,
                    Table::Sessions => stats.session_rows += entry.rows,
                }
                entries.push(entry);
            }
            written.push((table, entries));
        }
        Ok((written, stats))
    }

    /// Deletes every day partition (of every table) that lies entirely before
    /// `now - retention_days`; returns how many partition directories went. `retention_days == 0`
    /// keeps everything.
    ///
    /// A query that started before may fail if it still had to open a deleted file.
    pub fn apply_retention(&self, now: Timestamp, retention_days: u32) -> Result<usize, LakeError> {
        self.check_writable()?;
        if retention_days == 0 {
            return Ok(0);
        }
        let _maintenance = self
            .maintenance
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let cutoff = now
            .as_micros()
            .saturating_sub(i64::from(retention_days) * 86_400_000_000);
        let expired = |day: i64| files::day_start(day + 1).as_micros() <= cutoff;
        {
            // Out of the file lists first, so that no new query plans to read them.
            let mut state = self.lock();
            let keep = |list: &FileList| -> FileList {
                Arc::new(list.iter().filter(|f| !expired(f.day)).cloned().collect())
            };
            state.files = state.files.each_ref().map(keep);
        }
        let mut removed = 0;
        for table in Table::ALL {
            for day in files::days_on_disk(&self.dir, table)? {
                if expired(day) && files::remove_day(&self.dir, table, day)? {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    pub(crate) fn runtime(&self) -> &Arc<RuntimeEnv> {
        &self.runtime
    }

    pub(crate) fn options(&self) -> &LakeOptions {
        &self.options
    }
}

/// Rows in the active (not yet sealed) builders of every table.
fn active_rows(state: &State) -> usize {
    state.active.rows()
        + state.active_fleet.rows()
        + state.active_status.rows()
        + state.active_sessions.rows()
}

/// The oldest `received_at` in the active builders, if they hold any row.
fn active_oldest_received(state: &State) -> Option<i64> {
    [
        state.active.oldest_received(),
        state.active_fleet.oldest_received(),
        state.active_status.oldest_received(),
        state.active_sessions.oldest_received(),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// The `positions` rows of a sealed pair of batches: located samples, then located fleet reports.
fn positions_of(samples: &RecordBatch, fleet: &RecordBatch) -> Result<RecordBatch, LakeError> {
    let from_samples = buffer::positions_of(samples)?;
    if fleet.num_rows() == 0 {
        return Ok(from_samples);
    }
    let from_fleet = fleet::positions_of(fleet)?;
    if from_samples.num_rows() == 0 {
        return Ok(from_fleet);
    }
    Ok(arrow::compute::concat_batches(
        &schema::positions_schema(),
        [&from_samples, &from_fleet],
    )?)
}

/// A table's rows sorted by (Beijing day of `ts`, entity, `ts`), one batch per day.
fn sorted_days(
    table: Table,
    batches: &[&RecordBatch],
) -> Result<Vec<(i64, RecordBatch)>, LakeError> {
    let (key_idx, ts_idx) = table.sort_columns();
    // Only the sort keys are concatenated; the rows are gathered from the batches once, in
    // sorted order, without first copying everything into one batch.
    let column =
        |i: usize| -> Vec<&dyn Array> { batches.iter().map(|b| b.column(i).as_ref()).collect() };
    let keys = concat(&column(key_idx))?;
    let ts = concat(&column(ts_idx))?;
    let days: Int64Array = ts
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| LakeError::Corrupt("ts is not a microsecond timestamp".into()))?
        .unary(files::day_of);
    let indices = lexsort_to_indices(
        &[
            SortColumn {
                values: Arc::new(days.clone()),
                options: None,
            },
            SortColumn {
                values: keys,
                options: None,
            },
            SortColumn {
                values: ts,
                options: None,
            },
        ],
        None,
    )?;
    let mut origin = Vec::with_capacity(days.len());
    for (b, batch) in batches.iter().enumerate() {
        origin.extend((0..batch.num_rows()).map(|r| (b, r)));
    }
    let gather: Vec<(usize, usize)> = indices
        .values()
        .iter()
        .map(|&i| origin[i as usize])
        .collect();
    drop(origin);
    let sorted = interleave_record_batch(batches, &gather)?;
    drop(gather);
    let sorted_days: Vec<i64> = indices
        .values()
        .iter()
        .map(|&i| days.value(i as usize))
        .collect();
    let mut out = Vec::new();
    let mut start = 0;
    while start < sorted_days.len() {
        let day = sorted_days[start];
        let end = start
            + sorted_days[start..]
                .iter()
                .take_while(|&&d| d == day)
                .count();
        out.push((day, sorted.slice(start, end - start)));
        start = end;
    }
    Ok(out)
}
