//! [`Engine`]: every rule for every vehicle, behind the five calls the platform makes.
//!
//! **Which samples count.** A reissued sample, or one whose device time is older than the
//! vehicle's newest live sample, describes the past: it causes no events and changes no memory
//! (a reissued "all clear" from an hour ago must not close today's thermal event, nor feed the
//! SOC or temperature history out of order). A sample with the same `ts` as the newest is
//! processed. A sample of an unknown `source` is ignored (its flag bits mean nothing known).
//!
//! **A device clock far ahead** (`ts − received_at > clock_ahead_secs`) is flagged, not trusted:
//! the sample opens or keeps `clock_ahead` (at its receive time, since its own time is wrong)
//! and counts as a reception for `offline`. The vehicle's own alarm flags are judged on it too
//! (at the receive time): a thermal event is news whatever the clock says. No derived rule sees
//! it, and it does not become the vehicle's newest `ts` — otherwise every later sample with a
//! correct clock would look out of order. A sample with a sane clock judges `clock_ahead` clear.
//!
//! **Event order** of one sample, fixed so that replays give identical streams:
//! 1. `offline` closed (the vehicle is heard again);
//! 2. `clock_ahead`;
//! 3. the vehicle's flags in bit order, then flags the edition does not name closed, by name;
//! 4. the derived rules in this order: `cell_voltage_spread`, `cell_voltage_deviation`,
//!    `temperature_high`, `temperature_rise`, `temperature_spread`, `insulation_low`,
//!    `soc_jump_observed`, `odometer_backwards`, `position_jump`, `data_quality`.
//!
//! A tick's events are sorted by VIN.

use std::collections::HashMap;

use model::{Timestamp, VehicleSample, Vin};

use crate::event::{AlarmEvent, kind, kind_from_str};
use crate::lifecycle::{Emitter, OpenAlarms};
use crate::rule::cells::Cells;
use crate::rule::continuity::Continuity;
use crate::rule::offline::Reception;
use crate::rule::quality::Quality;
use crate::rule::temperature::Temperature;
use crate::rule::{Closing, Facts, insulation, vehicle};
use crate::{FrameAlarms, RulesConfig};

/// An empty alarm block, for events not caused by a frame.
const NO_FRAME: FrameAlarms = FrameAlarms {
    flag_levels: Vec::new(),
    fault_codes: Vec::new(),
};

/// The rule engine: open alarms and rule memory of every vehicle seen.
///
/// Pure: no IO, no clock; time arrives in samples (`ts`, `received_at`) and ticks (`now`).
#[derive(Debug)]
pub struct Engine {
    config: RulesConfig,
    /// VIN → index into `vehicles`: one hash per sample, and no VIN clone once known.
    index: HashMap<Vin, usize>,
    vehicles: Vec<Vehicle>,
    open_total: usize,
}

#[derive(Debug)]
struct Vehicle {
    vin: Vin,
    /// Device time of the newest live sample (not counting samples with a clock far ahead).
    newest_ts: Option<Timestamp>,
    open: OpenAlarms,
    reception: Reception,
    cells: Cells,
    temperature: Temperature,
    continuity: Continuity,
    quality: Quality,
}

impl Vehicle {
    fn new(vin: Vin) -> Self {
        Self {
            vin,
            newest_ts: None,
            open: OpenAlarms::default(),
            reception: Reception::default(),
            cells: Cells::default(),
            temperature: Temperature::default(),
            continuity: Continuity::default(),
            quality: Quality::default(),
        }
    }
}

impl Engine {
    pub fn new(config: RulesConfig) -> Self {
        Self {
            config,
            index: HashMap::new(),
            vehicles: Vec::new(),
            open_total: 0,
        }
    }

    /// Open alarms loaded from storage at start: (entity, kind, level). Kinds the engine does
    /// not know are ignored. Each starts with no clear samples counted.
    pub fn restore(&mut self, open: &[(Vin, String, u8)]) {
        for (vin, kind, level) in open {
            let Some(kind) = kind_from_str(kind) else {
                continue;
            };
            let i = self.vehicle(vin);
            if self.vehicles[i].open.restore(kind, *level) {
                self.open_total += 1;
            }
        }
    }

    /// A live or reissued sample and its frame's alarm block; returns the lifecycle events it
    /// caused, in the order of the module doc.
    pub fn on_sample(&mut self, s: &VehicleSample, frame: &FrameAlarms) -> Vec<AlarmEvent> {
        let mut events = Vec::new();
        self.ingest(s, frame, true, &mut events);
        events
    }

    /// Warm-up after a restart, with samples whose events are already stored: the rules'
    /// memory (previous values, windows, counters, reception times) moves on exactly as in
    /// [`on_sample`](Self::on_sample), but the open alarms never change and nothing is emitted.
    pub fn observe(&mut self, s: &VehicleSample, frame: &FrameAlarms) {
        let mut events = Vec::new();
        self.ingest(s, frame, false, &mut events);
        debug_assert!(events.is_empty());
    }

