//! Typed queries over `fleet_reports` and across tables: a vehicle's fleet reports, the latest
//! report of every terminal (live state at start-up), the timeline that trips and mileage are
//! computed from (`crate::drive`), and the vehicles active in a period (the fleet KPI).

use std::collections::{BTreeSet, HashMap};

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, TimestampMicrosecondType};
use datafusion::functions_aggregate::expr_fn::max;
use datafusion::logical_expr::{col, lit};
use model::{FleetReport, Timestamp};

use super::files::Table;
use super::fleet::{self, has_valid_position};
use super::query::{by_time, one_of, time_ranges, ts_lit};
use super::rows::column;
use super::{Lake, LakeError};
use crate::drive::{self, DayMileage, Point, Trip};

/// The reports trips and mileage are computed from: one vehicle's timeline from one table.
#[derive(Debug, Clone, PartialEq)]
pub struct DriveData {
    /// `fleet_reports` or `vehicle_samples`; `None` when neither had a row.
    pub table: Option<&'static str>,
    /// Sorted by time, one per instant.
    pub points: Vec<Point>,
}

impl DriveData {
    /// The trips of the timeline (see `crate::drive`).
    pub fn trips(&self) -> Vec<Trip> {
        drive::trips(&self.points)
    }

    /// Distance per Beijing calendar day of `[from, to)`, with the trips started each day.
    pub fn daily_mileage(&self, from: Timestamp, to: Timestamp) -> Vec<DayMileage> {
        drive::daily_mileage(&self.points, &self.trips(), from, to)
    }
}

