//! Rows to Arrow: the column builders that buffer inserted samples, and the `positions` rows
//! derived from them.
//!
//! Insertion is on the ingest path (the target is 100 000 rows/s with ~128 list items each), so
//! the builder appends straight into typed column buffers: no per-row allocation, no dynamic
//! dispatch, and list columns kept as one value buffer plus offsets instead of Arrow's generic
//! `ListBuilder`/`StructBuilder`.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanArray, BooleanBuilder, Float64Builder, ListArray, StringBuilder,
    StructArray, TimestampMicrosecondArray, UInt8Builder, UInt32Builder, UInt64Array,
    new_null_array,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::compute::{and, filter_record_batch, is_not_null};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use model::VehicleSample;

use super::LakeError;
use super::schema::{self, col};

/// Estimated bytes a row takes in the builders besides its strings and list items; used for
/// `buffered_bytes` before the batch is sealed and measured exactly.
const ROW_OVERHEAD: usize = 200;

/// Column buffers for `vehicle_samples` rows that are not sealed into a batch yet.
#[derive(Debug)]
pub(crate) struct SampleBuilder {
    vin: StringBuilder,
    ts: Vec<i64>,
    received_at: Vec<i64>,
    source: StringBuilder,
    reissue: Vec<bool>,
    vehicle_status: StringBuilder,
    charging_status: StringBuilder,
    run_mode: StringBuilder,
    speed_kmh: Float64Builder,
    odometer_km: Float64Builder,
    total_voltage_v: Float64Builder,
    total_current_a: Float64Builder,
    soc_pct: Float64Builder,
    insulation_kohm: Float64Builder,
    gear: StringBuilder,
    lon: Float64Builder,
    lat: Float64Builder,
    position_valid: BooleanBuilder,
    coord_system: StringBuilder,
    max_cell_voltage_v: Float64Builder,
    min_cell_voltage_v: Float64Builder,
    max_temp_c: Float64Builder,
    min_temp_c: Float64Builder,
    alarm_level: UInt8Builder,
    alarm_flags: UInt32Builder,
    cells: F64ListBuilder,
    probes: F64ListBuilder,
    motors: MotorListBuilder,
    quality: Vec<u64>,
    rows: usize,
    estimated_bytes: usize,
    /// The smallest `received_at` among the rows, for the flush interval.
    oldest_received: Option<i64>,
}

