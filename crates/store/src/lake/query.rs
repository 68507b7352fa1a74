//! Queries: the DataFusion table that unions a table's Parquet files with its in-memory batches,
//! read-only SQL over every table, and the typed helpers the API uses (history, tracks, latest
//! state, the timeline trips and mileage are computed from, the vehicles active in a period).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, UInt8Array, UInt32Array,
};
use arrow::datatypes::{SchemaRef, TimestampMicrosecondType};
use async_trait::async_trait;
use datafusion::catalog::{MemTable, Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::error::Result as DfResult;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::functions_aggregate::expr_fn::max;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, col, lit};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::prelude::{DataFrame, SQLOptions, SessionConfig, SessionContext};
use model::{Alarm, Timestamp, VehicleInfo, VehicleSample};

use super::files::{FileEntry, FileList, Table};
use super::rows::{self, TrackPoint};
use super::schema::{self, TZ};
use super::{Lake, LakeError, Snapshot};
use crate::catalog::StationRecord;
use crate::drive;

/// Latest samples closer together than this are fetched with one time-range query.
const LATEST_GAP_MICROS: i64 = 5 * 60 * 1_000_000;
/// At most this many time-range queries fetch the latest samples; more distant clusters are
/// merged (reading more rows) rather than planned one by one.
const LATEST_MAX_RANGES: usize = 64;

/// One table as DataFusion sees it: a snapshot of its Parquet files plus its buffered batches.
#[derive(Debug)]
struct LakeTable {
    table: Table,
    schema: SchemaRef,
    files: FileList,
    batches: Vec<RecordBatch>,
}

#[async_trait]
impl TableProvider for LakeTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let partitions = state.config().target_partitions().max(1);
        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        if !self.files.is_empty() {
            // Each file carries its `ts` and entity ranges as statistics, so the Parquet opener
            // skips files a filter excludes without reading them; filters reach the Parquet
            // source through DataFusion's filter pushdown and prune row groups and pages.
            let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new(); partitions];
            for (i, entry) in self.files.iter().enumerate() {
                let file = PartitionedFile::new(entry.path.to_string_lossy(), entry.size)
                    .with_statistics(Arc::new(file_statistics(entry, self.table, &self.schema)));
                groups[i % partitions].push(file);
            }
            let groups: Vec<FileGroup> = groups
                .into_iter()
                .filter(|g| !g.is_empty())
                .map(FileGroup::new)
                .collect();
            let source = ParquetSource::new(Arc::clone(&self.schema));
            let config =
                FileScanConfigBuilder::new(ObjectStoreUrl::local_filesystem(), Arc::new(source))
                    .with_file_groups(groups)
                    .with_projection_indices(projection.cloned())?
                    .with_limit(limit)
                    .build();
            // ParquetFormat wires in the session's Parquet options and the footer cache of the
            // shared runtime, so repeated queries do not re-read every footer.
            let format = ParquetFormat::new().with_options(state.table_options().parquet.clone());
            inputs.push(format.create_physical_plan(state, config).await?);
        }
        if !self.batches.is_empty() {
            let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
            for (i, batch) in self.batches.iter().enumerate() {
                parts[i % partitions].push(batch.clone());
            }
            parts.retain(|p| !p.is_empty());
            inputs.push(MemorySourceConfig::try_new_exec(
                &parts,
                Arc::clone(&self.schema),
                projection.cloned(),
            )?);
        }
        if inputs.is_empty() {
            let projected = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => Arc::clone(&self.schema),
            };
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        UnionExec::try_new(inputs)
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // Inexact: the filters are used for pruning, and DataFusion still applies them to every
        // row (in-memory batches are not filtered by the scan).
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }
}