impl Lake {
    /// The fleet reports of a vehicle (any of `ids` as terminal id or VIN) with
    /// `from <= ts < to`, oldest first, at most `limit`; reissued reports included.
    pub async fn fleet_reports(
        &self,
        ids: &[&str],
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<FleetReport>, LakeError> {
        let df = self
            .table(Table::Fleet)
            .await?
            .filter(
                one_of("terminal_id", ids)
                    .or(one_of("vin", ids))
                    .and(col("ts").gt_eq(ts_lit(from)))
                    .and(col("ts").lt(ts_lit(to))),
            )?
            .sort(vec![col("ts").sort(true, false)])?
            .limit(0, Some(limit))?;
        let mut out = Vec::new();
        for batch in df.collect().await? {
            out.extend(fleet::reports_from_batch(&batch)?);
        }
        Ok(out)
    }

    /// The newest live (not reissued) report of every terminal with `ts >= since`, ordered by
    /// terminal id: what live state is rebuilt from at start-up. Reissued reports are history
    /// and never a vehicle's current state.
    pub async fn latest_fleet_since(
        &self,
        since: Timestamp,
    ) -> Result<Vec<FleetReport>, LakeError> {
        // One snapshot for both phases, so a flush in between cannot hide the rows found.
        let ctx = self.session(self.snapshot()?, None)?;
        let reports = ctx.table(Table::Fleet.name()).await?.filter(
            col("reissue")
                .eq(lit(false))
                .and(col("ts").gt_eq(ts_lit(since))),
        )?;
        let newest = reports
            .clone()
            .aggregate(vec![col("terminal_id")], vec![max(col("ts")).alias("ts")])?
            .collect()
            .await?;
        let mut latest: HashMap<String, i64> = HashMap::new();
        for batch in &newest {
            let ids = strings(batch.column(0))?;
            let ts = batch
                .column(1)
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(|| LakeError::Corrupt("ts is not a timestamp".into()))?;
            for (i, id) in ids.into_iter().enumerate() {
                if let (Some(id), true) = (id, ts.is_valid(i)) {
                    latest.insert(id, ts.value(i));
                }
            }
        }
        let mut found: HashMap<String, FleetReport> = HashMap::with_capacity(latest.len());
        for (lo, hi) in time_ranges(latest.values().copied().collect()) {
            let batches = reports
                .clone()
                .filter(
                    col("ts")
                        .gt_eq(ts_lit(Timestamp::from_micros(lo)))
                        .and(col("ts").lt_eq(ts_lit(Timestamp::from_micros(hi)))),
                )?
                .collect()
                .await?;
            for batch in &batches {
                for report in fleet::reports_from_batch(batch)? {
                    if latest.get(&report.terminal_id) == Some(&report.ts.as_micros()) {
                        found.insert(report.terminal_id.clone(), report);
                    }
                }
            }
        }
        let mut out: Vec<FleetReport> = found.into_values().collect();
        out.sort_by(|a, b| a.terminal_id.cmp(&b.terminal_id));
        Ok(out)
    }

    /// One vehicle's timeline with `from <= ts < to` for trips and mileage: from
    /// `fleet_reports` (any of `ids` as terminal id or VIN) when it has rows there, else from
    /// `vehicle_samples` (any of `ids` as VIN). Reissued rows are history and count; a report
    /// and its reissued copy are one point.
    pub async fn drive_data(
        &self,
        ids: &[&str],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<DriveData, LakeError> {
        let ctx = self.session(self.snapshot()?, None)?;
        let range = col("ts").gt_eq(ts_lit(from)).and(col("ts").lt(ts_lit(to)));
        let batches = ctx
            .table(Table::Fleet.name())
            .await?
            .filter(
                one_of("terminal_id", ids)
                    .or(one_of("vin", ids))
                    .and(range.clone()),
            )?
            .select_columns(&[
                "ts",
                "acc_on",
                "speed_kmh",
                "mileage_km",
                "lon",
                "lat",
                "position_valid",
            ])?
            .collect()
            .await?;
        let mut points = Vec::new();
        for batch in &batches {
            points.extend(fleet_points(batch)?);
        }
        if !points.is_empty() {
            return Ok(DriveData {
                table: Some(Table::Fleet.name()),
                points: by_time(points),
            });
        }
        let batches = ctx
            .table(Table::Samples.name())
            .await?
            .filter(one_of("vin", ids).and(range))?
            .select_columns(&[
                "ts",
                "vehicle_status",
                "speed_kmh",
                "odometer_km",
                "lon",
                "lat",
                "position_valid",
            ])?
            .collect()
            .await?;
        for batch in &batches {
            points.extend(sample_points(batch)?);
        }
        Ok(DriveData {
            table: (!points.is_empty()).then_some(Table::Samples.name()),
            points: by_time(points),
        })
    }

    /// Every entity with a `vehicle_samples` or `fleet_reports` row with `from <= ts < to`: VINs,
    /// and the terminal ids (and known VINs) of fleet terminals.
    pub async fn active_entities(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<BTreeSet<String>, LakeError> {
        let ctx = self.session(self.snapshot()?, None)?;
        let range = col("ts").gt_eq(ts_lit(from)).and(col("ts").lt(ts_lit(to)));
        let mut out = BTreeSet::new();
        let vins = ctx
            .table(Table::Samples.name())
            .await?
            .filter(range.clone())?
            .aggregate(vec![col("vin")], vec![])?
            .collect()
            .await?;
        let terminals = ctx
            .table(Table::Fleet.name())
            .await?
            .filter(range)?
            .aggregate(vec![col("terminal_id"), col("vin")], vec![])?
            .collect()
            .await?;
        for batch in vins.iter().chain(&terminals) {
            for c in batch.columns() {
                out.extend(strings(c)?.into_iter().flatten());
            }
        }
        Ok(out)
    }
}

/// A string column of a query result, whatever string type the engine chose.
fn strings(array: &ArrayRef) -> Result<Vec<Option<String>>, LakeError> {
    let utf8 = arrow::compute::cast(array, &DataType::Utf8)?;
    let a = utf8
        .as_string_opt::<i32>()
        .ok_or_else(|| LakeError::Corrupt("expected a string column".into()))?;
    Ok(a.iter().map(|v| v.map(str::to_owned)).collect())
}

fn position(valid: Option<bool>, lon: Option<f64>, lat: Option<f64>) -> Option<(f64, f64)> {
    match (valid, lon, lat) {
        (Some(false), _, _) => None,
        (_, Some(lon), Some(lat)) if has_valid_position(true, lon, lat) => Some((lon, lat)),
        _ => None,
    }
}

fn opt_f64(a: &Float64Array, i: usize) -> Option<f64> {
    a.is_valid(i).then(|| a.value(i))
}

fn opt_bool(a: &BooleanArray, i: usize) -> Option<bool> {
    a.is_valid(i).then(|| a.value(i))
}

/// Timeline points of `fleet_reports` rows.
fn fleet_points(batch: &RecordBatch) -> Result<Vec<Point>, LakeError> {
    let ts: &TimestampMicrosecondArray = column(batch, "ts")?;
    let acc_on: &BooleanArray = column(batch, "acc_on")?;
    let speed: &Float64Array = column(batch, "speed_kmh")?;
    let mileage: &Float64Array = column(batch, "mileage_km")?;
    let lon: &Float64Array = column(batch, "lon")?;
    let lat: &Float64Array = column(batch, "lat")?;
    let valid: &BooleanArray = column(batch, "position_valid")?;
    Ok((0..batch.num_rows())
        .map(|i| Point {
            ts: Timestamp::from_micros(ts.value(i)),
            ignition: opt_bool(acc_on, i),
            speed_kmh: opt_f64(speed, i),
            odometer_km: opt_f64(mileage, i),
            position: position(opt_bool(valid, i), opt_f64(lon, i), opt_f64(lat, i)),
        })
        .collect())
}

/// Timeline points of `vehicle_samples` rows: the ignition is the vehicle status (`started`
/// on, `stopped` off, `other` unknown).
fn sample_points(batch: &RecordBatch) -> Result<Vec<Point>, LakeError> {
    let ts: &TimestampMicrosecondArray = column(batch, "ts")?;
    let status: &StringArray = column(batch, "vehicle_status")?;
    let speed: &Float64Array = column(batch, "speed_kmh")?;
    let odometer: &Float64Array = column(batch, "odometer_km")?;
    let lon: &Float64Array = column(batch, "lon")?;
    let lat: &Float64Array = column(batch, "lat")?;
    let valid: &BooleanArray = column(batch, "position_valid")?;
    Ok((0..batch.num_rows())
        .map(|i| Point {
            ts: Timestamp::from_micros(ts.value(i)),
            ignition: match status.is_valid(i).then(|| status.value(i)) {
                Some("started") => Some(true),
                Some("stopped") => Some(false),
                _ => None,
            },
            speed_kmh: opt_f64(speed, i),
            odometer_km: opt_f64(odometer, i),
            position: position(opt_bool(valid, i), opt_f64(lon, i), opt_f64(lat, i)),
        })
        .collect())
}
