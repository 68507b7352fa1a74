//! The Arrow schemas of the lake's tables: `vehicle_samples`, `fleet_reports`, `positions`,
//! `connector_status`, `charging_sessions`, and the catalog's `vehicles`, `alarms` and `stations`
//! as SQL sees them.
//!
//! Column names and order are a contract (DESIGN.md §4): `vehicle_samples` has one column per field
//! of `model::VehicleSample`, `fleet_reports` one per field of `model::FleetReport`,
//! `connector_status` one per field of `model::ConnectorStatus` and `charging_sessions` one per
//! field of `model::ChargingSession`, in field order, and external engines read the Parquet files
//! with these names.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Every time column is an instant in UTC with microsecond precision, like `model::Timestamp`.
pub(crate) const TZ: &str = "UTC";

pub(crate) fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(TZ.into()))
}

/// The fields of one element of `motors`, in `model::Motor` field order.
pub(crate) fn motor_fields() -> Fields {
    let f = |name: &str| Field::new(name, DataType::Float64, true);
    Fields::from(vec![
        Field::new("no", DataType::UInt8, true),
        Field::new("state", DataType::Utf8, true),
        f("controller_temp_c"),
        f("speed_rpm"),
        f("torque_nm"),
        f("temp_c"),
        f("controller_voltage_v"),
        f("controller_current_a"),
    ])
}

/// The element field of `cell_voltages_v` and `probe_temps_c`: a value the device marked invalid
/// is a NULL item, so the list keeps its length and every other cell keeps its position.
pub(crate) fn f64_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Float64, true))
}

pub(crate) fn motor_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Struct(motor_fields()), false))
}

/// Column names of `vehicle_samples`, in order; `samples_schema` and the row builders follow it.
pub(crate) mod col {
    pub(crate) const VIN: usize = 0;
    pub(crate) const TS: usize = 1;
    pub(crate) const SOURCE: usize = 3;
    pub(crate) const SPEED_KMH: usize = 8;
    pub(crate) const LON: usize = 15;
    pub(crate) const LAT: usize = 16;
}

/// `vehicle_samples`: one row per GB/T 32960 realtime or reissue report.
pub fn samples_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let ts = |name: &str| Field::new(name, timestamp_type(), false);
        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        let num = |name: &str| Field::new(name, DataType::Float64, true);
        Arc::new(Schema::new(vec![
            Field::new("vin", DataType::Utf8, false),
            ts("ts"),
            ts("received_at"),
            Field::new("source", DataType::Utf8, false),
            Field::new("reissue", DataType::Boolean, false),
            text("vehicle_status"),
            text("charging_status"),
            text("run_mode"),
            num("speed_kmh"),
            num("odometer_km"),
            num("total_voltage_v"),
            num("total_current_a"),
            num("soc_pct"),
            num("insulation_kohm"),
            text("gear"),
            num("lon"),
            num("lat"),
            Field::new("position_valid", DataType::Boolean, true),
            text("coord_system"),
            num("max_cell_voltage_v"),
            num("min_cell_voltage_v"),
            num("max_temp_c"),
            num("min_temp_c"),
            Field::new("alarm_level", DataType::UInt8, true),
            Field::new("alarm_flags", DataType::UInt32, true),
            Field::new("cell_voltages_v", DataType::List(f64_item()), false),
            Field::new("probe_temps_c", DataType::List(f64_item()), false),
            Field::new("motors", DataType::List(motor_item()), false),
            Field::new("quality", DataType::UInt64, false),
        ]))
    });
    Arc::clone(&SCHEMA)
}

/// Column positions of `fleet_reports`, in `fleet_reports_schema` order.
pub(crate) mod fleet_col {
    pub(crate) const TERMINAL_ID: usize = 0;
    pub(crate) const TS: usize = 2;
}

/// `fleet_reports`: one row per JT/T 808 location report (0x0200, or one item of a 0x0704 batch).
pub fn fleet_reports_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let ts = |name: &str| Field::new(name, timestamp_type(), false);
        let num = |name: &str| Field::new(name, DataType::Float64, false);
        let opt = |name: &str| Field::new(name, DataType::Float64, true);
        Arc::new(Schema::new(vec![
            Field::new("terminal_id", DataType::Utf8, false),
            Field::new("vin", DataType::Utf8, true),
            ts("ts"),
            ts("received_at"),
            Field::new("source", DataType::Utf8, false),
            Field::new("reissue", DataType::Boolean, false),
            num("lon"),
            num("lat"),
            num("speed_kmh"),
            num("heading_deg"),
            num("alt_m"),
            Field::new("alarm_bits", DataType::UInt32, false),
            Field::new("status_bits", DataType::UInt32, false),
            Field::new("acc_on", DataType::Boolean, false),
            Field::new("position_valid", DataType::Boolean, false),
            opt("mileage_km"),
            opt("fuel_l"),
            opt("recorder_speed_kmh"),
        ]))
    });
    Arc::clone(&SCHEMA)
}

/// `positions`: one row per located report of any protocol; derived from `vehicle_samples` for
/// GB/T 32960 (which has neither heading nor altitude) and from the `fleet_reports` with a valid
/// fix for JT/T 808. `entity_id` is the VIN, or the terminal id of a terminal whose VIN is unknown.
pub fn positions_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let num = |name: &str| Field::new(name, DataType::Float64, true);
        Arc::new(Schema::new(vec![
            Field::new("entity_id", DataType::Utf8, false),
            Field::new("ts", timestamp_type(), false),
            Field::new("source", DataType::Utf8, false),
            Field::new("lon", DataType::Float64, false),
            Field::new("lat", DataType::Float64, false),
            num("speed_kmh"),
            num("heading_deg"),
            num("alt_m"),
        ]))
    });
    Arc::clone(&SCHEMA)
}

