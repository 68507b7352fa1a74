//! Faulted vehicles as the platform sees them: each fault is driven through `Vehicle::step`
//! past its onset, every report is encoded in both editions, decoded and mapped to a sample,
//! and the physical values and the alarm block are checked against what the fault promises
//! (and what the platform's rules need to trip within one report period).

use model::alarm_flags::THERMAL_EVENT_BIT;
use model::{Timestamp, VehicleSample};
use proto_gbt32960::{
    Block2016, Block2025, Body, Edition, Frame, List, Report, Time, decode, to_sample,
};
use sim::fault::Fault;
use sim::gbt32960::RealtimeEncoder;
use sim::vehicle::{Activity, CELLS, Vehicle, vin_for};

const T0: i64 = 1_795_000_000;
const INTERVAL_S: f64 = 10.0;
/// Between two reports, so that the first faulty report comes 5 s after the onset.
const ONSET_S: f64 = 25.0;
/// Onsets on a report (the first faulty report is the one at the onset, and the next one a
/// full period later) and between two reports.
const ONSETS: [f64; 2] = [20.0, ONSET_S];
const SEEDS: std::ops::Range<u64> = 1..25;
const EDITIONS: [Edition; 2] = [Edition::V2016, Edition::V2025];

/// Bits of the general alarm flags, the same in both editions.
const TEMPERATURE_DIFFERENCE: u32 = 1 << 0;
const BATTERY_HIGH_TEMPERATURE: u32 = 1 << 1;
const INSULATION: u32 = 1 << 11;

/// The alarm block of a report: maximum level, flags, and the 2025 per-flag levels.
#[derive(Debug, PartialEq, Eq)]
struct Alarm {
    max_level: u8,
    flags: u32,
    levels: Vec<(u8, u8)>,
}

fn alarm(frame: &Frame) -> Alarm {
    let Body::Report(report) = &frame.body else {
        panic!("not a report")
    };
    match report {
        Report::V2016(r) => r
            .blocks
            .iter()
            .find_map(|b| match b {
                Block2016::Alarm(a) => Some(Alarm {
                    max_level: a.max_level.0,
                    flags: a.flags.0,
                    levels: vec![],
                }),
                _ => None,
            })
            .expect("an alarm block"),
        Report::V2025(r) => r
            .blocks
            .iter()
            .find_map(|b| match b {
                Block2025::Alarm(a) => {
                    let List::Items(levels) = &a.flag_levels else {
                        panic!("a flag level list")
                    };
                    Some(Alarm {
                        max_level: a.max_level.0,
                        flags: a.flags.0,
                        levels: levels.iter().map(|l| (l.bit, l.level)).collect(),
                    })
                }
                _ => None,
            })
            .expect("an alarm block"),
    }
}

fn all_clear() -> Alarm {
    Alarm {
        max_level: 0,
        flags: 0,
        levels: vec![],
    }
}

/// One report as sent and as the platform reads it.
struct Sent {
    /// Simulated seconds since the vehicle was built.
    t: f64,
    alarm: Alarm,
    sample: VehicleSample,
}

/// Reports every 10 s for `reports` reports of a vehicle given `fault` at `onset_s`.
fn reports(fault: Fault, seed: u64, onset_s: f64, edition: Edition, reports: usize) -> Vec<Sent> {
    let vin = vin_for("LSIMF", seed).unwrap();
    let mut v = Vehicle::faulted(vin, seed, fault, onset_s);
    let mut enc = RealtimeEncoder::new(edition);
    let mut out = Vec::new();
    (1..=reports)
        .map(|k| {
            v.step(INTERVAL_S);
            let ts = Timestamp::from_secs(T0 + (k as i64) * INTERVAL_S as i64);
            out.clear();
            enc.encode(&v, Time::from_timestamp(ts), &mut out).unwrap();
            let frame = decode(&out).unwrap();
            assert_eq!(frame.encode().unwrap(), out, "re-encodes to the same bytes");
            let sample = to_sample(&frame, ts).unwrap();
            assert_eq!(sample.quality, 0, "every value valid");
            Sent {
                t: v.elapsed_s(),
                alarm: alarm(&frame),
                sample,
            }
        })
        .collect()
}

fn values(list: &[Option<f64>]) -> Vec<f64> {
    list.iter().map(|v| v.unwrap()).collect()
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::MIN, f64::max)
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::MAX, f64::min)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

