//! `fleet_reports` rows to Arrow and back: the column builders that buffer inserted JT/T 808
//! location reports, the `positions` rows derived from them, and the typed rows the API reads.
//!
//! A fleet report is a small, fixed set of scalars (no lists), so plain Arrow builders are fast
//! enough here; the hand-rolled buffers of `buffer.rs` exist for the wide GB/T 32960 rows.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBuilder, Float64Array, Float64Builder, RecordBatch,
    StringArray, StringBuilder, TimestampMicrosecondArray, UInt32Array, UInt32Builder,
};
use arrow::buffer::ScalarBuffer;
use model::{FleetReport, Timestamp};

use super::LakeError;
use super::rows::column;
use super::schema;

/// Estimated bytes a buffered row takes besides its strings, for `buffered_bytes` before the
/// batch is sealed and measured exactly.
const ROW_OVERHEAD: usize = 120;

/// The entity id of a fleet report: the VIN when the registry knows the terminal's vehicle, else
/// the terminal id. `positions.entity_id` and live state's keys follow this one rule.
pub fn entity_id(report: &FleetReport) -> &str {
    report.vin.as_deref().unwrap_or(&report.terminal_id)
}

/// Whether a report's position goes into `positions`: the terminal says the fix is valid and the
/// coordinates are real ones (a terminal without a fix often sends 0/0 or garbage with the flag
/// cleared, and occasionally with it set).
pub(crate) fn has_valid_position(valid: bool, lon: f64, lat: f64) -> bool {
    valid
        && lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat)
        && !(lon == 0.0 && lat == 0.0)
}

/// Column buffers for `fleet_reports` rows that are not sealed into a batch yet.
#[derive(Debug)]
pub(crate) struct FleetBuilder {
    terminal_id: StringBuilder,
    vin: StringBuilder,
    ts: Vec<i64>,
    received_at: Vec<i64>,
    source: StringBuilder,
    reissue: BooleanBuilder,
    lon: Float64Builder,
    lat: Float64Builder,
    speed_kmh: Float64Builder,
    heading_deg: Float64Builder,
    alt_m: Float64Builder,
    alarm_bits: UInt32Builder,
    status_bits: UInt32Builder,
    acc_on: BooleanBuilder,
    position_valid: BooleanBuilder,
    mileage_km: Float64Builder,
    fuel_l: Float64Builder,
    recorder_speed_kmh: Float64Builder,
    rows: usize,
    estimated_bytes: usize,
    oldest_received: Option<i64>,
}

