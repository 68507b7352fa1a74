//! The lake on disk: Hive-partitioned Parquet files, the commit file, and how both are written
//! and found again.
//!
//! Layout (readable by Spark, Trino, DuckDB, pyarrow… as plain Hive-partitioned Parquet):
//!
//! ```text
//! DIR/_lake_state.json                                  commit point: flushed LSN, last flush
//! DIR/vehicle_samples/date=2026-07-07/part-000000000042.parquet
//! DIR/fleet_reports/date=2026-07-07/part-000000000042.parquet
//! DIR/positions/date=2026-07-07/part-000000000042.parquet
//! DIR/connector_status/date=2026-07-07/part-000000000042.parquet
//! DIR/charging_sessions/date=2026-07-07/part-000000000042.parquet
//! ```
//!
//! `date` is the Beijing (UTC+8) calendar day of `ts` (of `end_ts` for `charging_sessions`). Every flush has a sequence number and
//! writes at most one file per table and day, named by it. A flush becomes visible after a restart
//! only when `_lake_state.json` names its sequence number: files of a later sequence are what a
//! crash in the middle of a flush left behind, and `open` deletes them, like the `.tmp` files that
//! were never renamed. Their rows are still in the WAL, because the WAL is truncated only after a
//! flush returns.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::TimestampMicrosecondType;
use model::{BEIJING_OFFSET_SECS, CivilTime, Timestamp};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::{KeyValue, ParquetMetaDataReader, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::Statistics as ParquetStatistics;

use super::LakeError;

pub(crate) const STATE_FILE: &str = "_lake_state.json";
const TMP_SUFFIX: &str = ".tmp";
const DAY_PREFIX: &str = "date=";
/// Rows per Parquet data page (at most; pages also end at 1 MiB).
const PAGE_ROWS: usize = 1024;
const MICROS_PER_DAY: i64 = 86_400_000_000;
const BEIJING_OFFSET_MICROS: i64 = BEIJING_OFFSET_SECS as i64 * 1_000_000;

/// The tables the lake stores in files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Samples,
    Fleet,
    Positions,
    Status,
    Sessions,
}

impl Table {
    /// Every stored table; `Table::index` is the position in this list.
    pub(crate) const ALL: [Table; 5] = [
        Table::Samples,
        Table::Fleet,
        Table::Positions,
        Table::Status,
        Table::Sessions,
    ];

    /// The position of the table in [`Table::ALL`] (and in per-table arrays).
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Table::Samples => "vehicle_samples",
            Table::Fleet => "fleet_reports",
            Table::Positions => "positions",
            Table::Status => "connector_status",
            Table::Sessions => "charging_sessions",
        }
    }

    /// The entity column: files are sorted by it, then by the time column.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Table::Samples => "vin",
            Table::Fleet => "terminal_id",
            Table::Positions => "entity_id",
            Table::Status | Table::Sessions => "operator_id",
        }
    }

    /// The time column that decides a row's day partition and that files are sorted by.
    pub(crate) fn ts(self) -> &'static str {
        match self {
            Table::Sessions => "end_ts",
            _ => "ts",
        }
    }

    /// Indices of the entity column and of the time column in the table's schema.
    pub(crate) fn sort_columns(self) -> (usize, usize) {
        use super::schema::{col, fleet_col, session_col, status_col};
        match self {
            Table::Samples => (col::VIN, col::TS),
            Table::Fleet => (fleet_col::TERMINAL_ID, fleet_col::TS),
            Table::Positions => (0, 1),
            Table::Status => (status_col::OPERATOR_ID, status_col::TS),
            Table::Sessions => (session_col::OPERATOR_ID, session_col::END_TS),
        }
    }
}

/// The Beijing calendar day of an instant, as days since 1970-01-01.
pub(crate) fn day_of(ts_micros: i64) -> i64 {
    (ts_micros + BEIJING_OFFSET_MICROS).div_euclid(MICROS_PER_DAY)
}

/// The first instant of a Beijing calendar day.
pub(crate) fn day_start(day: i64) -> Timestamp {
    Timestamp::from_micros(day * MICROS_PER_DAY - BEIJING_OFFSET_MICROS)
}

