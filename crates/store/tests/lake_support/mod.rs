//! Shared helpers of the lake tests: realistic samples and small utilities.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use model::{FleetReport, Motor, Timestamp, VehicleSample, Vin};

/// `2026-07-07T00:00:00+08:00`, midnight in Beijing: the first instant of that day's partition.
pub fn day0() -> Timestamp {
    Timestamp::parse("2026-07-07T00:00:00+08:00").expect("valid time")
}

pub fn at(base: Timestamp, secs: i64) -> Timestamp {
    Timestamp::from_micros(base.as_micros() + secs * 1_000_000)
}

pub fn vin(i: usize) -> Vin {
    format!("LHAIHE{i:011}").parse().expect("valid VIN")
}

/// A realistic GB/T 32960 sample: 96 cells and 32 probes, two motors, a position; `i` varies
/// the values so rows differ.
pub fn sample(vin: &Vin, ts: Timestamp, i: u64) -> VehicleSample {
    let f = i as f64;
    VehicleSample {
        vin: vin.clone(),
        ts,
        received_at: Timestamp::from_micros(ts.as_micros() + 1_500_000),
        source: "gbt32960-2016".to_owned(),
        reissue: false,
        vehicle_status: Some("started".to_owned()),
        charging_status: Some("not_charging".to_owned()),
        run_mode: Some("ev".to_owned()),
        speed_kmh: Some(40.0 + (i % 50) as f64 / 10.0),
        odometer_km: Some(12_345.6 + f / 100.0),
        total_voltage_v: Some(350.0 + (i % 7) as f64),
        total_current_a: Some(-12.5 + (i % 3) as f64),
        soc_pct: Some(80.0 - (i % 60) as f64 / 10.0),
        insulation_kohm: Some(5000.0),
        gear: Some("D".to_owned()),
        lon: Some(117.2 + (i % 1000) as f64 / 10_000.0),
        lat: Some(39.1 + (i % 1000) as f64 / 10_000.0),
        position_valid: Some(true),
        coord_system: Some("wgs84".to_owned()),
        max_cell_voltage_v: Some(3.312),
        min_cell_voltage_v: Some(3.298),
        max_temp_c: Some(31.0),
        min_temp_c: Some(27.0),
        alarm_level: Some(0),
        alarm_flags: Some(0),
        // Millivolt and degree noise as real packs report it, so that compression and
        // encoding costs are realistic.
        cell_voltages_v: (0..96)
            .map(|c| Some(3.250 + (noise(i, c) % 100) as f64 / 1000.0))
            .collect(),
        probe_temps_c: (0..32)
            .map(|p| Some(25.0 + (noise(i, 1000 + p) % 8) as f64))
            .collect(),
        motors: vec![
            Motor {
                no: Some(1),
                state: Some("driving".to_owned()),
                controller_temp_c: Some(45.0),
                speed_rpm: Some(3000.0 + f),
                torque_nm: Some(120.5),
                temp_c: Some(60.0),
                controller_voltage_v: Some(352.0),
                controller_current_a: Some(30.2),
            },
            Motor {
                no: Some(2),
                state: Some("driving".to_owned()),
                controller_temp_c: Some(44.0),
                speed_rpm: Some(2990.0),
                torque_nm: Some(119.0),
                temp_c: Some(58.0),
                controller_voltage_v: Some(351.0),
                controller_current_a: Some(29.8),
            },
        ],
        quality: 0,
    }
}

/// A JT/T 808 location report of terminal `terminal` (phone number digits), with the VIN the
/// registry knows for it, if any; `i` varies the values. The fix is valid, ignition on, and the
/// optional items are present except `fuel_l` on odd `i`.
pub fn fleet_report(terminal: &str, vin: Option<&str>, ts: Timestamp, i: u64) -> FleetReport {
    let f = i as f64;
    FleetReport {
        terminal_id: terminal.to_owned(),
        vin: vin.map(str::to_owned),
        ts,
        received_at: Timestamp::from_micros(ts.as_micros() + 800_000),
        source: "jt808-2013".to_owned(),
        reissue: false,
        lon: 117.3 + (i % 500) as f64 / 10_000.0,
        lat: 39.05 + (i % 500) as f64 / 10_000.0,
        speed_kmh: 30.0 + (i % 40) as f64,
        heading_deg: (i * 7 % 360) as f64,
        alt_m: 5.0 + (i % 10) as f64,
        alarm_bits: if i.is_multiple_of(11) { 1 << 1 } else { 0 },
        status_bits: 0b11,
        acc_on: true,
        position_valid: true,
        mileage_km: Some(45_000.0 + f / 10.0),
        fuel_l: i.is_multiple_of(2).then_some(120.5 - f / 100.0),
        recorder_speed_kmh: Some(30.0 + (i % 40) as f64),
    }
}

/// A deterministic pseudo-random number for row `i`, item `k` (SplitMix64's finaliser).
fn noise(i: u64, k: u64) -> u64 {
    let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A sample full of the awkward cases: NULL scalars with their quality bits, NULL list items,
/// an empty list, a motor with NULL fields, no position.
pub fn awkward_sample(vin: &Vin, ts: Timestamp) -> VehicleSample {
    use model::quality;
    let mut s = sample(vin, ts, 7);
    s.source = "gbt32960-2025".to_owned();
    s.reissue = true;
    s.vehicle_status = None;
    s.speed_kmh = None;
    s.soc_pct = None;
    s.gear = None;
    s.lon = None;
    s.lat = None;
    s.position_valid = None;
    s.coord_system = None;
    s.alarm_level = None;
    s.alarm_flags = Some(u32::MAX);
    s.cell_voltages_v = vec![Some(3.3), None, Some(3.31), None];
    s.probe_temps_c = Vec::new();
    s.motors = vec![Motor {
        no: None,
        state: None,
        controller_temp_c: Some(-40.0),
        speed_rpm: None,
        torque_nm: Some(-0.5),
        temp_c: None,
        controller_voltage_v: None,
        controller_current_a: None,
    }];
    s.quality = quality::VEHICLE_STATUS
        | quality::SPEED
        | quality::SOC
        | quality::CELL_VOLTAGES
        | quality::MOTORS
        | (1 << 63);
    s
}

/// Every regular file under `dir`, relative, sorted.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).expect("prefix").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}