/// What the lake knows about a file without opening it: rows, and the `ts` and entity ranges.
fn file_statistics(entry: &FileEntry, table: Table, schema: &SchemaRef) -> Statistics {
    let mut columns = vec![ColumnStatistics::new_unknown(); schema.fields().len()];
    if let (Some((lo, hi)), Ok(i)) = (entry.ts_range, schema.index_of(table.ts())) {
        let ts = |v| ScalarValue::TimestampMicrosecond(Some(v), Some(TZ.into()));
        columns[i] = ColumnStatistics::new_unknown()
            .with_min_value(Precision::Exact(ts(lo)))
            .with_max_value(Precision::Exact(ts(hi)))
            .with_null_count(Precision::Exact(0));
    }
    if let (Some((lo, hi)), Ok(i)) = (&entry.key_range, schema.index_of(table.key())) {
        columns[i] = ColumnStatistics::new_unknown()
            .with_min_value(Precision::Exact(ScalarValue::Utf8(Some(lo.clone()))))
            .with_max_value(Precision::Exact(ScalarValue::Utf8(Some(hi.clone()))))
            .with_null_count(Precision::Exact(0));
    }
    Statistics {
        num_rows: usize::try_from(entry.rows).map_or(Precision::Absent, Precision::Exact),
        total_byte_size: usize::try_from(entry.size).map_or(Precision::Absent, Precision::Inexact),
        column_statistics: columns,
    }
}

/// The `vehicles` table from the caller's registry.
fn vehicles_table(registry: &[VehicleInfo]) -> Result<MemTable, LakeError> {
    let text = |f: fn(&VehicleInfo) -> Option<&str>| -> Arc<dyn Array> {
        Arc::new(registry.iter().map(f).collect::<StringArray>())
    };
    let batch = RecordBatch::try_new(
        schema::vehicles_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(
                registry.iter().map(|v| v.vin.as_str()),
            )),
            text(|v| v.terminal_id.as_deref()),
            text(|v| v.owner_org.as_deref()),
            text(|v| v.category.as_deref()),
            text(|v| v.powertrain.as_deref()),
            text(|v| v.plate.as_deref()),
        ],
    )?;
    Ok(MemTable::try_new(
        schema::vehicles_schema(),
        vec![vec![batch]],
    )?)
}

/// The `alarms` table from the caller's list.
fn alarms_table(alarms: &[Alarm]) -> Result<MemTable, LakeError> {
    let text = |f: fn(&Alarm) -> Option<&str>| -> Arc<dyn Array> {
        Arc::new(alarms.iter().map(f).collect::<StringArray>())
    };
    let time = |f: fn(&Alarm) -> Option<Timestamp>| -> Arc<dyn Array> {
        Arc::new(
            alarms
                .iter()
                .map(|a| f(a).map(Timestamp::as_micros))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone(TZ),
        )
    };
    let batch = RecordBatch::try_new(
        schema::alarms_schema(),
        vec![
            Arc::new(alarms.iter().map(|a| a.alarm_id).collect::<Int64Array>()),
            text(|a| Some(&a.entity_id)),
            text(|a| Some(&a.kind)),
            Arc::new(alarms.iter().map(|a| a.level).collect::<UInt8Array>()),
            Arc::new(
                alarms
                    .iter()
                    .map(|a| Some(a.critical))
                    .collect::<BooleanArray>(),
            ),
            text(|a| Some(a.state.as_str())),
            time(|a| Some(a.opened_at)),
            time(|a| a.acked_at),
            text(|a| a.acked_by.as_deref()),
            text(|a| a.ack_comment.as_deref()),
            time(|a| a.closed_at),
            text(|a| Some(&a.source)),
            text(|a| Some(&a.detail)),
            text(|a| a.org.as_deref()),
        ],
    )?;
    Ok(MemTable::try_new(
        schema::alarms_schema(),
        vec![vec![batch]],
    )?)
}