impl FleetBuilder {
    pub(crate) fn new(rows: usize) -> Self {
        let num = || Float64Builder::with_capacity(rows);
        let flag = || BooleanBuilder::with_capacity(rows);
        FleetBuilder {
            terminal_id: StringBuilder::with_capacity(rows, rows * 12),
            vin: StringBuilder::with_capacity(rows, rows * 17),
            ts: Vec::with_capacity(rows),
            received_at: Vec::with_capacity(rows),
            source: StringBuilder::with_capacity(rows, rows * 10),
            reissue: flag(),
            lon: num(),
            lat: num(),
            speed_kmh: num(),
            heading_deg: num(),
            alt_m: num(),
            alarm_bits: UInt32Builder::with_capacity(rows),
            status_bits: UInt32Builder::with_capacity(rows),
            acc_on: flag(),
            position_valid: flag(),
            mileage_km: num(),
            fuel_l: num(),
            recorder_speed_kmh: num(),
            rows: 0,
            estimated_bytes: 0,
            oldest_received: None,
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn estimated_bytes(&self) -> usize {
        self.estimated_bytes
    }

    pub(crate) fn oldest_received(&self) -> Option<i64> {
        self.oldest_received
    }

    pub(crate) fn append(&mut self, r: &FleetReport) {
        self.terminal_id.append_value(&r.terminal_id);
        self.vin.append_option(r.vin.as_deref());
        self.ts.push(r.ts.as_micros());
        let received = r.received_at.as_micros();
        self.received_at.push(received);
        self.oldest_received = Some(self.oldest_received.map_or(received, |o| o.min(received)));
        self.source.append_value(&r.source);
        self.reissue.append_value(r.reissue);
        self.lon.append_value(r.lon);
        self.lat.append_value(r.lat);
        self.speed_kmh.append_value(r.speed_kmh);
        self.heading_deg.append_value(r.heading_deg);
        self.alt_m.append_value(r.alt_m);
        self.alarm_bits.append_value(r.alarm_bits);
        self.status_bits.append_value(r.status_bits);
        self.acc_on.append_value(r.acc_on);
        self.position_valid.append_value(r.position_valid);
        self.mileage_km.append_option(r.mileage_km);
        self.fuel_l.append_option(r.fuel_l);
        self.recorder_speed_kmh.append_option(r.recorder_speed_kmh);
        self.rows += 1;
        self.estimated_bytes += ROW_OVERHEAD
            + r.terminal_id.len()
            + r.vin.as_ref().map_or(0, String::len)
            + r.source.len();
    }

    /// A copy of the buffered rows as a `fleet_reports` batch, leaving the builder as it is.
    pub(crate) fn snapshot(&self) -> Result<RecordBatch, LakeError> {
        let ts = |v: &[i64]| -> ArrayRef {
            Arc::new(
                TimestampMicrosecondArray::new(ScalarBuffer::from(v.to_vec()), None)
                    .with_timezone(schema::TZ),
            )
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.terminal_id.finish_cloned()),
            Arc::new(self.vin.finish_cloned()),
            ts(&self.ts),
            ts(&self.received_at),
            Arc::new(self.source.finish_cloned()),
            Arc::new(self.reissue.finish_cloned()),
            Arc::new(self.lon.finish_cloned()),
            Arc::new(self.lat.finish_cloned()),
            Arc::new(self.speed_kmh.finish_cloned()),
            Arc::new(self.heading_deg.finish_cloned()),
            Arc::new(self.alt_m.finish_cloned()),
            Arc::new(self.alarm_bits.finish_cloned()),
            Arc::new(self.status_bits.finish_cloned()),
            Arc::new(self.acc_on.finish_cloned()),
            Arc::new(self.position_valid.finish_cloned()),
            Arc::new(self.mileage_km.finish_cloned()),
            Arc::new(self.fuel_l.finish_cloned()),
            Arc::new(self.recorder_speed_kmh.finish_cloned()),
        ];
        Ok(RecordBatch::try_new(
            schema::fleet_reports_schema(),
            columns,
        )?)
    }

    /// Turns the buffered rows into a `fleet_reports` batch and leaves the builder empty.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, LakeError> {
        let ts = |v: &mut Vec<i64>| -> ArrayRef {
            Arc::new(
                TimestampMicrosecondArray::new(ScalarBuffer::from(std::mem::take(v)), None)
                    .with_timezone(schema::TZ),
            )
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.terminal_id.finish()),
            Arc::new(self.vin.finish()),
            ts(&mut self.ts),
            ts(&mut self.received_at),
            Arc::new(self.source.finish()),
            Arc::new(self.reissue.finish()),
            Arc::new(self.lon.finish()),
            Arc::new(self.lat.finish()),
            Arc::new(self.speed_kmh.finish()),
            Arc::new(self.heading_deg.finish()),
            Arc::new(self.alt_m.finish()),
            Arc::new(self.alarm_bits.finish()),
            Arc::new(self.status_bits.finish()),
            Arc::new(self.acc_on.finish()),
            Arc::new(self.position_valid.finish()),
            Arc::new(self.mileage_km.finish()),
            Arc::new(self.fuel_l.finish()),
            Arc::new(self.recorder_speed_kmh.finish()),
        ];
        self.rows = 0;
        self.estimated_bytes = 0;
        self.oldest_received = None;
        Ok(RecordBatch::try_new(
            schema::fleet_reports_schema(),
            columns,
        )?)
    }
}

