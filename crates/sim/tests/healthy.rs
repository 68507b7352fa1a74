//! A healthy fleet never looks faulty to the platform: fifty vehicles over two simulated hours
//! of 10 s reports, encoded, decoded and mapped to samples as the platform does, stay inside
//! the bounds the platform's rules treat as normal.
//!
//! The bounds (issue 4): hottest probe ≤ 60 °C, probe spread ≤ 15 °C, temperature rise
//! ≤ 3 °C/min, cell spread ≤ 0.3 V and no cell a 4σ outlier more than 0.05 V off the mean on
//! three consecutive samples, insulation ≥ 500 Ω/V, SOC steps ≤ 10 points, the odometer never
//! going back, no position jump over 1 km at over 300 km/h, device time = the report's time,
//! and no alarm flag.

use model::{Timestamp, VehicleSample};
use proto_gbt32960::{Edition, Time, decode, to_sample};
use sim::gbt32960::RealtimeEncoder;
use sim::routes::haversine_m;
use sim::vehicle::{Vehicle, vin_for};

const T0: i64 = 1_795_000_000;
const INTERVAL_S: i64 = 10;
const REPORTS: i64 = 2 * 3600 / INTERVAL_S;
const VEHICLES: u64 = 50;

/// The largest value each bound saw, for the failure message and the margins.
#[derive(Debug, Default)]
struct Worst {
    max_probe_c: f64,
    probe_spread_c: f64,
    /// Over any minute of reports, on the wire (whole °C).
    rise_c_per_min: f64,
    cell_spread_v: f64,
    /// The largest |cell − mean| (V) and |cell − mean| / σ seen.
    cell_off_mean_v: f64,
    cell_z: f64,
    /// Consecutive samples with a 4σ, 0.05 V outlier, longest run.
    outlier_run: usize,
    min_ohm_per_v: f64,
    soc_step: f64,
    speed_kmh_between: f64,
}

fn values(list: &[Option<f64>]) -> Vec<f64> {
    list.iter()
        .map(|v| v.expect("no invalid value in a healthy report"))
        .collect()
}

/// The cell furthest from the mean, if it is an outlier the deviation rule would count
/// (> 4σ and > 0.05 V off the mean); also the largest deviation and z-score.
fn outlier(cells: &[f64]) -> (bool, f64, f64) {
    let n = cells.len() as f64;
    let mean = cells.iter().sum::<f64>() / n;
    let sigma = (cells.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n).sqrt();
    let off = cells.iter().map(|c| (c - mean).abs()).fold(0.0, f64::max);
    let z = if sigma > 0.0 { off / sigma } else { 0.0 };
    (z > 4.0 && off > 0.05, off, z)
}

fn check_vehicle(index: u64, worst: &mut Worst) {
    let edition = if index.is_multiple_of(2) {
        Edition::V2016
    } else {
        Edition::V2025
    };
    let mut v = Vehicle::new(vin_for("LSIM", index).unwrap(), 9_000 + index);
    let mut enc = RealtimeEncoder::new(edition);
    let mut out = Vec::new();
    let mut history: Vec<VehicleSample> = Vec::new();
    let mut run = 0;
    for k in 1..=REPORTS {
        v.step(INTERVAL_S as f64);
        let ts = Timestamp::from_secs(T0 + k * INTERVAL_S);
        out.clear();
        enc.encode(&v, Time::from_timestamp(ts), &mut out).unwrap();
        let s = to_sample(&decode(&out).unwrap(), ts).unwrap();
        let vin = v.vin();
        assert_eq!(s.ts, ts, "{vin}: device time");
        assert_eq!(s.quality, 0, "{vin}: invalid values");
        assert_eq!((s.alarm_flags, s.alarm_level), (Some(0), Some(0)), "{vin}");

        let probes = values(&s.probe_temps_c);
        let hi = probes.iter().copied().fold(f64::MIN, f64::max);
        let lo = probes.iter().copied().fold(f64::MAX, f64::min);
        assert_eq!(s.max_temp_c, Some(hi));
        worst.max_probe_c = worst.max_probe_c.max(hi);
        worst.probe_spread_c = worst.probe_spread_c.max(hi - lo);

        let cells = values(&s.cell_voltages_v);
        let spread = s.max_cell_voltage_v.unwrap() - s.min_cell_voltage_v.unwrap();
        worst.cell_spread_v = worst.cell_spread_v.max(spread);
        let (is_outlier, off, z) = outlier(&cells);
        worst.cell_off_mean_v = worst.cell_off_mean_v.max(off);
        worst.cell_z = worst.cell_z.max(z);
        run = if is_outlier { run + 1 } else { 0 };
        worst.outlier_run = worst.outlier_run.max(run);

        let ohm_per_v = s.insulation_kohm.unwrap() * 1000.0 / s.total_voltage_v.unwrap();
        worst.min_ohm_per_v = worst.min_ohm_per_v.min(ohm_per_v);

        if let Some(prev) = history.last() {
            worst.soc_step = worst
                .soc_step
                .max((s.soc_pct.unwrap() - prev.soc_pct.unwrap()).abs());
            assert!(
                s.odometer_km.unwrap() >= prev.odometer_km.unwrap(),
                "{vin}: odometer went back at report {k}"
            );
            let d = haversine_m(
                (prev.lon.unwrap(), prev.lat.unwrap()),
                (s.lon.unwrap(), s.lat.unwrap()),
            );
            let kmh = d / INTERVAL_S as f64 * 3.6;
            worst.speed_kmh_between = worst.speed_kmh_between.max(kmh);
            assert!(d <= 1_000.0 || kmh <= 300.0, "{vin}: jumped {d} m");
        }
        // The temperature rise over the last minute of reports.
        if history.len() >= 6 {
            let then = history[history.len() - 6].max_temp_c.unwrap();
            worst.rise_c_per_min = worst.rise_c_per_min.max(hi - then);
        }
        history.push(s);
    }
}

#[test]
fn a_healthy_fleet_stays_inside_the_normal_bounds() {
    let mut worst = Worst {
        min_ohm_per_v: f64::MAX,
        ..Worst::default()
    };
    for i in 0..VEHICLES {
        check_vehicle(i + 1, &mut worst);
    }
    let w = &worst;
    assert!(w.max_probe_c <= 60.0, "{w:#?}");
    assert!(w.probe_spread_c <= 15.0, "{w:#?}");
    assert!(w.rise_c_per_min <= 3.0, "{w:#?}");
    assert!(w.cell_spread_v <= 0.3, "{w:#?}");
    assert!(w.outlier_run < 3, "{w:#?}");
    assert!(w.cell_off_mean_v <= 0.05, "{w:#?}");
    assert!(w.min_ohm_per_v >= 500.0, "{w:#?}");
    assert!(w.soc_step <= 10.0, "{w:#?}");
    assert!(w.speed_kmh_between <= 300.0, "{w:#?}");
}