/// `date=YYYY-MM-DD` for a day.
pub(crate) fn day_dir_name(day: i64) -> String {
    let c = day_start(day).to_civil(BEIJING_OFFSET_SECS);
    format!("{DAY_PREFIX}{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

fn parse_day_dir(name: &str) -> Option<i64> {
    let date = name.strip_prefix(DAY_PREFIX)?;
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let civil = CivilTime {
        year: date.get(0..4)?.parse().ok()?,
        month: date.get(5..7)?.parse().ok()?,
        day: date.get(8..10)?.parse().ok()?,
        hour: 0,
        minute: 0,
        second: 0,
    };
    Some(day_of(civil.to_timestamp(BEIJING_OFFSET_SECS)?.as_micros()))
}

/// `part-000000000042.parquet`: the zero padding makes names sort like flush sequence numbers.
pub(crate) fn part_name(seq: u64) -> String {
    format!("part-{seq:012}.parquet")
}

fn parse_part_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One Parquet file of the lake with what queries need to skip it without opening it.
#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    pub(crate) path: PathBuf,
    pub(crate) day: i64,
    pub(crate) seq: u64,
    pub(crate) size: u64,
    pub(crate) rows: u64,
    /// Smallest and largest time (`Table::ts`, microseconds), when the file has rows and
    /// statistics.
    pub(crate) ts_range: Option<(i64, i64)>,
    /// Smallest and largest entity id (`vin` / `entity_id`).
    pub(crate) key_range: Option<(String, String)>,
}

/// The commit point: every flush up to `last_seq` is complete, and every row inserted with an
/// LSN up to `flushed_lsn` is in those flushes' files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CommitState {
    pub(crate) flushed_lsn: u64,
    pub(crate) last_seq: u64,
}

/// The commit state, or `None` when the lake has no state file (it was never opened for writing).
pub(crate) fn read_state(dir: &Path) -> Result<Option<CommitState>, LakeError> {
    let path = dir.join(STATE_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LakeError::io("read", path)(e)),
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| LakeError::Corrupt(format!("{} does not parse: {e}", path.display())))?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| LakeError::Corrupt(format!("{} has no number {name:?}", path.display())))
    };
    Ok(Some(CommitState {
        flushed_lsn: field("flushed_lsn")?,
        last_seq: field("last_seq")?,
    }))
}

/// Replaces the state file atomically: temp file, fsync, rename, fsync of the directory.
pub(crate) fn write_state(dir: &Path, state: CommitState) -> Result<(), LakeError> {
    let text = serde_json::json!({
        "format": 1,
        "flushed_lsn": state.flushed_lsn,
        "last_seq": state.last_seq,
    })
    .to_string();
    let path = dir.join(STATE_FILE);
    let tmp = dir.join(format!("{STATE_FILE}{TMP_SUFFIX}"));
    let mut file = File::create(&tmp).map_err(LakeError::io("create", &tmp))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(LakeError::io("write", &tmp))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(LakeError::io("rename into place", &path))?;
    sync_dir(dir)
}

/// Makes a directory's entries (created, renamed or removed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), LakeError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(LakeError::io("fsync directory", dir))
    }
    // Other platforms cannot open a directory as a file; their file systems journal metadata.
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// What `scan` found besides the files it keeps.
#[derive(Debug, Default)]
pub(crate) struct Leftovers {
    /// Temp files and files of uncommitted flushes.
    pub(crate) paths: Vec<PathBuf>,
}

/// Lists a table's committed files (flush sequence `<= last_seq`), oldest flush first, and the
/// leftovers of interrupted flushes. Files with other names are left alone.
pub(crate) fn scan(
    dir: &Path,
    table: Table,
    last_seq: u64,
) -> Result<(Vec<FileEntry>, Leftovers), LakeError> {
    let table_dir = dir.join(table.name());
    let mut files = Vec::new();
    let mut leftovers = Leftovers::default();
    let days = match fs::read_dir(&table_dir) {
        Ok(days) => days,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((files, leftovers)),
        Err(e) => return Err(LakeError::io("list directory", table_dir)(e)),
    };
    for day_entry in days {
        let day_entry = day_entry.map_err(LakeError::io("list directory", &table_dir))?;
        let Some(day) = day_entry.file_name().to_str().and_then(parse_day_dir) else {
            continue;
        };
        let day_path = day_entry.path();
        for entry in fs::read_dir(&day_path).map_err(LakeError::io("list directory", &day_path))? {
            let entry = entry.map_err(LakeError::io("list directory", &day_path))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(TMP_SUFFIX) {
                leftovers.paths.push(entry.path());
                continue;
            }
            let Some(seq) = parse_part_name(name) else {
                continue;
            };
            if seq > last_seq {
                leftovers.paths.push(entry.path());
                continue;
            }
            files.push(describe(entry.path(), table, day, seq)?);
        }
    }
    files.sort_by_key(|f| (f.seq, f.day));
    Ok((files, leftovers))
}

