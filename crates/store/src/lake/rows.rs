//! Arrow to rows: `vehicle_samples` and `positions` batches back into `model` values for the
//! typed API helpers.

use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, ListArray, RecordBatch, StringArray, StructArray,
    TimestampMicrosecondArray, UInt8Array, UInt32Array, UInt64Array,
};
use model::{Motor, Timestamp, VehicleSample, Vin};

use super::LakeError;

/// The column `name` of `batch` as array type `A`, or an error naming what was found instead.
pub(crate) fn column<'a, A: Array + 'static>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a A, LakeError> {
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| LakeError::Corrupt(format!("column {name} is missing")))?;
    array.as_any().downcast_ref::<A>().ok_or_else(|| {
        LakeError::Corrupt(format!(
            "column {name} has type {}, not the one the lake writes",
            array.data_type()
        ))
    })
}

fn text(a: &StringArray, i: usize) -> Option<String> {
    a.is_valid(i).then(|| a.value(i).to_owned())
}

fn num(a: &Float64Array, i: usize) -> Option<f64> {
    a.is_valid(i).then(|| a.value(i))
}

fn f64_list(a: &ListArray, i: usize) -> Result<Vec<Option<f64>>, LakeError> {
    if a.is_null(i) {
        return Ok(Vec::new());
    }
    let items = a.value(i);
    let items = items
        .as_primitive_opt::<arrow::datatypes::Float64Type>()
        .ok_or_else(|| LakeError::Corrupt("a list column does not hold Float64 items".into()))?;
    Ok(items.iter().collect())
}

fn motors(a: &ListArray, i: usize) -> Result<Vec<Motor>, LakeError> {
    if a.is_null(i) {
        return Ok(Vec::new());
    }
    let items = a.value(i);
    let s: &StructArray = items
        .as_struct_opt()
        .ok_or_else(|| LakeError::Corrupt("motors does not hold structs".into()))?;
    let field = |name: &str| {
        s.column_by_name(name)
            .ok_or_else(|| LakeError::Corrupt(format!("motors.{name} is missing")))
    };
    let f64_field = |name: &str| -> Result<&Float64Array, LakeError> {
        field(name)?
            .as_primitive_opt()
            .ok_or_else(|| LakeError::Corrupt(format!("motors.{name} is not Float64")))
    };
    let no: &UInt8Array = field("no")?
        .as_primitive_opt()
        .ok_or_else(|| LakeError::Corrupt("motors.no is not UInt8".into()))?;
    let state = field("state")?
        .as_string_opt::<i32>()
        .ok_or_else(|| LakeError::Corrupt("motors.state is not Utf8".into()))?;
    let controller_temp_c = f64_field("controller_temp_c")?;
    let speed_rpm = f64_field("speed_rpm")?;
    let torque_nm = f64_field("torque_nm")?;
    let temp_c = f64_field("temp_c")?;
    let controller_voltage_v = f64_field("controller_voltage_v")?;
    let controller_current_a = f64_field("controller_current_a")?;
    Ok((0..s.len())
        .map(|j| Motor {
            no: no.is_valid(j).then(|| no.value(j)),
            state: text(state, j),
            controller_temp_c: num(controller_temp_c, j),
            speed_rpm: num(speed_rpm, j),
            torque_nm: num(torque_nm, j),
            temp_c: num(temp_c, j),
            controller_voltage_v: num(controller_voltage_v, j),
            controller_current_a: num(controller_current_a, j),
        })
        .collect())
}