/// The `positions` rows of a `fleet_reports` batch: the reports with a valid position, keyed by
/// VIN when known, else by terminal id.
pub(crate) fn positions_of(reports: &RecordBatch) -> Result<RecordBatch, LakeError> {
    let terminal_id: &StringArray = column(reports, "terminal_id")?;
    let vin: &StringArray = column(reports, "vin")?;
    let ts: &TimestampMicrosecondArray = column(reports, "ts")?;
    let source: &StringArray = column(reports, "source")?;
    let lon: &Float64Array = column(reports, "lon")?;
    let lat: &Float64Array = column(reports, "lat")?;
    let speed: &Float64Array = column(reports, "speed_kmh")?;
    let heading: &Float64Array = column(reports, "heading_deg")?;
    let alt: &Float64Array = column(reports, "alt_m")?;
    let valid: &BooleanArray = column(reports, "position_valid")?;

    let n = reports.num_rows();
    let mut entity = StringBuilder::with_capacity(n, n * 17);
    let mut times = Vec::with_capacity(n);
    let mut sources = StringBuilder::with_capacity(n, n * 10);
    let mut nums: [Vec<f64>; 5] = std::array::from_fn(|_| Vec::with_capacity(n));
    for i in 0..n {
        if !has_valid_position(valid.value(i), lon.value(i), lat.value(i)) {
            continue;
        }
        // `entity_id` on a row.
        let id = if vin.is_valid(i) {
            vin.value(i)
        } else {
            terminal_id.value(i)
        };
        entity.append_value(id);
        times.push(ts.value(i));
        sources.append_value(source.value(i));
        for (out, col) in nums.iter_mut().zip([lon, lat, speed, heading, alt]) {
            out.push(col.value(i));
        }
    }
    let [lon, lat, speed, heading, alt] = nums;
    let f64s = |v: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(v)) };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(entity.finish()),
        Arc::new(
            TimestampMicrosecondArray::new(ScalarBuffer::from(times), None)
                .with_timezone(schema::TZ),
        ),
        Arc::new(sources.finish()),
        f64s(lon),
        f64s(lat),
        f64s(speed),
        f64s(heading),
        f64s(alt),
    ];
    Ok(RecordBatch::try_new(schema::positions_schema(), columns)?)
}

/// Every row of a batch with the `fleet_reports` columns (any order, extra columns ignored).
pub(crate) fn reports_from_batch(batch: &RecordBatch) -> Result<Vec<FleetReport>, LakeError> {
    let terminal_id: &StringArray = column(batch, "terminal_id")?;
    let vin: &StringArray = column(batch, "vin")?;
    let ts: &TimestampMicrosecondArray = column(batch, "ts")?;
    let received_at: &TimestampMicrosecondArray = column(batch, "received_at")?;
    let source: &StringArray = column(batch, "source")?;
    let reissue: &BooleanArray = column(batch, "reissue")?;
    let lon: &Float64Array = column(batch, "lon")?;
    let lat: &Float64Array = column(batch, "lat")?;
    let speed_kmh: &Float64Array = column(batch, "speed_kmh")?;
    let heading_deg: &Float64Array = column(batch, "heading_deg")?;
    let alt_m: &Float64Array = column(batch, "alt_m")?;
    let alarm_bits: &UInt32Array = column(batch, "alarm_bits")?;
    let status_bits: &UInt32Array = column(batch, "status_bits")?;
    let acc_on: &BooleanArray = column(batch, "acc_on")?;
    let position_valid: &BooleanArray = column(batch, "position_valid")?;
    let mileage_km: &Float64Array = column(batch, "mileage_km")?;
    let fuel_l: &Float64Array = column(batch, "fuel_l")?;
    let recorder_speed_kmh: &Float64Array = column(batch, "recorder_speed_kmh")?;
    let opt = |a: &Float64Array, i: usize| a.is_valid(i).then(|| a.value(i));
    Ok((0..batch.num_rows())
        .map(|i| FleetReport {
            terminal_id: terminal_id.value(i).to_owned(),
            vin: vin.is_valid(i).then(|| vin.value(i).to_owned()),
            ts: Timestamp::from_micros(ts.value(i)),
            received_at: Timestamp::from_micros(received_at.value(i)),
            source: source.value(i).to_owned(),
            reissue: reissue.value(i),
            lon: lon.value(i),
            lat: lat.value(i),
            speed_kmh: speed_kmh.value(i),
            heading_deg: heading_deg.value(i),
            alt_m: alt_m.value(i),
            alarm_bits: alarm_bits.value(i),
            status_bits: status_bits.value(i),
            acc_on: acc_on.value(i),
            position_valid: position_valid.value(i),
            mileage_km: opt(mileage_km, i),
            fuel_l: opt(fuel_l, i),
            recorder_speed_kmh: opt(recorder_speed_kmh, i),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_fixes_are_positions() {
        assert!(has_valid_position(true, 117.2, 39.1));
        assert!(!has_valid_position(false, 117.2, 39.1), "flag cleared");
        assert!(!has_valid_position(true, 0.0, 0.0), "no fix");
        assert!(!has_valid_position(true, 190.0, 39.1));
        assert!(!has_valid_position(true, 117.2, f64::NAN));
        assert!(has_valid_position(true, -70.5, -33.4), "west and south");
    }
}
