//! The alarm lifecycle of GB/T 32960 vehicles: general alarm flags in, opened/closed/level events out.
//!
//! One [`AlarmTracker`] holds, per vehicle, the alarms that are open and the device time of the
//! newest live sample. It only ever sees `VehicleSample`s and the per-flag levels of 2025 frames,
//! so it neither reads a clock nor does IO; `at` of every event is the sample's own `ts`.
//!
//! Choices made here, and why:
//! - **History is not live state.** A reissued sample (`reissue == true`) and a sample whose `ts`
//!   is older than the newest live sample seen for that vehicle describe the past; letting them
//!   open or close alarms would flap an alarm that is open now (a reissued "all clear" from an hour
//!   ago must not close today's thermal event). They produce no events and do not move the
//!   vehicle's clock. A sample with the same `ts` as the newest one is processed (it is a repeat
//!   or a second frame of the same instant, and is idempotent when it repeats).
//! - **No alarm block, no opinion.** `alarm_flags == None` means the frame did not carry the alarm
//!   block, not that the alarms cleared, so open alarms stay open; the sample still advances the
//!   vehicle's clock, because it is live.
//! - **Unknown level.** When the level is unknown (max level invalid and no per-flag level), an
//!   already open alarm keeps its level and a new one opens at level 0, rather than inventing one.
//! - **Reserved bits** (bits without a name in the sample's edition) are ignored: there is no kind
//!   to give them, and a device that sets them is outside the standard.
//! - **Unknown `source`** (not `gbt32960-2016`/`gbt32960-2025`): the bit meanings are unknown, so the
//!   sample is ignored entirely.
//! - An alarm is keyed by its kind, not its bit, so a vehicle that switches editions keeps the
//!   alarms whose names both editions share, and closes the ones the new edition names differently.

use std::collections::{BTreeMap, HashMap};

use model::{Timestamp, VehicleSample, Vin};
use serde::Serialize;

use model::alarm_flags::{THERMAL_EVENT_BIT, flag_name};

/// The level GB/T 32960.3-2025 gives a thermal event, whatever the frame says.
const THERMAL_EVENT_LEVEL: u8 = 4;

/// Whether an alarm of `level` is critical: levels 3 and 4 are.
pub fn is_critical(level: u8) -> bool {
    level >= 3
}

/// One step in the life of an alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmEvent {
    pub vin: Vin,
    /// The flag's name, e.g. `battery_high_temperature`.
    pub kind: &'static str,
    /// The level after this event; for `Closed`, the level the alarm had while open.
    pub level: u8,
    /// `level` is 3 or 4.
    pub critical: bool,
    /// The device time of the sample that caused the event.
    pub at: Timestamp,
    pub change: AlarmChange,
}

/// What happened to the alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AlarmChange {
    Opened,
    Closed,
    LevelChanged { from: u8 },
}

/// Open alarms and the newest live sample time of every vehicle seen.
#[derive(Debug, Default)]
pub struct AlarmTracker {
    vehicles: HashMap<Vin, VehicleState>,
}

#[derive(Debug, Default)]
struct VehicleState {
    /// `ts` of the newest live sample.
    last_ts: Option<Timestamp>,
    /// Open alarms: kind → level.
    open: BTreeMap<&'static str, u8>,
}

impl AlarmTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one sample; `flag_levels` are the 2025 per-flag `(bit, level)` pairs of the same
    /// frame (ignored for 2016). Returns the events it caused, in bit order, then any alarm of a
    /// kind the sample's edition does not name (closed).
    pub fn on_sample(&mut self, s: &VehicleSample, flag_levels: &[(u8, u8)]) -> Vec<AlarmEvent> {
        if s.reissue {
            return Vec::new();
        }
        let edition_2025 = match s.source.as_str() {
            "gbt32960-2016" => false,
            "gbt32960-2025" => true,
            _ => return Vec::new(),
        };
        if !self.vehicles.contains_key(&s.vin) {
            self.vehicles.insert(s.vin.clone(), VehicleState::default());
        }
        let Some(state) = self.vehicles.get_mut(&s.vin) else {
            return Vec::new();
        };
        if state.last_ts.is_some_and(|last| s.ts < last) {
            return Vec::new();
        }
        state.last_ts = Some(s.ts);
        let Some(flags) = s.alarm_flags else {
            return Vec::new();
        };

        let event = |kind, level, change| AlarmEvent {
            vin: s.vin.clone(),
            kind,
            level,
            critical: is_critical(level),
            at: s.ts,
            change,
        };
        let mut events = Vec::new();
        let mut named = Vec::new();
        for bit in 0u8..32 {
            let Some(kind) = flag_name(edition_2025, bit) else {
                continue;
            };
            named.push(kind);
            let was = state.open.get(kind).copied();
            if flags >> bit & 1 == 0 {
                if let Some(level) = was {
                    state.open.remove(kind);
                    events.push(event(kind, level, AlarmChange::Closed));
                }
                continue;
            }
            let level = if edition_2025 && bit == THERMAL_EVENT_BIT {
                Some(THERMAL_EVENT_LEVEL)
            } else if edition_2025 {
                flag_levels
                    .iter()
                    .find(|(b, _)| *b == bit)
                    .map(|(_, l)| *l)
                    .or(s.alarm_level)
            } else {
                s.alarm_level
            };
            match (was, level) {
                (None, level) => {
                    let level = level.unwrap_or(0);
                    state.open.insert(kind, level);
                    events.push(event(kind, level, AlarmChange::Opened));
                }
                (Some(from), Some(level)) if from != level => {
                    state.open.insert(kind, level);
                    events.push(event(kind, level, AlarmChange::LevelChanged { from }));
                }
                (Some(_), _) => {}
            }
        }
        // Kinds this edition does not name can only be open after an edition switch.
        let stale: Vec<_> = state
            .open
            .iter()
            .filter(|(kind, _)| !named.contains(kind))
            .map(|(kind, level)| (*kind, *level))
            .collect();
        for (kind, level) in stale {
            state.open.remove(kind);
            events.push(event(kind, level, AlarmChange::Closed));
        }
        events
    }

    /// The open alarms of `vin` as `(kind, level)`, in name order.
    pub fn open_alarms(&self, vin: &Vin) -> Vec<(&'static str, u8)> {
        self.vehicles
            .get(vin)
            .map(|v| v.open.iter().map(|(k, l)| (*k, *l)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