/// The `stations` table from the caller's list.
fn stations_table(stations: &[StationRecord]) -> Result<MemTable, LakeError> {
    let text = |f: fn(&StationRecord) -> Option<&str>| -> Arc<dyn Array> {
        Arc::new(stations.iter().map(f).collect::<StringArray>())
    };
    let num = |f: fn(&StationRecord) -> Option<f64>| -> Arc<dyn Array> {
        Arc::new(stations.iter().map(f).collect::<Float64Array>())
    };
    let batch = RecordBatch::try_new(
        schema::stations_schema(),
        vec![
            text(|s| Some(&s.station.operator_id)),
            text(|s| Some(&s.station.station_id)),
            text(|s| Some(&s.station.name)),
            num(|s| s.station.lon),
            num(|s| s.station.lat),
            text(|s| s.station.district.as_deref()),
            Arc::new(
                stations
                    .iter()
                    .map(|s| Some(s.station.connectors))
                    .collect::<UInt32Array>(),
            ),
            num(|s| Some(s.station.rated_power_kw)),
            text(|s| Some(&s.station.source)),
            text(|s| s.org.as_deref()),
            Arc::new(
                stations
                    .iter()
                    .map(|s| Some(s.updated_at.as_micros()))
                    .collect::<TimestampMicrosecondArray>()
                    .with_timezone(TZ),
            ),
        ],
    )?;
    Ok(MemTable::try_new(
        schema::stations_schema(),
        vec![vec![batch]],
    )?)
}

/// The catalog's tables as one SQL statement sees them (DESIGN.md §4): the caller reads them from
/// the catalog (only those the statement names, if it likes) and passes them in.
#[derive(Debug, Default, Clone, Copy)]
pub struct CatalogTables<'a> {
    pub vehicles: &'a [VehicleInfo],
    pub alarms: &'a [Alarm],
    pub stations: &'a [StationRecord],
}

pub(super) fn ts_lit(ts: Timestamp) -> Expr {
    lit(ScalarValue::TimestampMicrosecond(
        Some(ts.as_micros()),
        Some(TZ.into()),
    ))
}

impl Lake {
    /// A DataFusion session over a snapshot, with `vehicles` when a registry is given.
    pub(super) fn session(
        &self,
        snapshot: Snapshot,
        registry: Option<&[VehicleInfo]>,
    ) -> Result<SessionContext, LakeError> {
        let mut config = SessionConfig::new()
            .with_target_partitions(self.options().query_threads)
            .with_information_schema(true);
        let parquet = &mut config.options_mut().execution.parquet;
        // Late materialisation: decode the wide columns (cell voltages) only for rows that pass
        // the filter on `vin`/`ts`, which is what a one-vehicle query needs.
        parquet.pushdown_filters = true;
        parquet.reorder_filters = true;
        // The lake writes no Bloom filters (sorted VINs prune by min/max); looking for them
        // costs a read per row group.
        parquet.bloom_filter_on_read = false;
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(Arc::clone(self.runtime()))
            .with_default_features()
            .build();
        let ctx = SessionContext::new_with_state(state);
        let Snapshot { files, batches } = snapshot;
        for ((table, files), batches) in Table::ALL.into_iter().zip(files).zip(batches) {
            let schema = match table {
                Table::Samples => schema::samples_schema(),
                Table::Fleet => schema::fleet_reports_schema(),
                Table::Positions => schema::positions_schema(),
                Table::Status => schema::connector_status_schema(),
                Table::Sessions => schema::charging_sessions_schema(),
            };
            ctx.register_table(
                table.name(),
                Arc::new(LakeTable {
                    table,
                    schema,
                    files,
                    batches,
                }),
            )?;
        }
        if let Some(registry) = registry {
            ctx.register_table("vehicles", Arc::new(vehicles_table(registry)?))?;
        }
        Ok(ctx)
    }

    /// Runs one read-only SQL statement over `vehicle_samples`, `fleet_reports`, `positions`,
    /// `connector_status`, `charging_sessions` (files and memory together), `vehicles` (from
    /// `registry`), `alarms` (from `alarms`) and an empty `stations`: [`Lake::sql_with`] with
    /// those tables.
    pub async fn sql(
        &self,
        sql: &str,
        registry: &[VehicleInfo],
        alarms: &[Alarm],
    ) -> Result<Vec<RecordBatch>, LakeError> {
        self.sql_with(
            sql,
            &CatalogTables {
                vehicles: registry,
                alarms,
                stations: &[],
            },
        )
        .await
    }

