//! Builders shared by the timeline tests: the baseline sample, steps with their expected events,
//! and the one runner that checks them against a fresh [`Engine`].

use model::{Timestamp, VehicleSample, Vin};

use model::alarm_flags::{FLAG_NAMES_2016, FLAG_NAMES_2025};

use crate::{
    AlarmChange, AlarmEvent, AlarmSource, Engine, FrameAlarms, RulesConfig, is_critical,
    kind_from_str,
};

pub(super) const A: &str = "LTESTVIN000000001";
pub(super) const B: &str = "LTESTVIN000000002";

pub(super) fn vin(s: &str) -> Vin {
    s.parse().unwrap()
}

/// Seconds after the epoch of every timeline.
pub(super) fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(secs)
}

/// A healthy 2016 sample of vehicle A at `secs` of device time, received a second later: driving
/// at 36 km/h along a line eastwards (about 31 km/h of longitude), SOC 60 %, 350 V with 5 MΩ
/// insulation, 96 cells 3.900–3.904 V, 32 probes 25–28 °C, no alarm flags. Nothing fires on it.
pub(super) fn base(secs: i64) -> VehicleSample {
    let mut s = VehicleSample::new(vin(A), t(secs), t(secs + 1), "gbt32960-2016", false);
    s.vehicle_status = Some("started".to_owned());
    s.charging_status = Some("not_charging".to_owned());
    s.speed_kmh = Some(36.0);
    s.odometer_km = Some(1000.0 + secs as f64 * 0.01);
    s.total_voltage_v = Some(350.0);
    s.total_current_a = Some(20.0);
    s.soc_pct = Some(60.0);
    s.insulation_kohm = Some(5000.0);
    s.lon = Some(117.2 + secs as f64 * 0.0001);
    s.lat = Some(39.1);
    s.position_valid = Some(true);
    s.cell_voltages_v = (0..96)
        .map(|i| Some(3.900 + f64::from(i % 5) * 0.001))
        .collect();
    s.max_cell_voltage_v = Some(3.904);
    s.min_cell_voltage_v = Some(3.900);
    s.probe_temps_c = (0..32).map(|i| Some(25.0 + f64::from(i % 4))).collect();
    s.max_temp_c = Some(28.0);
    s.min_temp_c = Some(25.0);
    s.alarm_level = Some(0);
    s.alarm_flags = Some(0);
    s
}

#[derive(Debug)]
enum Action {
    Sample(Box<VehicleSample>, FrameAlarms),
    Observe(Box<VehicleSample>, FrameAlarms),
    Tick(Timestamp),
    Logout(Vin, Timestamp),
    /// The platform restarted and listens again from this time.
    Resume(Timestamp),
}

/// One expected event; `at` is the step's time unless the step says otherwise.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    vin: Vin,
    kind: &'static str,
    change: AlarmChange,
    level: u8,
    at: Option<Timestamp>,
}

/// One step of a timeline and the events it must cause, in order.
#[derive(Debug)]
pub(super) struct Step {
    action: Action,
    expect: Vec<Expected>,
}

/// The baseline sample at `secs`.
pub(super) fn at(secs: i64) -> Step {
    Step {
        action: Action::Sample(Box::new(base(secs)), FrameAlarms::default()),
        expect: Vec::new(),
    }
}

/// A clock tick at `secs`.
pub(super) fn tick(secs: i64) -> Step {
    Step {
        action: Action::Tick(t(secs)),
        expect: Vec::new(),
    }
}

/// The platform was down until `secs` (`Engine::resume`).
pub(super) fn resume(secs: i64) -> Step {
    Step {
        action: Action::Resume(t(secs)),
        expect: Vec::new(),
    }
}

/// Vehicle A logs out at `secs`.
pub(super) fn logout(secs: i64) -> Step {
    Step {
        action: Action::Logout(vin(A), t(secs)),
        expect: Vec::new(),
    }
}

impl Step {
    fn sample_mut(&mut self) -> &mut VehicleSample {
        match &mut self.action {
            Action::Sample(s, _) | Action::Observe(s, _) => s,
            other => panic!("not a sample step: {other:?}"),
        }
    }

    /// Changes the sample.
    pub(super) fn with(mut self, edit: impl FnOnce(&mut VehicleSample)) -> Self {
        edit(self.sample_mut());
        self
    }