/// `vehicles`: the registry, as the caller passes it to each query.
pub fn vehicles_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        Arc::new(Schema::new(vec![
            Field::new("vin", DataType::Utf8, false),
            text("terminal_id"),
            text("owner_org"),
            text("category"),
            text("powertrain"),
            text("plate"),
        ]))
    });
    Arc::clone(&SCHEMA)
}

/// `alarms` (DESIGN.md §4), from the catalog: the fields of `model::Alarm` in order.
pub fn alarms_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        let time = |name: &str, nullable| Field::new(name, timestamp_type(), nullable);
        Arc::new(Schema::new(vec![
            Field::new("alarm_id", DataType::Int64, false),
            Field::new("entity_id", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("level", DataType::UInt8, false),
            Field::new("critical", DataType::Boolean, false),
            Field::new("state", DataType::Utf8, false),
            time("opened_at", false),
            time("acked_at", true),
            text("acked_by"),
            text("ack_comment"),
            time("closed_at", true),
            Field::new("source", DataType::Utf8, false),
            Field::new("detail", DataType::Utf8, false),
            text("org"),
        ]))
    });
    Arc::clone(&SCHEMA)
}

/// Column positions of `connector_status`, in `connector_status_schema` order.
pub(crate) mod status_col {
    pub(crate) const OPERATOR_ID: usize = 0;
    pub(crate) const TS: usize = 4;
}

/// `connector_status`: one row per status change of a charging connector (T/CEC or OCPP).
/// `status` is `model::ConnectorState::as_str`; `raw_status` the code as the source sent it.
pub fn connector_status_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let id = |name: &str| Field::new(name, DataType::Utf8, false);
        let ts = |name: &str| Field::new(name, timestamp_type(), false);
        let opt = |name: &str| Field::new(name, DataType::Float64, true);
        Arc::new(Schema::new(vec![
            id("operator_id"),
            id("station_id"),
            id("equipment_id"),
            id("connector_id"),
            ts("ts"),
            ts("received_at"),
            id("status"),
            id("raw_status"),
            id("source"),
            opt("power_kw"),
            opt("soc_pct"),
        ]))
    });
    Arc::clone(&SCHEMA)
}

/// Column positions of `charging_sessions`, in `charging_sessions_schema` order.
pub(crate) mod session_col {
    pub(crate) const OPERATOR_ID: usize = 1;
    pub(crate) const END_TS: usize = 6;
}

/// `charging_sessions`: one row per finished charging order or transaction, partitioned by the
/// Beijing day of `end_ts`.
pub fn charging_sessions_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let id = |name: &str| Field::new(name, DataType::Utf8, false);
        let ts = |name: &str| Field::new(name, timestamp_type(), false);
        let opt = |name: &str| Field::new(name, DataType::Float64, true);
        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        Arc::new(Schema::new(vec![
            id("session_id"),
            id("operator_id"),
            id("station_id"),
            id("equipment_id"),
            id("connector_id"),
            ts("start_ts"),
            ts("end_ts"),
            ts("received_at"),
            opt("energy_kwh"),
            opt("fee_total"),
            text("stop_reason"),
            text("id_tag"),
            id("source"),
        ]))
    });
    Arc::clone(&SCHEMA)
}

/// `stations` (DESIGN.md §4), from the catalog: the fields of `model::Station` in order, then
/// the organisation that may see the station and when the registry entry last changed.
pub fn stations_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let id = |name: &str| Field::new(name, DataType::Utf8, false);
        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        let opt = |name: &str| Field::new(name, DataType::Float64, true);
        Arc::new(Schema::new(vec![
            id("operator_id"),
            id("station_id"),
            id("name"),
            opt("lon"),
            opt("lat"),
            text("district"),
            Field::new("connectors", DataType::UInt32, false),
            Field::new("rated_power_kw", DataType::Float64, false),
            id("source"),
            text("org"),
            Field::new("updated_at", timestamp_type(), false),
        ]))
    });
    Arc::clone(&SCHEMA)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_constants_name_the_right_columns() {
        let s = samples_schema();
        for (i, name) in [
            (col::VIN, "vin"),
            (col::TS, "ts"),
            (col::SOURCE, "source"),
            (col::SPEED_KMH, "speed_kmh"),
            (col::LON, "lon"),
            (col::LAT, "lat"),
        ] {
            assert_eq!(s.field(i).name(), name);
        }
        let f = fleet_reports_schema();
        assert_eq!(f.field(fleet_col::TERMINAL_ID).name(), "terminal_id");
        assert_eq!(f.field(fleet_col::TS).name(), "ts");
        let c = connector_status_schema();
        assert_eq!(c.field(status_col::OPERATOR_ID).name(), "operator_id");
        assert_eq!(c.field(status_col::TS).name(), "ts");
        let s = charging_sessions_schema();
        assert_eq!(s.field(session_col::OPERATOR_ID).name(), "operator_id");
        assert_eq!(s.field(session_col::END_TS).name(), "end_ts");
    }
}
