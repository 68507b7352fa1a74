//! The normalized vehicle sample: one row of the `vehicle_samples` table (DESIGN.md §4).

use serde::{Deserialize, Serialize};

use crate::{Timestamp, Vin};

/// One realtime or reissue report in physical units.
///
/// A value the device marked invalid or abnormal is `None` here (NULL in SQL) and its bit is set
/// in `quality`; a value the device did not send at all is `None` with no bit set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehicleSample {
    pub vin: Vin,
    /// Collection time on the device.
    pub ts: Timestamp,
    /// When the platform received the frame.
    pub received_at: Timestamp,
    /// `gbt32960-2016` or `gbt32960-2025`.
    pub source: String,
    pub reissue: bool,
    pub vehicle_status: Option<String>,
    pub charging_status: Option<String>,
    pub run_mode: Option<String>,
    pub speed_kmh: Option<f64>,
    pub odometer_km: Option<f64>,
    pub total_voltage_v: Option<f64>,
    pub total_current_a: Option<f64>,
    pub soc_pct: Option<f64>,
    pub insulation_kohm: Option<f64>,
    pub gear: Option<String>,
    /// Degrees, negative west; in the coordinate system named by `coord_system`.
    pub lon: Option<f64>,
    /// Degrees, negative south.
    pub lat: Option<f64>,
    /// The device's own fix flag; an invalid fix still carries the last valid position.
    pub position_valid: Option<bool>,
    /// `wgs84`, `gcj02` or `other` (2025 frames name it; 2016 frames are WGS-84).
    pub coord_system: Option<String>,
    pub max_cell_voltage_v: Option<f64>,
    pub min_cell_voltage_v: Option<f64>,
    pub max_temp_c: Option<f64>,
    pub min_temp_c: Option<f64>,
    pub alarm_level: Option<u8>,
    pub alarm_flags: Option<u32>,
    /// Every cell (2016) or minimum parallel unit (2025) voltage, in pack order.
    pub cell_voltages_v: Vec<Option<f64>>,
    /// Every temperature probe, in pack order.
    pub probe_temps_c: Vec<Option<f64>>,
    pub motors: Vec<Motor>,
    /// Bit set of [`quality`] flags.
    pub quality: u64,
}

impl VehicleSample {
    /// A sample with no values yet: every column NULL or empty, quality clean. Decoders fill in
    /// what the frame carries.
    pub fn new(
        vin: Vin,
        ts: Timestamp,
        received_at: Timestamp,
        source: impl Into<String>,
        reissue: bool,
    ) -> Self {
        Self {
            vin,
            ts,
            received_at,
            source: source.into(),
            reissue,
            vehicle_status: None,
            charging_status: None,
            run_mode: None,
            speed_kmh: None,
            odometer_km: None,
            total_voltage_v: None,
            total_current_a: None,
            soc_pct: None,
            insulation_kohm: None,
            gear: None,
            lon: None,
            lat: None,
            position_valid: None,
            coord_system: None,
            max_cell_voltage_v: None,
            min_cell_voltage_v: None,
            max_temp_c: None,
            min_temp_c: None,
            alarm_level: None,
            alarm_flags: None,
            cell_voltages_v: Vec::new(),
            probe_temps_c: Vec::new(),
            motors: Vec::new(),
            quality: 0,
        }
    }
}

/// One drive motor's state inside a sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Motor {
    pub no: Option<u8>,
    pub state: Option<String>,
    pub controller_temp_c: Option<f64>,
    pub speed_rpm: Option<f64>,
    pub torque_nm: Option<f64>,
    pub temp_c: Option<f64>,
    /// 2016 only.
    pub controller_voltage_v: Option<f64>,
    /// 2016 only.
    pub controller_current_a: Option<f64>,
}

/// Bits of [`VehicleSample::quality`]: which columns are NULL because the device marked the value
/// invalid (0xFF…) or abnormal (0xFE…), plus facts about the row that a reader should know.
pub mod quality {
    pub const VEHICLE_STATUS: u64 = 1 << 0;
    pub const CHARGING_STATUS: u64 = 1 << 1;
    pub const RUN_MODE: u64 = 1 << 2;
    pub const SPEED: u64 = 1 << 3;
    pub const ODOMETER: u64 = 1 << 4;
    pub const TOTAL_VOLTAGE: u64 = 1 << 5;
    pub const TOTAL_CURRENT: u64 = 1 << 6;
    pub const SOC: u64 = 1 << 7;
    pub const INSULATION: u64 = 1 << 8;
    pub const GEAR: u64 = 1 << 9;
    pub const POSITION: u64 = 1 << 10;
    pub const MAX_CELL_VOLTAGE: u64 = 1 << 11;
    pub const MIN_CELL_VOLTAGE: u64 = 1 << 12;
    pub const MAX_TEMP: u64 = 1 << 13;
    pub const MIN_TEMP: u64 = 1 << 14;
    pub const ALARM: u64 = 1 << 15;
    /// At least one element of `cell_voltages_v` is NULL.
    pub const CELL_VOLTAGES: u64 = 1 << 16;
    /// At least one element of `probe_temps_c` is NULL.
    pub const PROBE_TEMPS: u64 = 1 << 17;
    /// At least one motor field is NULL.
    pub const MOTORS: u64 = 1 << 18;
    /// The device time was not a real date; `ts` is the receive time instead.
    pub const DEVICE_TIME: u64 = 1 << 19;
    /// The report stopped at an information type the decoder does not know; later blocks are
    /// missing from this row (the raw bytes are kept with the frame).
    pub const TRUNCATED: u64 = 1 << 20;
    /// A sentinel in a field that has no column of its own (DC-DC state, pedals, …).
    pub const OTHER: u64 = 1 << 21;

    /// Names of the set bits, for people reading a row.
    pub fn names(bits: u64) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(bit, _)| bits & bit != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    const NAMES: [(u64, &str); 22] = [
        (VEHICLE_STATUS, "vehicle_status"),
        (CHARGING_STATUS, "charging_status"),
        (RUN_MODE, "run_mode"),
        (SPEED, "speed_kmh"),
        (ODOMETER, "odometer_km"),
        (TOTAL_VOLTAGE, "total_voltage_v"),
        (TOTAL_CURRENT, "total_current_a"),
        (SOC, "soc_pct"),
        (INSULATION, "insulation_kohm"),
        (GEAR, "gear"),
        (POSITION, "position"),
        (MAX_CELL_VOLTAGE, "max_cell_voltage_v"),
        (MIN_CELL_VOLTAGE, "min_cell_voltage_v"),
        (MAX_TEMP, "max_temp_c"),
        (MIN_TEMP, "min_temp_c"),
        (ALARM, "alarm"),
        (CELL_VOLTAGES, "cell_voltages_v"),
        (PROBE_TEMPS, "probe_temps_c"),
        (MOTORS, "motors"),
        (DEVICE_TIME, "device_time"),
        (TRUNCATED, "truncated"),
        (OTHER, "other"),
    ];

    #[cfg(test)]
    mod tests {
        #[test]
        fn every_bit_has_one_name() {
            let all: u64 = super::NAMES.iter().map(|(b, _)| b).sum();
            assert_eq!(all.count_ones() as usize, super::NAMES.len());
            assert_eq!(super::names(super::SOC | super::GEAR), ["soc_pct", "gear"]);
        }
    }
}