/// Whether no table has any `part-*`/temp file (a directory a new lake may start in).
pub(crate) fn scan_is_empty(dir: &Path) -> Result<bool, LakeError> {
    for table in Table::ALL {
        let table_dir = dir.join(table.name());
        for day in days_on_disk(dir, table)? {
            let day_dir = table_dir.join(day_dir_name(day));
            let entries = match fs::read_dir(&day_dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(LakeError::io("list directory", day_dir)(e)),
            };
            for entry in entries {
                let entry = entry.map_err(LakeError::io("list directory", &day_dir))?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.ends_with(TMP_SUFFIX) || parse_part_name(&name).is_some() {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// Reads a file's footer for its row count and the range of `ts` and of the entity column.
fn describe(path: PathBuf, table: Table, day: i64, seq: u64) -> Result<FileEntry, LakeError> {
    let file = File::open(&path).map_err(LakeError::io("open", &path))?;
    let size = file.metadata().map_err(LakeError::io("stat", &path))?.len();
    let meta = ParquetMetaDataReader::new()
        .parse_and_finish(&file)
        .map_err(LakeError::parquet(&path))?;
    let schema = meta.file_metadata().schema_descr();
    let find =
        |name: &str| (0..schema.num_columns()).find(|&i| schema.column(i).path().string() == name);
    let (ts_col, key_col) = (find(table.ts()), find(table.key()));
    let mut ts_range: Option<(i64, i64)> = None;
    let mut key_range: Option<(String, String)> = None;
    let mut complete = (true, true);
    for rg in meta.row_groups() {
        if rg.num_rows() == 0 {
            continue;
        }
        match ts_col.and_then(|i| rg.column(i).statistics()) {
            Some(ParquetStatistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                (Some(&lo), Some(&hi)) => {
                    ts_range = Some(ts_range.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
                }
                _ => complete.0 = false,
            },
            _ => complete.0 = false,
        }
        // Truncated statistics are not exact bounds; without `is_*_value_exact` we cannot use them.
        match key_col.and_then(|i| rg.column(i).statistics()) {
            Some(ParquetStatistics::ByteArray(s)) if s.min_is_exact() && s.max_is_exact() => {
                match (
                    s.min_opt().and_then(|v| v.as_utf8().ok()),
                    s.max_opt().and_then(|v| v.as_utf8().ok()),
                ) {
                    (Some(lo), Some(hi)) => {
                        key_range = Some(match key_range {
                            None => (lo.to_owned(), hi.to_owned()),
                            Some((a, b)) => (a.min(lo.to_owned()), b.max(hi.to_owned())),
                        });
                    }
                    _ => complete.1 = false,
                }
            }
            _ => complete.1 = false,
        }
    }
    let rows = u64::try_from(meta.file_metadata().num_rows()).unwrap_or(0);
    Ok(FileEntry {
        path,
        day,
        seq,
        size,
        rows,
        // A bound from only some row groups would let a query skip rows it needs.
        ts_range: ts_range.filter(|_| complete.0),
        key_range: key_range.filter(|_| complete.1),
    })
}

/// How Parquet files are written: zstd, statistics and page index on every column, sorted by
/// entity then time so that a one-vehicle query reads a few pages of each file.
pub(crate) fn writer_properties(
    table: Table,
    row_group_rows: usize,
    zstd_level: i32,
    seq: u64,
    flushed_lsn: u64,
) -> Result<WriterProperties, LakeError> {
    let level = ZstdLevel::try_new(zstd_level)
        .map_err(|_| LakeError::InvalidOptions("zstd_level must be between 1 and 22"))?;
    let (key_idx, ts_idx) = table.sort_columns();
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(row_group_rows.max(1)))
        // Small pages make the page index useful: sorted by VIN, one vehicle's rows of a flush
        // are a few pages of each column, and a one-vehicle query decodes only those.
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_sorting_columns(Some(vec![
            SortingColumn {
                column_idx: key_idx as i32,
                descending: false,
                nulls_first: false,
            },
            SortingColumn {
                column_idx: ts_idx as i32,
                descending: false,
                nulls_first: false,
            },
        ]))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("haihe.flush_seq".to_owned(), seq.to_string()),
            KeyValue::new("haihe.flushed_lsn".to_owned(), flushed_lsn.to_string()),
        ]))
        .build())
}

/// Writes one sorted day slice of a table as `DIR/TABLE/date=DAY/part-SEQ.parquet`: to a temp
/// name, fsynced, renamed, and the directory fsynced. `created` collects every path this call
/// made, so that a failed flush can remove what it left.
pub(crate) fn write_file(
    dir: &Path,
    table: Table,
    day: i64,
    seq: u64,
    batch: &RecordBatch,
    props: WriterProperties,
    created: &mut Vec<PathBuf>,
) -> Result<FileEntry, LakeError> {
    let table_dir = dir.join(table.name());
    let day_dir = table_dir.join(day_dir_name(day));
    if !day_dir.exists() {
        let table_existed = table_dir.exists();
        fs::create_dir_all(&day_dir).map_err(LakeError::io("create directory", &day_dir))?;
        // The new directory entries must be durable before the file inside them can be.
        if !table_existed {
            sync_dir(dir)?;
        }
        sync_dir(&table_dir)?;
    }
    let name = part_name(seq);
    let path = day_dir.join(&name);
    let tmp = day_dir.join(format!(".{name}{TMP_SUFFIX}"));
    created.push(tmp.clone());
    let file = File::create(&tmp).map_err(LakeError::io("create", &tmp))?;
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))
        .map_err(LakeError::parquet(&tmp))?;
    writer.write(batch).map_err(LakeError::parquet(&tmp))?;
    writer.finish().map_err(LakeError::parquet(&tmp))?;
    writer
        .inner()
        .sync_all()
        .map_err(LakeError::io("fsync", &tmp))?;
    let size = writer
        .inner()
        .metadata()
        .map_err(LakeError::io("stat", &tmp))?
        .len();
    drop(writer);
    created.push(path.clone());
    fs::rename(&tmp, &path).map_err(LakeError::io("rename into place", &path))?;
    sync_dir(&day_dir)?;

    let ts = batch
        .column_by_name(table.ts())
        .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>());
    let ts_range = ts.and_then(|ts| Some((arrow::compute::min(ts)?, arrow::compute::max(ts)?)));
    let key = batch
        .column_by_name(table.key())
        .and_then(|c| c.as_string_opt::<i32>());
    // Sorted by key, so the first and last rows hold the smallest and largest.
    let key_range = key
        .filter(|k| !k.is_empty() && k.null_count() == 0)
        .map(|k| (k.value(0).to_owned(), k.value(k.len() - 1).to_owned()));
    Ok(FileEntry {
        path,
        day,
        seq,
        size,
        rows: batch.num_rows() as u64,
        ts_range,
        key_range,
    })
}

