//! Simulated vehicles against the platform's own rules: every report goes the way it goes in
//! the platform (encode → `proto_gbt32960::decode` → `to_sample` → `rules::Engine::on_sample`,
//! with the 2025 per-flag levels from the frame's alarm block), and the clock ticks between
//! reports (`on_tick`). A healthy fleet must cause no event at all; each fault must open the
//! alarms it is meant to trip within one report period of its onset, and nothing unrelated.

use std::collections::BTreeMap;

use model::Timestamp;
use proto_gbt32960::{Block2025, Body, Edition, Frame, List, Report, Time, decode, to_sample};
use rules::{AlarmChange, AlarmEvent, Engine, FrameAlarms, RulesConfig};
use sim::fault::Fault;
use sim::gbt32960::RealtimeEncoder;
use sim::vehicle::{Vehicle, vin_for};

const T0: i64 = 1_795_000_000;
const INTERVAL_S: f64 = 10.0;
/// On a report, and between two reports.
const ONSETS: [f64; 2] = [20.0, 25.0];
const SEEDS: std::ops::Range<u64> = 1..9;
const EDITIONS: [Edition; 2] = [Edition::V2016, Edition::V2025];

/// The alarm block's extras the engine needs: the 2025 per-flag levels.
fn frame_alarms(frame: &Frame) -> FrameAlarms {
    let mut alarms = FrameAlarms::default();
    if let Body::Report(Report::V2025(r)) = &frame.body {
        for b in &r.blocks {
            if let Block2025::Alarm(a) = b
                && let List::Items(levels) = &a.flag_levels
            {
                alarms.flag_levels = levels.iter().map(|l| (l.bit, l.level)).collect();
            }
        }
    }
    alarms
}

fn micros(t_s: f64) -> Timestamp {
    Timestamp::from_micros(T0 * 1_000_000 + (t_s * 1e6).round() as i64)
}

/// An event with the simulated time (seconds since the vehicle was built) it happened at.
struct Seen {
    t: f64,
    event: AlarmEvent,
}

/// Runs `v` for `reports` report periods through the engine: a report every 10 s while the
/// terminal talks (always, unless an offline fault silenced it), a clock tick 5 s after each.
fn run(engine: &mut Engine, mut v: Vehicle, edition: Edition, reports: usize) -> Vec<Seen> {
    let mut enc = RealtimeEncoder::new(edition);
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let silent_from = match v.fault() {
        Some((Fault::Offline, onset)) => onset,
        _ => f64::INFINITY,
    };
    for k in 1..=reports {
        let t = k as f64 * INTERVAL_S;
        v.step(INTERVAL_S);
        if t < silent_from {
            // The device clock is whole seconds; the platform receives 0.2 s later.
            let ts = Timestamp::from_secs(T0 + t as i64);
            out.clear();
            enc.encode(&v, Time::from_timestamp(ts), &mut out).unwrap();
            let frame = decode(&out).unwrap();
            let sample = to_sample(&frame, micros(t + 0.2)).unwrap();
            for event in engine.on_sample(&sample, &frame_alarms(&frame)) {
                seen.push(Seen { t, event });
            }
        }
        for event in engine.on_tick(micros(t + 5.0)) {
            seen.push(Seen { t: t + 5.0, event });
        }
    }
    seen
}

fn describe(seen: &[Seen]) -> String {
    seen.iter()
        .map(|s| {
            format!(
                "{:>6.1} s {} {} L{} {:?}\n",
                s.t, s.event.entity_id, s.event.kind, s.event.level, s.event.change
            )
        })
        .collect()
}

#[test]
fn a_healthy_fleet_trips_no_rule() {
    let mut engine = Engine::new(RulesConfig::default());
    let mut all = Vec::new();
    for i in 0..40 {
        let edition = EDITIONS[i as usize % 2];
        let v = Vehicle::new(vin_for("LSIMH", i).unwrap(), 4_000 + i);
        all.extend(run(&mut engine, v, edition, 2 * 360));
    }
    assert!(all.is_empty(), "{}", describe(&all));
    assert_eq!(engine.open_count(), 0);
}