    /// The vehicle logged out properly (GB/T 32960 0x04): it is not offline afterwards, until
    /// it reports again.
    pub fn on_logout(&mut self, vin: &Vin, at: Timestamp) {
        if let Some(&i) = self.index.get(vin) {
            self.vehicles[i].reception.logged_out(at);
        }
    }

    /// The platform's clock ticked: runs the time-based rule (`offline`). Events are at `now`,
    /// except an `offline` closed by a logout, which closes at the logout's time.
    pub fn on_tick(&mut self, now: Timestamp) -> Vec<AlarmEvent> {
        let mut events = Vec::new();
        for v in &mut self.vehicles {
            let open = v.open.level(kind::OFFLINE).is_some();
            let mut em = Emitter {
                vin: &v.vin,
                at: now,
                live: true,
                clear_after: self.config.clear_after_samples,
                open: &mut v.open,
                open_total: &mut self.open_total,
                events: &mut events,
                frame: &NO_FRAME,
            };
            if open {
                if let Some(at) = v.reception.logout() {
                    em.at = at;
                    em.close(kind::OFFLINE, Closing::LoggedOut);
                }
            } else if let Some(facts) = v.reception.overdue(now, &self.config) {
                em.holds(kind::OFFLINE, Some(2), facts);
            }
        }
        events.sort_by(|a, b| a.entity_id.cmp(&b.entity_id));
        events
    }

    /// The platform was not listening until `now` (it restarted): silence before `now` is the
    /// platform's, not the vehicles'. Every vehicle counts as last heard at `now`, so `offline`
    /// waits a whole threshold from here before calling anyone silent.
    pub fn resume(&mut self, now: Timestamp) {
        for v in &mut self.vehicles {
            v.reception.resume(now);
        }
    }

    /// The open alarms of `vin` as (kind, level), in kind-name order.
    pub fn open_alarms(&self, vin: &Vin) -> Vec<(&'static str, u8)> {
        self.index
            .get(vin)
            .map(|&i| self.vehicles[i].open.list())
            .unwrap_or_default()
    }

    /// The number of open alarms of all vehicles.
    pub fn open_count(&self) -> usize {
        self.open_total
    }

    /// The index of `vin`'s state, created on first sight.
    fn vehicle(&mut self, vin: &Vin) -> usize {
        if let Some(&i) = self.index.get(vin) {
            return i;
        }
        let i = self.vehicles.len();
        self.vehicles.push(Vehicle::new(vin.clone()));
        self.index.insert(vin.clone(), i);
        i
    }

    fn ingest(
        &mut self,
        s: &VehicleSample,
        frame: &FrameAlarms,
        live: bool,
        events: &mut Vec<AlarmEvent>,
    ) {
        if s.reissue {
            return;
        }
        let Some(edition_2025) = vehicle::edition_2025(&s.source) else {
            return;
        };
        let i = self.vehicle(&s.vin);
        let cfg = &self.config;
        let v = &mut self.vehicles[i];
        let mut em = Emitter {
            vin: &v.vin,
            at: s.ts,
            live,
            clear_after: cfg.clear_after_samples,
            open: &mut v.open,
            open_total: &mut self.open_total,
            events,
            frame,
        };

        let ahead_micros = s.ts.as_micros().saturating_sub(s.received_at.as_micros());
        let limit_micros = i64::try_from(cfg.clock_ahead_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000);
        if ahead_micros > limit_micros {
            em.at = s.received_at;
            let silent_secs = v.reception.received(s.received_at);
            em.close(kind::OFFLINE, Closing::Received { silent_secs });
            let facts = Facts::ClockAhead {
                ahead_secs: ahead_micros as f64 / 1e6,
                limit_secs: cfg.clock_ahead_secs,
            };
            em.holds(kind::CLOCK_AHEAD, Some(1), facts);
            // The vehicle's own alarms are news however wrong its clock: a thermal event must
            // not wait for the clock to be fixed. They are judged at the receive time.
            vehicle::evaluate(s, frame, edition_2025, &mut em);
            return;
        }
        if v.newest_ts.is_some_and(|newest| s.ts < newest) {
            return;
        }
        v.newest_ts = Some(s.ts);

        let silent_secs = v.reception.received(s.received_at);
        v.reception.activity_from(s);
        em.close(kind::OFFLINE, Closing::Received { silent_secs });
        em.clear(kind::CLOCK_AHEAD);
        vehicle::evaluate(s, frame, edition_2025, &mut em);
        v.cells.evaluate(s, cfg, &mut em);
        v.temperature.evaluate(s, cfg, &mut em);
        em.verdict(kind::INSULATION_LOW, insulation::evaluate(s, cfg));
        v.continuity.evaluate(s, cfg, &mut em);
        let quality = v.quality.evaluate(s, cfg);
        em.verdict(kind::DATA_QUALITY, Some(quality));
    }
}