    /// Runs one read-only SQL statement over the lake's tables (`vehicle_samples`,
    /// `fleet_reports`, `positions`, `connector_status`, `charging_sessions`; files and memory
    /// together) and the catalog's `vehicles`, `alarms` and `stations` as the caller passes them.
    ///
    /// Anything but a query (DDL, DML, `COPY`, `SET`, transactions) is refused with
    /// [`LakeError::NotReadOnly`]; bad SQL gives [`LakeError::Query`] with DataFusion's message.
    pub async fn sql_with(
        &self,
        sql: &str,
        tables: &CatalogTables<'_>,
    ) -> Result<Vec<RecordBatch>, LakeError> {
        let ctx = self.session(self.snapshot()?, Some(tables.vehicles))?;
        ctx.register_table("alarms", Arc::new(alarms_table(tables.alarms)?))?;
        ctx.register_table("stations", Arc::new(stations_table(tables.stations)?))?;
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = ctx.sql_with_options(sql, options).await?;
        Ok(df.collect().await?)
    }

    pub(super) async fn table(&self, table: Table) -> Result<DataFrame, LakeError> {
        let ctx = self.session(self.snapshot()?, None)?;
        Ok(ctx.table(table.name()).await?)
    }

    /// A vehicle's samples with `from <= ts < to`, oldest first, at most `limit`.
    pub async fn samples(
        &self,
        vin: &str,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<VehicleSample>, LakeError> {
        let df = self
            .table(Table::Samples)
            .await?
            .filter(
                col("vin")
                    .eq(lit(vin))
                    .and(col("ts").gt_eq(ts_lit(from)))
                    .and(col("ts").lt(ts_lit(to))),
            )?
            .sort(vec![col("ts").sort(true, false)])?
            .limit(0, Some(limit))?;
        let mut out = Vec::new();
        for batch in df.collect().await? {
            out.extend(rows::samples_from_batch(&batch)?);
        }
        Ok(out)
    }

    /// A vehicle's positions with `from <= ts < to`, oldest first.
    pub async fn track(
        &self,
        vin: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<TrackPoint>, LakeError> {
        self.track_of(&[vin], from, to).await
    }

    /// The positions of any of `entity_ids` (a vehicle's VIN and its terminal id: a terminal's
    /// positions are keyed by its terminal id until the registry knows its VIN) with
    /// `from <= ts < to`, oldest first.
    pub async fn track_of(
        &self,
        entity_ids: &[&str],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<TrackPoint>, LakeError> {
        let df = self
            .table(Table::Positions)
            .await?
            .filter(
                one_of("entity_id", entity_ids)
                    .and(col("ts").gt_eq(ts_lit(from)))
                    .and(col("ts").lt(ts_lit(to))),
            )?
            .select_columns(&["ts", "lon", "lat", "speed_kmh"])?
            .sort(vec![col("ts").sort(true, false)])?;
        let mut out = Vec::new();
        for batch in df.collect().await? {
            out.extend(rows::track_from_batch(&batch)?);
        }
        Ok(out)
    }

    /// The newest sample (by `ts`) of every VIN in the lake, memory and files, ordered by VIN.
    ///
    /// Used at start-up to rebuild live state. It reads `vin` and `ts` of every row ever stored,
    /// then the full rows around the latest times only; with a long history prefer
    /// [`Lake::latest_per_vin_since`].
    pub async fn latest_per_vin(&self) -> Result<Vec<VehicleSample>, LakeError> {
        self.latest(None).await
    }

    /// Like [`Lake::latest_per_vin`] but only among samples with `ts >= since`, which prunes
    /// every older day partition.
    pub async fn latest_per_vin_since(
        &self,
        since: Timestamp,
    ) -> Result<Vec<VehicleSample>, LakeError> {
        self.latest(Some(since)).await
    }

    async fn latest(&self, since: Option<Timestamp>) -> Result<Vec<VehicleSample>, LakeError> {
        // One snapshot for both phases, so a flush in between cannot hide the rows found.
        let ctx = self.session(self.snapshot()?, None)?;
        let mut samples = ctx.table(Table::Samples.name()).await?;
        if let Some(since) = since {
            samples = samples.filter(col("ts").gt_eq(ts_lit(since)))?;
        }
        let newest = samples
            .clone()
            .aggregate(vec![col("vin")], vec![max(col("ts")).alias("ts")])?
            .collect()
            .await?;
        let mut latest: HashMap<String, i64> = HashMap::new();
        for batch in &newest {
            let vins = batch
                .column(0)
                .as_string_opt::<i32>()
                .ok_or_else(|| LakeError::Corrupt("vin is not Utf8".into()))?;
            let ts = batch
                .column(1)
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(|| LakeError::Corrupt("ts is not a timestamp".into()))?;
            for i in 0..batch.num_rows() {
                if ts.is_valid(i) {
                    latest.insert(vins.value(i).to_owned(), ts.value(i));
                }
            }
        }
        let mut found: HashMap<String, VehicleSample> = HashMap::with_capacity(latest.len());
        for (lo, hi) in time_ranges(latest.values().copied().collect()) {
            let batches = samples
                .clone()
                .filter(
                    col("ts")
                        .gt_eq(ts_lit(Timestamp::from_micros(lo)))
                        .and(col("ts").lt_eq(ts_lit(Timestamp::from_micros(hi)))),
                )?
                .collect()
                .await?;
            for batch in &batches {
                for sample in rows::samples_from_batch(batch)? {
                    if latest.get(sample.vin.as_str()) == Some(&sample.ts.as_micros()) {
                        found.insert(sample.vin.as_str().to_owned(), sample);
                    }
                }
            }
        }
        let mut out: Vec<VehicleSample> = found.into_values().collect();
        out.sort_by(|a, b| a.vin.cmp(&b.vin));
        Ok(out)
    }
}

/// `column = id` for one id, `column IN (ids)` for several (and never true for none).
pub(super) fn one_of(column: &str, ids: &[&str]) -> Expr {
    match ids {
        [] => lit(false),
        [id] => col(column).eq(lit(*id)),
        _ => col(column).in_list(ids.iter().map(|id| lit(*id)).collect(), false),
    }
}

/// Sorts points by time and keeps one per instant (a reissued copy of a report is the same
/// moment).
pub(super) fn by_time(mut points: Vec<drive::Point>) -> Vec<drive::Point> {
    points.sort_by_key(|p| p.ts);
    points.dedup_by_key(|p| p.ts);
    points
}

/// Covers `points` with at most `LATEST_MAX_RANGES` inclusive ranges, split at the widest gaps
/// (only gaps wider than `LATEST_GAP_MICROS`).
pub(super) fn time_ranges(mut points: Vec<i64>) -> Vec<(i64, i64)> {
    points.sort_unstable();
    points.dedup();
    let (Some(&first), Some(&last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    let mut gaps: Vec<(i64, usize)> = points
        .windows(2)
        .enumerate()
        .map(|(i, w)| (w[1] - w[0], i))
        .filter(|&(gap, _)| gap > LATEST_GAP_MICROS)
        .collect();
    gaps.sort_unstable_by(|a, b| b.cmp(a));
    gaps.truncate(LATEST_MAX_RANGES - 1);
    let mut splits: Vec<usize> = gaps.into_iter().map(|(_, i)| i).collect();
    splits.sort_unstable();
    let mut ranges = Vec::with_capacity(splits.len() + 1);
    let mut lo = first;
    for i in splits {
        ranges.push((lo, points[i]));
        lo = points[i + 1];
    }
    ranges.push((lo, last));
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ranges_split_at_the_widest_gaps() {
        assert_eq!(time_ranges(vec![]), vec![]);
        assert_eq!(time_ranges(vec![5, 1, 3]), vec![(1, 5)]);
        let m = LATEST_GAP_MICROS;
        assert_eq!(
            time_ranges(vec![0, 10, 10 + 2 * m, 20 + 2 * m, 100 * m]),
            vec![(0, 10), (10 + 2 * m, 20 + 2 * m), (100 * m, 100 * m)]
        );
        // Never more than the maximum, however scattered the points.
        let scattered: Vec<i64> = (0..1000).map(|i| i * 3 * m).collect();
        let ranges = time_ranges(scattered);
        assert_eq!(ranges.len(), LATEST_MAX_RANGES);
        assert_eq!(ranges.first().map(|r| r.0), Some(0));
        assert_eq!(ranges.last().map(|r| r.1), Some(999 * 3 * m));
    }
}