#[test]
fn thermal_runaway_heats_one_module_and_raises_the_flags_at_once() {
    for (edition, onset) in EDITIONS.into_iter().flat_map(|e| ONSETS.map(|o| (e, o))) {
        for seed in SEEDS {
            let sent = reports(Fault::Thermal, seed, onset, edition, 12);
            for s in &sent {
                let probes = values(&s.sample.probe_temps_c);
                let hottest = max(&probes);
                assert_eq!(s.sample.max_temp_c, Some(hottest), "max follows the probes");
                if s.t < onset {
                    assert_eq!(s.alarm, all_clear(), "seed {seed} at {} s", s.t);
                    assert!(hottest <= 60.0);
                    continue;
                }
                // From the first report at or after the onset: the BMS's flags and levels.
                let want = match edition {
                    Edition::V2016 => Alarm {
                        max_level: 3,
                        flags: TEMPERATURE_DIFFERENCE | BATTERY_HIGH_TEMPERATURE,
                        levels: vec![],
                    },
                    Edition::V2025 => Alarm {
                        max_level: 4,
                        flags: TEMPERATURE_DIFFERENCE
                            | BATTERY_HIGH_TEMPERATURE
                            | 1 << THERMAL_EVENT_BIT,
                        levels: vec![(0, 3), (1, 3), (THERMAL_EVENT_BIT, 4)],
                    },
                };
                assert_eq!(s.alarm, want, "{edition:?} seed {seed} at {} s", s.t);
                if s.t >= onset + INTERVAL_S {
                    // One report period on: hot, and far above the rest of the pack.
                    assert!(hottest > 60.0, "seed {seed}: {hottest} °C at {} s", s.t);
                    assert!(hottest - min(&probes) > 15.0);
                }
                assert!(hottest <= 96.0, "{hottest} °C");
            }
        }
    }
}

#[test]
fn thermal_runaway_climbs_at_least_a_degree_a_second_and_levels_off_near_95() {
    for seed in SEEDS {
        let mut v = Vehicle::faulted(vin_for("LSIMF", seed).unwrap(), seed, Fault::Thermal, 10.0);
        v.step(10.0);
        assert!(v.fault_active());
        assert_eq!(v.activity(), Activity::Driving, "seed {seed}: on the road");
        let ambient_probes: Vec<f64> = v.probe_temps_c().to_vec();
        // Each second after the onset, the failing module's four probes climb ≥ 1 °C until
        // they are near the peak; the other 28 stay where they were.
        for second in 1..=10 {
            let before = v.probe_temps_c().to_vec();
            v.step(1.0);
            let after = v.probe_temps_c();
            let climbing: Vec<usize> = (0..after.len())
                .filter(|&i| after[i] - before[i] >= 1.0 || before[i] > 85.0)
                .collect();
            assert_eq!(
                climbing.len(),
                4,
                "seed {seed} second {second}: {climbing:?}"
            );
            assert!(climbing.windows(2).all(|w| w[1] == w[0] + 1), "one module");
            assert!(climbing[0].is_multiple_of(4));
        }
        let hottest = max(v.probe_temps_c());
        assert!(hottest > 60.0, "seed {seed}: {hottest} °C after 10 s");
        for (i, (&t, &t0)) in v.probe_temps_c().iter().zip(&ambient_probes).enumerate() {
            if t - t0 < 1.0 {
                assert!(t <= 60.0, "probe {i} outside the module at {t} °C");
            }
        }
        v.step(600.0);
        let hottest = max(v.probe_temps_c());
        assert!((90.0..=95.0).contains(&hottest), "levels off: {hottest} °C");
    }
}

#[test]
fn insulation_breakdown_falls_below_100_ohm_per_volt_with_its_flag() {
    for edition in EDITIONS {
        for seed in SEEDS {
            let sent = reports(Fault::Insulation, seed, ONSET_S, edition, 12);
            for s in &sent {
                let ohm_per_v =
                    s.sample.insulation_kohm.unwrap() * 1000.0 / s.sample.total_voltage_v.unwrap();
                if s.t < ONSET_S {
                    assert_eq!(s.alarm, all_clear());
                    assert!(ohm_per_v >= 500.0, "{ohm_per_v} Ω/V before the onset");
                    continue;
                }
                assert!(
                    ohm_per_v < 100.0,
                    "seed {seed}: {ohm_per_v} Ω/V at {} s",
                    s.t
                );
                let want = Alarm {
                    max_level: 3,
                    flags: INSULATION,
                    levels: match edition {
                        Edition::V2016 => vec![],
                        Edition::V2025 => vec![(11, 3)],
                    },
                };
                assert_eq!(s.alarm, want, "{edition:?} seed {seed} at {} s", s.t);
            }
        }
    }
}