impl SampleBuilder {
    pub(crate) fn new(rows: usize, cells: usize, probes: usize) -> Self {
        let text = || StringBuilder::with_capacity(rows, rows * 8);
        let num = || Float64Builder::with_capacity(rows);
        SampleBuilder {
            vin: StringBuilder::with_capacity(rows, rows * 17),
            ts: Vec::with_capacity(rows),
            received_at: Vec::with_capacity(rows),
            source: StringBuilder::with_capacity(rows, rows * 13),
            reissue: Vec::with_capacity(rows),
            vehicle_status: text(),
            charging_status: text(),
            run_mode: text(),
            speed_kmh: num(),
            odometer_km: num(),
            total_voltage_v: num(),
            total_current_a: num(),
            soc_pct: num(),
            insulation_kohm: num(),
            gear: text(),
            lon: num(),
            lat: num(),
            position_valid: BooleanBuilder::with_capacity(rows),
            coord_system: text(),
            max_cell_voltage_v: num(),
            min_cell_voltage_v: num(),
            max_temp_c: num(),
            min_temp_c: num(),
            alarm_level: UInt8Builder::with_capacity(rows),
            alarm_flags: UInt32Builder::with_capacity(rows),
            cells: F64ListBuilder::new(rows, cells),
            probes: F64ListBuilder::new(rows, probes),
            motors: MotorListBuilder::new(rows),
            quality: Vec::with_capacity(rows),
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

    /// A new builder with room for `rows` rows shaped like the ones in this builder, so that
    /// filling it does not reallocate.
    pub(crate) fn successor(&self, rows: usize) -> SampleBuilder {
        let per_row = |items: usize| items.checked_div(self.rows).unwrap_or(0);
        SampleBuilder::new(
            rows,
            rows * per_row(self.cells.values.len()),
            rows * per_row(self.probes.values.len()),
        )
    }

    pub(crate) fn append(&mut self, s: &VehicleSample) {
        self.vin.append_value(s.vin.as_str());
        self.ts.push(s.ts.as_micros());
        let received = s.received_at.as_micros();
        self.received_at.push(received);
        self.oldest_received = Some(self.oldest_received.map_or(received, |o| o.min(received)));
        self.source.append_value(&s.source);
        self.reissue.push(s.reissue);
        self.vehicle_status
            .append_option(s.vehicle_status.as_deref());
        self.charging_status
            .append_option(s.charging_status.as_deref());
        self.run_mode.append_option(s.run_mode.as_deref());
        self.speed_kmh.append_option(s.speed_kmh);
        self.odometer_km.append_option(s.odometer_km);
        self.total_voltage_v.append_option(s.total_voltage_v);
        self.total_current_a.append_option(s.total_current_a);
        self.soc_pct.append_option(s.soc_pct);
        self.insulation_kohm.append_option(s.insulation_kohm);
        self.gear.append_option(s.gear.as_deref());
        self.lon.append_option(s.lon);
        self.lat.append_option(s.lat);
        self.position_valid.append_option(s.position_valid);
        self.coord_system.append_option(s.coord_system.as_deref());
        self.max_cell_voltage_v.append_option(s.max_cell_voltage_v);
        self.min_cell_voltage_v.append_option(s.min_cell_voltage_v);
        self.max_temp_c.append_option(s.max_temp_c);
        self.min_temp_c.append_option(s.min_temp_c);
        self.alarm_level.append_option(s.alarm_level);
        self.alarm_flags.append_option(s.alarm_flags);
        self.cells.append(&s.cell_voltages_v);
        self.probes.append(&s.probe_temps_c);
        self.motors.append(&s.motors);
        self.quality.push(s.quality);
        self.rows += 1;
        let text_len = |t: &Option<String>| t.as_ref().map_or(0, String::len);
        self.estimated_bytes += ROW_OVERHEAD
            + s.vin.as_str().len()
            + s.source.len()
            + text_len(&s.vehicle_status)
            + text_len(&s.charging_status)
            + text_len(&s.run_mode)
            + text_len(&s.gear)
            + 9 * (s.cell_voltages_v.len() + s.probe_temps_c.len())
            + 80 * s.motors.len();
    }

    /// A copy of the buffered rows as a `vehicle_samples` batch, leaving the builder as it is.
    ///
    /// Queries use this for the rows not sealed yet: copying at most one batch's rows costs
    /// less than sealing a small batch for every query, which would fill the buffer with
    /// half-empty allocations.
    pub(crate) fn snapshot(&self) -> Result<RecordBatch, LakeError> {
        let ts = |v: &[i64]| -> ArrayRef {
            Arc::new(
                TimestampMicrosecondArray::new(ScalarBuffer::from(v.to_vec()), None)
                    .with_timezone(schema::TZ),
            )
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.vin.finish_cloned()),
            ts(&self.ts),
            ts(&self.received_at),
            Arc::new(self.source.finish_cloned()),
            Arc::new(BooleanArray::from(self.reissue.clone())),
            Arc::new(self.vehicle_status.finish_cloned()),
            Arc::new(self.charging_status.finish_cloned()),
            Arc::new(self.run_mode.finish_cloned()),
            Arc::new(self.speed_kmh.finish_cloned()),
            Arc::new(self.odometer_km.finish_cloned()),
            Arc::new(self.total_voltage_v.finish_cloned()),
            Arc::new(self.total_current_a.finish_cloned()),
            Arc::new(self.soc_pct.finish_cloned()),
            Arc::new(self.insulation_kohm.finish_cloned()),
            Arc::new(self.gear.finish_cloned()),
            Arc::new(self.lon.finish_cloned()),
            Arc::new(self.lat.finish_cloned()),
            Arc::new(self.position_valid.finish_cloned()),
            Arc::new(self.coord_system.finish_cloned()),
            Arc::new(self.max_cell_voltage_v.finish_cloned()),
            Arc::new(self.min_cell_voltage_v.finish_cloned()),
            Arc::new(self.max_temp_c.finish_cloned()),
            Arc::new(self.min_temp_c.finish_cloned()),
            Arc::new(self.alarm_level.finish_cloned()),
            Arc::new(self.alarm_flags.finish_cloned()),
            Arc::new(self.cells.finish_cloned()?),
            Arc::new(self.probes.finish_cloned()?),
            Arc::new(self.motors.finish_cloned()?),
            Arc::new(UInt64Array::new(
                ScalarBuffer::from(self.quality.clone()),
                None,
            )),
        ];
        Ok(RecordBatch::try_new(schema::samples_schema(), columns)?)
    }

    /// Turns the buffered rows into a `vehicle_samples` batch and leaves the builder empty.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, LakeError> {
        let ts = |v: &mut Vec<i64>| -> ArrayRef {
            Arc::new(
                TimestampMicrosecondArray::new(ScalarBuffer::from(std::mem::take(v)), None)
                    .with_timezone(schema::TZ),
            )
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.vin.finish()),
            ts(&mut self.ts),
            ts(&mut self.received_at),
            Arc::new(self.source.finish()),
            Arc::new(BooleanArray::from(std::mem::take(&mut self.reissue))),
            Arc::new(self.vehicle_status.finish()),
            Arc::new(self.charging_status.finish()),
            Arc::new(self.run_mode.finish()),
            Arc::new(self.speed_kmh.finish()),
            Arc::new(self.odometer_km.finish()),
            Arc::new(self.total_voltage_v.finish()),
            Arc::new(self.total_current_a.finish()),
            Arc::new(self.soc_pct.finish()),
            Arc::new(self.insulation_kohm.finish()),
            Arc::new(self.gear.finish()),
            Arc::new(self.lon.finish()),
            Arc::new(self.lat.finish()),
            Arc::new(self.position_valid.finish()),
            Arc::new(self.coord_system.finish()),
            Arc::new(self.max_cell_voltage_v.finish()),
            Arc::new(self.min_cell_voltage_v.finish()),
            Arc::new(self.max_temp_c.finish()),
            Arc::new(self.min_temp_c.finish()),
            Arc::new(self.alarm_level.finish()),
            Arc::new(self.alarm_flags.finish()),
            Arc::new(self.cells.finish()?),
            Arc::new(self.probes.finish()?),
            Arc::new(self.motors.finish()?),
            Arc::new(UInt64Array::new(
                ScalarBuffer::from(std::mem::take(&mut self.quality)),
                None,
            )),
        ];
        self.rows = 0;
        self.estimated_bytes = 0;
        self.oldest_received = None;
        Ok(RecordBatch::try_new(schema::samples_schema(), columns)?)
    }
}