/// Every row of a batch with the `vehicle_samples` columns (any order, extra columns ignored).
pub(crate) fn samples_from_batch(batch: &RecordBatch) -> Result<Vec<VehicleSample>, LakeError> {
    let vin: &StringArray = column(batch, "vin")?;
    let ts: &TimestampMicrosecondArray = column(batch, "ts")?;
    let received_at: &TimestampMicrosecondArray = column(batch, "received_at")?;
    let source: &StringArray = column(batch, "source")?;
    let reissue: &BooleanArray = column(batch, "reissue")?;
    let vehicle_status: &StringArray = column(batch, "vehicle_status")?;
    let charging_status: &StringArray = column(batch, "charging_status")?;
    let run_mode: &StringArray = column(batch, "run_mode")?;
    let speed_kmh: &Float64Array = column(batch, "speed_kmh")?;
    let odometer_km: &Float64Array = column(batch, "odometer_km")?;
    let total_voltage_v: &Float64Array = column(batch, "total_voltage_v")?;
    let total_current_a: &Float64Array = column(batch, "total_current_a")?;
    let soc_pct: &Float64Array = column(batch, "soc_pct")?;
    let insulation_kohm: &Float64Array = column(batch, "insulation_kohm")?;
    let gear: &StringArray = column(batch, "gear")?;
    let lon: &Float64Array = column(batch, "lon")?;
    let lat: &Float64Array = column(batch, "lat")?;
    let position_valid: &BooleanArray = column(batch, "position_valid")?;
    let coord_system: &StringArray = column(batch, "coord_system")?;
    let max_cell_voltage_v: &Float64Array = column(batch, "max_cell_voltage_v")?;
    let min_cell_voltage_v: &Float64Array = column(batch, "min_cell_voltage_v")?;
    let max_temp_c: &Float64Array = column(batch, "max_temp_c")?;
    let min_temp_c: &Float64Array = column(batch, "min_temp_c")?;
    let alarm_level: &UInt8Array = column(batch, "alarm_level")?;
    let alarm_flags: &UInt32Array = column(batch, "alarm_flags")?;
    let cell_voltages_v: &ListArray = column(batch, "cell_voltages_v")?;
    let probe_temps_c: &ListArray = column(batch, "probe_temps_c")?;
    let motor_lists: &ListArray = column(batch, "motors")?;
    let quality: &UInt64Array = column(batch, "quality")?;

    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let vin_text = vin.value(i);
        let vin = vin_text
            .parse::<Vin>()
            .map_err(|e| LakeError::Corrupt(format!("stored VIN {vin_text:?} is invalid: {e}")))?;
        out.push(VehicleSample {
            vin,
            ts: Timestamp::from_micros(ts.value(i)),
            received_at: Timestamp::from_micros(received_at.value(i)),
            source: source.value(i).to_owned(),
            reissue: reissue.value(i),
            vehicle_status: text(vehicle_status, i),
            charging_status: text(charging_status, i),
            run_mode: text(run_mode, i),
            speed_kmh: num(speed_kmh, i),
            odometer_km: num(odometer_km, i),
            total_voltage_v: num(total_voltage_v, i),
            total_current_a: num(total_current_a, i),
            soc_pct: num(soc_pct, i),
            insulation_kohm: num(insulation_kohm, i),
            gear: text(gear, i),
            lon: num(lon, i),
            lat: num(lat, i),
            position_valid: position_valid.is_valid(i).then(|| position_valid.value(i)),
            coord_system: text(coord_system, i),
            max_cell_voltage_v: num(max_cell_voltage_v, i),
            min_cell_voltage_v: num(min_cell_voltage_v, i),
            max_temp_c: num(max_temp_c, i),
            min_temp_c: num(min_temp_c, i),
            alarm_level: alarm_level.is_valid(i).then(|| alarm_level.value(i)),
            alarm_flags: alarm_flags.is_valid(i).then(|| alarm_flags.value(i)),
            cell_voltages_v: f64_list(cell_voltages_v, i)?,
            probe_temps_c: f64_list(probe_temps_c, i)?,
            motors: motors(motor_lists, i)?,
            quality: quality.value(i),
        });
    }
    Ok(out)
}

/// One point of a vehicle's track: time, longitude, latitude and speed.
pub type TrackPoint = (Timestamp, f64, f64, Option<f64>);

/// Every row of a batch with `ts`, `lon`, `lat` and `speed_kmh` columns.
pub(crate) fn track_from_batch(batch: &RecordBatch) -> Result<Vec<TrackPoint>, LakeError> {
    let ts: &TimestampMicrosecondArray = column(batch, "ts")?;
    let lon: &Float64Array = column(batch, "lon")?;
    let lat: &Float64Array = column(batch, "lat")?;
    let speed: &Float64Array = column(batch, "speed_kmh")?;
    Ok((0..batch.num_rows())
        .map(|i| {
            (
                Timestamp::from_micros(ts.value(i)),
                lon.value(i),
                lat.value(i),
                num(speed, i),
            )
        })
        .collect())
}