/// Removes paths a failed flush created; returns the first error other than "not found".
pub(crate) fn remove_all(paths: &[PathBuf]) -> Result<(), LakeError> {
    let mut result = Ok(());
    for path in paths {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                if result.is_ok() {
                    result = Err(LakeError::io("remove", path)(e));
                }
            }
        }
    }
    result
}

/// Deletes a whole day partition of a table: its files, then the directory.
pub(crate) fn remove_day(dir: &Path, table: Table, day: i64) -> Result<bool, LakeError> {
    let table_dir = dir.join(table.name());
    let day_dir = table_dir.join(day_dir_name(day));
    match fs::remove_dir_all(&day_dir) {
        Ok(()) => {
            sync_dir(&table_dir)?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(LakeError::io("remove partition", day_dir)(e)),
    }
}

/// Every day that has a partition directory in a table, whether or not it holds files.
pub(crate) fn days_on_disk(dir: &Path, table: Table) -> Result<Vec<i64>, LakeError> {
    let table_dir = dir.join(table.name());
    let entries = match fs::read_dir(&table_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LakeError::io("list directory", table_dir)(e)),
    };
    let mut days = Vec::new();
    for entry in entries {
        let entry = entry.map_err(LakeError::io("list directory", &table_dir))?;
        if let Some(day) = entry.file_name().to_str().and_then(parse_day_dir) {
            days.push(day);
        }
    }
    days.sort_unstable();
    Ok(days)
}

/// The shared, immutable list of a table's files that queries take a snapshot of.
pub(crate) type FileList = Arc<Vec<FileEntry>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_beijing_calendar_days() {
        // 2026-07-06T16:00:00Z is midnight in Beijing: the first instant of 2026-07-07.
        let midnight = Timestamp::parse("2026-07-07T00:00:00+08:00").expect("time");
        let day = day_of(midnight.as_micros());
        assert_eq!(day_dir_name(day), "date=2026-07-07");
        assert_eq!(day_of(midnight.as_micros() - 1), day - 1);
        assert_eq!(day_start(day), midnight);
        assert_eq!(parse_day_dir("date=2026-07-07"), Some(day));
        assert_eq!(parse_day_dir("date=1969-12-31"), Some(-1));
        for bad in [
            "date=2026-7-7",
            "2026-07-07",
            "date=2026-02-30",
            "date=abcd-07-07",
        ] {
            assert_eq!(parse_day_dir(bad), None, "{bad}");
        }
    }

    #[test]
    fn table_indices_follow_the_list() {
        for (i, table) in Table::ALL.into_iter().enumerate() {
            assert_eq!(table.index(), i, "{}", table.name());
        }
    }

    #[test]
    fn part_names_sort_like_sequence_numbers() {
        assert_eq!(part_name(42), "part-000000000042.parquet");
        assert_eq!(parse_part_name(&part_name(42)), Some(42));
        assert!(part_name(9) < part_name(10));
        for bad in [
            "part-.parquet",
            "part-12.parquet.tmp",
            "part-x1.parquet",
            "x.parquet",
        ] {
            assert_eq!(parse_part_name(bad), None, "{bad}");
        }
    }
}