/// What a fault must open: kind → (level, delay). The alarm must have opened by the first
/// report at or after `onset + delay` (by the tick after it, for `offline`): a delay of 0 is
/// the first report carrying the fault, one period is "within one report period".
type Expected = BTreeMap<&'static str, (u8, f64)>;

/// The first report time at or after `t`.
fn report_at_or_after(t: f64) -> f64 {
    (t / INTERVAL_S).ceil() * INTERVAL_S
}

fn expected(fault: Fault, edition: Edition) -> Expected {
    let mut e = Expected::new();
    match fault {
        Fault::Thermal => {
            // The vehicle's own flags at the first report at or after the onset …
            e.insert("battery_high_temperature", (3, 0.0));
            e.insert("temperature_difference", (3, 0.0));
            if edition == Edition::V2025 {
                e.insert("thermal_event", (4, 0.0));
            }
            // … and the platform's own reading of the probes within one period.
            e.insert("temperature_high", (3, INTERVAL_S));
        }
        Fault::Insulation => {
            // Both at once: the resistance falls with the flag.
            e.insert("insulation", (3, 0.0));
            e.insert("insulation_low", (3, 0.0));
        }
        Fault::CellDrift => {
            e.insert("cell_voltage_spread", (2, INTERVAL_S));
            // Three consecutive samples with the outlier: the third is two periods later.
            e.insert("cell_voltage_deviation", (2, 3.0 * INTERVAL_S));
        }
        Fault::Offline => {
            // Silent for more than three report periods (and 30 s), seen by a clock tick.
            e.insert("offline", (2, 3.0 * INTERVAL_S));
        }
    }
    e
}

/// Kinds a fault may open besides the expected ones, because they are true of it too.
fn also_allowed(fault: Fault) -> &'static [&'static str] {
    match fault {
        Fault::Thermal => &["temperature_rise", "temperature_spread"],
        Fault::Insulation | Fault::CellDrift | Fault::Offline => &[],
    }
}

#[test]
fn each_fault_opens_its_alarms_within_one_report_period_and_nothing_else() {
    for fault in Fault::ALL {
        for edition in EDITIONS {
            for onset in ONSETS {
                for seed in SEEDS {
                    let mut engine = Engine::new(RulesConfig::default());
                    let vin = vin_for("LSIMR", seed).unwrap();
                    let v = Vehicle::faulted(vin.clone(), seed, fault, onset);
                    let seen = run(&mut engine, v, edition, 15);
                    let what = format!("{fault} {edition:?} onset {onset} seed {seed}");
                    let log = describe(&seen);
                    let want = expected(fault, edition);
                    for s in &seen {
                        let e = &s.event;
                        assert_eq!(e.entity_id.as_str(), vin);
                        assert!(s.t >= onset, "{what}: an event before the onset\n{log}");
                        assert!(
                            want.contains_key(e.kind) || also_allowed(fault).contains(&e.kind),
                            "{what}: unexpected {}\n{log}",
                            e.kind
                        );
                    }
                    for (kind, &(level, delay)) in &want {
                        let tick = if *kind == "offline" { 5.0 } else { 0.0 };
                        let deadline = report_at_or_after(onset + delay) + tick;
                        let opened = seen
                            .iter()
                            .find(|s| s.event.kind == *kind)
                            .unwrap_or_else(|| panic!("{what}: {kind} never opened\n{log}"));
                        assert_eq!(opened.event.change, AlarmChange::Opened, "{what}: {kind}");
                        assert_eq!(opened.event.level, level, "{what}: {kind}\n{log}");
                        assert!(
                            opened.t <= deadline,
                            "{what}: {kind} opened at {} s, not by {deadline} s\n{log}",
                            opened.t
                        );
                    }
                    // The vehicle's flags open on the first report at or after the onset.
                    let first_report = report_at_or_after(onset);
                    for s in seen.iter().filter(|s| {
                        matches!(
                            s.event.kind,
                            "battery_high_temperature" | "thermal_event" | "insulation"
                        )
                    }) {
                        assert_eq!(s.t, first_report, "{what}: {}\n{log}", s.event.kind);
                    }
                }
            }
        }
    }
}