    pub(super) fn vin(self, v: &str) -> Self {
        self.with(|s| s.vin = vin(v))
    }

    pub(super) fn ed2025(self) -> Self {
        self.with(|s| s.source = "gbt32960-2025".to_owned())
    }

    pub(super) fn reissue(self) -> Self {
        self.with(|s| s.reissue = true)
    }

    /// Maximum alarm level and general alarm flags.
    pub(super) fn flags(self, level: Option<u8>, flags: Option<u32>) -> Self {
        self.with(|s| {
            s.alarm_level = level;
            s.alarm_flags = flags;
        })
    }

    /// Cell `i` (0-based) at `v` volts.
    pub(super) fn cell(self, i: usize, v: f64) -> Self {
        self.with(|s| s.cell_voltages_v[i] = Some(v))
    }

    /// Probe `i` (0-based) at `c` °C.
    pub(super) fn probe(self, i: usize, c: f64) -> Self {
        self.with(|s| s.probe_temps_c[i] = Some(c))
    }

    /// Every probe (and the extremes) `delta` °C warmer: the spread stays.
    pub(super) fn warm(self, delta: f64) -> Self {
        self.with(|s| {
            for p in s.probe_temps_c.iter_mut().flatten() {
                *p += delta;
            }
            s.max_temp_c = s.max_temp_c.map(|c| c + delta);
            s.min_temp_c = s.min_temp_c.map(|c| c + delta);
        })
    }

    /// The device clock is `secs` ahead of the receive time.
    pub(super) fn ahead(self, secs: i64) -> Self {
        self.with(|s| s.ts = Timestamp::from_micros(s.received_at.as_micros() + secs * 1_000_000))
    }

    /// Insulation resistance (the pack is at 350 V: 175 kΩ is 500 Ω/V, 35 kΩ is 100 Ω/V).
    pub(super) fn insulation(self, kohm: f64) -> Self {
        self.with(|s| s.insulation_kohm = Some(kohm))
    }

    /// Parked, not charging.
    pub(super) fn parked(self) -> Self {
        self.with(|s| {
            s.vehicle_status = Some("stopped".to_owned());
            s.speed_kmh = Some(0.0);
        })
    }

    pub(super) fn frame(mut self, frame: FrameAlarms) -> Self {
        match &mut self.action {
            Action::Sample(_, f) | Action::Observe(_, f) => *f = frame,
            other => panic!("not a sample step: {other:?}"),
        }
        self
    }

    /// Feeds the sample to `observe` (warm-up) instead of `on_sample`.
    pub(super) fn observed(mut self) -> Self {
        self.action = match self.action {
            Action::Sample(s, f) => Action::Observe(s, f),
            other => other,
        };
        self
    }

    fn vin_of(&self) -> Vin {
        match &self.action {
            Action::Sample(s, _) | Action::Observe(s, _) => s.vin.clone(),
            Action::Logout(v, _) => v.clone(),
            Action::Tick(_) | Action::Resume(_) => vin(A),
        }
    }

    fn expect(mut self, kind: &'static str, change: AlarmChange, level: u8) -> Self {
        let vin = self.vin_of();
        self.expect.push(Expected {
            vin,
            kind,
            change,
            level,
            at: None,
        });
        self
    }

    pub(super) fn opens(self, kind: &'static str, level: u8) -> Self {
        self.expect(kind, AlarmChange::Opened, level)
    }

    pub(super) fn closes(self, kind: &'static str, level: u8) -> Self {
        self.expect(kind, AlarmChange::Closed, level)
    }

    pub(super) fn changes(self, kind: &'static str, from: u8, to: u8) -> Self {
        self.expect(kind, AlarmChange::LevelChanged { from }, to)
    }

    /// The last expected event is about vehicle `v` (for ticks).
    pub(super) fn of(mut self, v: &str) -> Self {
        self.expect.last_mut().expect("an expected event").vin = vin(v);
        self
    }

    /// The last expected event happens at `secs`, not at the step's own time.
    pub(super) fn dated(mut self, secs: i64) -> Self {
        self.expect.last_mut().expect("an expected event").at = Some(t(secs));
        self
    }
}