/// A `List<Float64>` column with nullable items, built as one value buffer plus offsets.
#[derive(Debug)]
struct F64ListBuilder {
    values: Float64Builder,
    offsets: Vec<i32>,
}

impl F64ListBuilder {
    fn new(rows: usize, items: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        F64ListBuilder {
            values: Float64Builder::with_capacity(items),
            offsets,
        }
    }

    fn append(&mut self, items: &[Option<f64>]) {
        self.values.extend(items.iter().copied());
        // A batch is sealed long before 2^31 items; the conversion cannot fail in practice,
        // and saturating keeps a bug from panicking on the ingest path (finish() then refuses).
        let end = i32::try_from(self.values.len()).unwrap_or(i32::MAX);
        self.offsets.push(end);
    }

    fn finish(&mut self) -> Result<ListArray, LakeError> {
        let values = self.values.finish();
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        list(schema::f64_item(), offsets, Arc::new(values))
    }

    fn finish_cloned(&self) -> Result<ListArray, LakeError> {
        let values = self.values.finish_cloned();
        list(schema::f64_item(), self.offsets.clone(), Arc::new(values))
    }
}

/// The `motors` column: a list of structs, built as one buffer per struct field plus offsets.
#[derive(Debug)]
struct MotorListBuilder {
    no: UInt8Builder,
    state: StringBuilder,
    controller_temp_c: Float64Builder,
    speed_rpm: Float64Builder,
    torque_nm: Float64Builder,
    temp_c: Float64Builder,
    controller_voltage_v: Float64Builder,
    controller_current_a: Float64Builder,
    offsets: Vec<i32>,
    len: usize,
}

