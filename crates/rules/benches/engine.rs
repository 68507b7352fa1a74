//! Rule engine throughput: realistic samples of 1 000 vehicles, round-robin, through
//! `Engine::on_sample`; and one clock tick over the same fleet.
//!
//! Each vehicle reports every 10 s of device time: driving, 96 cell voltages and 32 probe
//! temperatures that drift a little from sample to sample, SOC falling and the odometer and
//! position moving. Nothing fires (the steady state); the target is under 2 µs per sample
//! (100 000 samples/s in under 20 % of one core).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::{Timestamp, VehicleSample, Vin};
use rules::{Engine, FrameAlarms, RulesConfig};

const VEHICLES: usize = 1000;
const PERIOD_SECS: i64 = 10;

fn fleet() -> Vec<VehicleSample> {
    (0..VEHICLES)
        .map(|i| {
            let vin: Vin = format!("LBENCH{i:011}").parse().unwrap();
            let source = if i % 4 == 0 {
                "gbt32960-2025"
            } else {
                "gbt32960-2016"
            };
            let mut s = VehicleSample::new(
                vin,
                Timestamp::from_secs(1_780_000_000),
                Timestamp::from_secs(1_780_000_001),
                source,
                false,
            );
            let f = i as f64;
            s.vehicle_status = Some("started".to_owned());
            s.charging_status = Some("not_charging".to_owned());
            s.speed_kmh = Some(40.0);
            s.odometer_km = Some(10_000.0 + f);
            s.total_voltage_v = Some(350.0);
            s.total_current_a = Some(30.0);
            s.soc_pct = Some(80.0);
            s.insulation_kohm = Some(4000.0);
            s.lon = Some(117.0 + f * 0.001);
            s.lat = Some(39.0 + f * 0.0005);
            s.position_valid = Some(true);
            s.cell_voltages_v = (0..96).map(|c| Some(cell_v(c))).collect();
            s.max_cell_voltage_v = Some(3.862);
            s.min_cell_voltage_v = Some(3.85);
            s.probe_temps_c = (0..32).map(|p| Some(probe_c(p))).collect();
            s.max_temp_c = Some(30.0);
            s.min_temp_c = Some(26.0);
            s.alarm_level = Some(0);
            s.alarm_flags = Some(0);
            s
        })
        .collect()
}

fn cell_v(c: u32) -> f64 {
    3.85 + f64::from(c % 7) * 0.002
}

fn probe_c(p: u32) -> f64 {
    26.0 + f64::from(p % 5)
}

/// Moves sample `s` on by one reporting period (round `round`): time, SOC (slowly up and down),
/// odometer, position, and a wobble of one cell and one probe around their usual values.
fn advance(s: &mut VehicleSample, round: u64) {
    let step = PERIOD_SECS * 1_000_000;
    s.ts = Timestamp::from_micros(s.ts.as_micros() + step);
    s.received_at = Timestamp::from_micros(s.received_at.as_micros() + step);
    s.soc_pct = Some(60.0 + 20.0 * (round as f64 / 500.0).sin());
    s.odometer_km = s.odometer_km.map(|v| v + 0.11);
    s.lon = s.lon.map(|v| v + 0.0012);
    s.lat = s.lat.map(|v| v + 0.0003);
    let wobble = if round.is_multiple_of(3) { 1.0 } else { -1.0 };
    let c = (round % 96) as u32;
    s.cell_voltages_v[c as usize] = Some(cell_v(c) + wobble * 0.003);
    let p = (round % 32) as u32;
    s.probe_temps_c[p as usize] = Some(probe_c(p) + wobble * 0.5);
}

fn bench(c: &mut Criterion) {
    let frame = FrameAlarms::default();
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));

    let mut live = fleet();
    let mut engine = Engine::new(RulesConfig::default());
    let mut i = 0usize;
    let mut round = 0u64;
    let mut events = 0usize;
    let mut first = None;
    group.bench_function("on_sample", |b| {
        b.iter(|| {
            let s = &mut live[i];
            advance(s, round);
            let got = engine.on_sample(black_box(s), &frame);
            events += got.len();
            if first.is_none() {
                first = got.into_iter().next();
            }
            i += 1;
            if i == VEHICLES {
                i = 0;
                round += 1;
            }
        });
    });
    assert_eq!(events, 0, "the steady fleet raised alarms, first {first:?}");

    // The cost of moving the samples on, to subtract from the figure above.
    let mut fleet = fleet();
    let mut i = 0usize;
    group.bench_function("advance_only", |b| {
        b.iter(|| {
            let s = &mut fleet[i];
            advance(s, round);
            black_box(s);
            i = (i + 1) % VEHICLES;
        });
    });

    // One tick looks at every vehicle (none is overdue): the figure is per vehicle.
    let newest = live.iter().map(|s| s.received_at).max().unwrap();
    let now = Timestamp::from_micros(newest.as_micros() + 1_000_000);
    group.throughput(Throughput::Elements(VEHICLES as u64));
    group.bench_function("on_tick_per_vehicle", |b| {
        b.iter(|| events += engine.on_tick(black_box(now)).len());
    });
    assert_eq!(events, 0, "no vehicle is overdue");
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