/// A named list of steps, with the configuration and restored alarms it starts from.
#[derive(Debug)]
pub(super) struct Timeline {
    name: &'static str,
    config: RulesConfig,
    restore: Vec<(Vin, String, u8)>,
    steps: Vec<Step>,
}

pub(super) fn timeline(name: &'static str, steps: Vec<Step>) -> Timeline {
    Timeline {
        name,
        config: RulesConfig::default(),
        restore: Vec::new(),
        steps,
    }
}

impl Timeline {
    pub(super) fn config(mut self, edit: impl FnOnce(&mut RulesConfig)) -> Self {
        edit(&mut self.config);
        self
    }

    pub(super) fn restore(mut self, v: &str, kind: &str, level: u8) -> Self {
        self.restore.push((vin(v), kind.to_owned(), level));
        self
    }
}

/// Runs every timeline on a fresh engine and checks each step's events exactly; also checks
/// what every event must satisfy whatever the rule, and that `open_count` follows the events.
pub(super) fn check(timelines: Vec<Timeline>) {
    for tl in timelines {
        run(&tl);
    }
}

/// Runs one timeline and returns the engine, for further checks.
pub(super) fn run(tl: &Timeline) -> Engine {
    let mut engine = Engine::new(tl.config.clone());
    engine.restore(&tl.restore);
    let mut open = engine.open_count();
    for (i, step) in tl.steps.iter().enumerate() {
        let ctx = format!("timeline {:?}, step {i} ({:?})", tl.name, step.action);
        let (got, default_at) = match &step.action {
            Action::Sample(s, f) => (engine.on_sample(s, f), s.ts),
            Action::Observe(s, f) => {
                let before = engine.open_alarms(&s.vin);
                let count = engine.open_count();
                engine.observe(s, f);
                assert_eq!(
                    engine.open_alarms(&s.vin),
                    before,
                    "{ctx}: observe changed alarms"
                );
                assert_eq!(
                    engine.open_count(),
                    count,
                    "{ctx}: observe changed the count"
                );
                (Vec::new(), s.ts)
            }
            Action::Tick(now) => (engine.on_tick(*now), *now),
            Action::Logout(v, at) => {
                engine.on_logout(v, *at);
                (Vec::new(), *at)
            }
            Action::Resume(now) => {
                engine.resume(*now);
                (Vec::new(), *now)
            }
        };
        let want: Vec<Expected> = step
            .expect
            .iter()
            .map(|e| Expected {
                at: Some(e.at.unwrap_or(default_at)),
                ..e.clone()
            })
            .collect();
        let have: Vec<Expected> = got
            .iter()
            .map(|e| Expected {
                vin: e.entity_id.clone(),
                kind: e.kind,
                change: e.change,
                level: e.level,
                at: Some(e.at),
            })
            .collect();
        assert_eq!(have, want, "{ctx}");
        for e in &got {
            every_event_is_well_formed(e, &ctx);
            match e.change {
                AlarmChange::Opened => open += 1,
                AlarmChange::Closed => open -= 1,
                AlarmChange::LevelChanged { .. } => {}
            }
        }
        assert_eq!(engine.open_count(), open, "{ctx}: open_count");
    }
    engine
}

fn every_event_is_well_formed(e: &AlarmEvent, ctx: &str) {
    assert_eq!(e.critical, is_critical(e.level), "{ctx}: {e:?}");
    assert_eq!(kind_from_str(e.kind), Some(e.kind), "{ctx}: {e:?}");
    let flag = FLAG_NAMES_2016.contains(&e.kind) || FLAG_NAMES_2025.contains(&e.kind);
    let source = if flag {
        AlarmSource::Vehicle
    } else {
        AlarmSource::Rule
    };
    assert_eq!(e.source, source, "{ctx}: {e:?}");
    assert!(!e.detail.is_empty(), "{ctx}: {e:?}");
}

/// The events of the last of `steps` (samples and ticks), for checking details.
pub(super) fn last_events(steps: Vec<Step>) -> Vec<AlarmEvent> {
    let mut engine = Engine::new(RulesConfig::default());
    let mut got = Vec::new();
    for step in steps {
        got = match step.action {
            Action::Sample(s, f) => engine.on_sample(&s, &f),
            Action::Tick(now) => engine.on_tick(now),
            other => panic!("not for details: {other:?}"),
        };
    }
    got
}