impl MotorListBuilder {
    fn new(rows: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        MotorListBuilder {
            no: UInt8Builder::with_capacity(rows),
            state: StringBuilder::with_capacity(rows, rows * 8),
            controller_temp_c: Float64Builder::with_capacity(rows),
            speed_rpm: Float64Builder::with_capacity(rows),
            torque_nm: Float64Builder::with_capacity(rows),
            temp_c: Float64Builder::with_capacity(rows),
            controller_voltage_v: Float64Builder::with_capacity(rows),
            controller_current_a: Float64Builder::with_capacity(rows),
            offsets,
            len: 0,
        }
    }

    fn append(&mut self, motors: &[model::Motor]) {
        for m in motors {
            self.no.append_option(m.no);
            self.state.append_option(m.state.as_deref());
            self.controller_temp_c.append_option(m.controller_temp_c);
            self.speed_rpm.append_option(m.speed_rpm);
            self.torque_nm.append_option(m.torque_nm);
            self.temp_c.append_option(m.temp_c);
            self.controller_voltage_v
                .append_option(m.controller_voltage_v);
            self.controller_current_a
                .append_option(m.controller_current_a);
        }
        self.len += motors.len();
        self.offsets
            .push(i32::try_from(self.len).unwrap_or(i32::MAX));
    }

    fn finish_cloned(&self) -> Result<ListArray, LakeError> {
        let fields: Vec<ArrayRef> = vec![
            Arc::new(self.no.finish_cloned()),
            Arc::new(self.state.finish_cloned()),
            Arc::new(self.controller_temp_c.finish_cloned()),
            Arc::new(self.speed_rpm.finish_cloned()),
            Arc::new(self.torque_nm.finish_cloned()),
            Arc::new(self.temp_c.finish_cloned()),
            Arc::new(self.controller_voltage_v.finish_cloned()),
            Arc::new(self.controller_current_a.finish_cloned()),
        ];
        let values = StructArray::try_new(schema::motor_fields(), fields, None)?;
        list(schema::motor_item(), self.offsets.clone(), Arc::new(values))
    }

    fn finish(&mut self) -> Result<ListArray, LakeError> {
        let fields: Vec<ArrayRef> = vec![
            Arc::new(self.no.finish()),
            Arc::new(self.state.finish()),
            Arc::new(self.controller_temp_c.finish()),
            Arc::new(self.speed_rpm.finish()),
            Arc::new(self.torque_nm.finish()),
            Arc::new(self.temp_c.finish()),
            Arc::new(self.controller_voltage_v.finish()),
            Arc::new(self.controller_current_a.finish()),
        ];
        let values = StructArray::try_new(schema::motor_fields(), fields, None)?;
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        self.len = 0;
        list(schema::motor_item(), offsets, Arc::new(values))
    }
}

fn list(
    item: Arc<arrow::datatypes::Field>,
    offsets: Vec<i32>,
    values: ArrayRef,
) -> Result<ListArray, LakeError> {
    // Offsets past i32::MAX were saturated by `append`; they fail the monotonicity check here.
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    Ok(ListArray::try_new(item, offsets, values, None)?)
}

/// The `positions` rows of a `vehicle_samples` batch: the samples that have both `lon` and
/// `lat`, with NULL heading and altitude (GB/T 32960 reports neither).
pub(crate) fn positions_of(samples: &RecordBatch) -> Result<RecordBatch, LakeError> {
    let located = and(
        &is_not_null(samples.column(col::LON))?,
        &is_not_null(samples.column(col::LAT))?,
    )?;
    let picked = samples.project(&[
        col::VIN,
        col::TS,
        col::SOURCE,
        col::LON,
        col::LAT,
        col::SPEED_KMH,
    ])?;
    let picked = filter_record_batch(&picked, &located)?;
    let rows = picked.num_rows();
    let mut columns = picked.columns().to_vec();
    columns.push(new_null_array(&DataType::Float64, rows));
    columns.push(new_null_array(&DataType::Float64, rows));
    // `lon`/`lat` are declared NOT NULL in `positions`; the filter left no NULLs but may have
    // kept an all-valid null buffer, which the schema check accepts.
    let schema: SchemaRef = schema::positions_schema();
    Ok(RecordBatch::try_new(schema, columns)?)
}