#[test]
fn a_drifting_cell_falls_035_v_below_the_mean_within_one_period_without_a_flag() {
    for (edition, onset) in EDITIONS.into_iter().flat_map(|e| ONSETS.map(|o| (e, o))) {
        for seed in SEEDS {
            let sent = reports(Fault::CellDrift, seed, onset, edition, 30);
            let mut low_cell = None;
            for s in &sent {
                assert_eq!(s.alarm, all_clear(), "the platform must see it first");
                let cells = values(&s.sample.cell_voltages_v);
                assert_eq!(cells.len(), CELLS);
                let m = mean(&cells);
                let (lowest, low) = cells
                    .iter()
                    .copied()
                    .enumerate()
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .unwrap();
                if s.t < onset {
                    assert!(m - low < 0.05, "seed {seed}: healthy before the onset");
                    continue;
                }
                if s.t < onset + INTERVAL_S {
                    continue;
                }
                // One period on and from then on: the same cell, ≥ 0.35 V down, a clear
                // outlier (spread > 0.3 V, > 4σ from the mean).
                assert!(
                    m - low >= 0.35,
                    "seed {seed}: {} V below at {} s",
                    m - low,
                    s.t
                );
                assert_eq!(*low_cell.get_or_insert(lowest), lowest, "the same cell");
                let spread = s.sample.max_cell_voltage_v.unwrap() - low;
                assert!(spread > 0.3);
                assert_eq!(s.sample.min_cell_voltage_v, Some(low));
                let sigma = (cells.iter().map(|c| (c - m).powi(2)).sum::<f64>()
                    / cells.len() as f64)
                    .sqrt();
                assert!((m - low) / sigma > 4.0);
                let others: Vec<f64> = cells
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != lowest)
                    .map(|(_, &c)| c)
                    .collect();
                assert!(max(&others) - min(&others) < 0.1, "the rest stay together");
            }
            assert!(low_cell.is_some());
        }
    }
}

#[test]
fn vehicles_that_must_be_driving_are_driving_at_the_onset() {
    for fault in [Fault::Thermal, Fault::Offline] {
        for onset in [0.0, 10.0, 600.0, 1800.0] {
            for seed in SEEDS {
                let mut v = Vehicle::faulted(vin_for("LSIMF", seed).unwrap(), seed, fault, onset);
                assert_eq!(v.fault(), Some((fault, onset)));
                let mut t = 0.0;
                while t + INTERVAL_S <= onset {
                    v.step(INTERVAL_S);
                    t += INTERVAL_S;
                    assert!(!v.fault_active() || t >= onset);
                }
                v.step(onset - t);
                assert!(v.fault_active(), "{fault} seed {seed} onset {onset}");
                assert_eq!(
                    v.activity(),
                    Activity::Driving,
                    "{fault} seed {seed} at {onset} s"
                );
                // Moving, not waiting at a light: the platform's `offline` rule only counts
                // the silence of a vehicle last seen moving.
                assert!(
                    v.speed_kmh() > 5.0,
                    "{fault} seed {seed}: {} km/h",
                    v.speed_kmh()
                );
            }
        }
    }
    // Offline changes nothing the vehicle itself reports: the silence is the terminal's.
    let mut v = Vehicle::faulted("LSIMF000000000001", 3, Fault::Offline, 5.0);
    v.step(20.0);
    assert!(v.fault_active());
    assert!(v.alarms().is_empty());
}

#[test]
fn the_first_report_at_the_onset_already_carries_the_flags() {
    // A report built exactly at the onset is at or after it.
    for edition in EDITIONS {
        let sent = reports(Fault::Insulation, 7, 20.0, edition, 3);
        assert_eq!(sent[0].alarm, all_clear());
        assert_eq!(sent[1].t, 20.0);
        assert_eq!(sent[1].alarm.flags, INSULATION);
        assert_eq!(sent[2].alarm.flags, INSULATION);
    }
}

#[test]
fn faulted_vehicles_are_reproducible() {
    for fault in Fault::ALL {
        let a = reports(fault, 11, ONSET_S, Edition::V2025, 6);
        let b = reports(fault, 11, ONSET_S, Edition::V2025, 6);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.sample, y.sample, "{fault}");
        }
    }
}
