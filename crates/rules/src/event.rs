//! What the engine emits: one step in the life of an alarm, and the names of every alarm kind.

use model::{Timestamp, Vin};
use serde::Serialize;

/// One step in the life of an alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmEvent {
    /// The vehicle the alarm is about.
    pub entity_id: Vin,
    /// A GB/T 32960 flag name (`battery_high_temperature`, …) or a derived kind (`offline`, …);
    /// [`kind_from_str`] knows them all.
    pub kind: &'static str,
    /// The level after this event; for `Closed`, the level the alarm had while open.
    pub level: u8,
    /// `level` is 3 or 4.
    pub critical: bool,
    /// Device time of the sample that caused the event; the platform time (`now`) of the tick
    /// for events a tick caused. Two exceptions: a sample whose clock is far ahead is not
    /// trusted for time, so what it causes (`clock_ahead` opening, `offline` closing) is at its
    /// receive time; an `offline` that a logout ended closes at the logout's time.
    pub at: Timestamp,
    pub change: AlarmChange,
    pub source: AlarmSource,
    /// The facts behind the event, for people: the measured value against the limit, the
    /// frame's fault codes, or why it closed.
    pub detail: String,
}

/// What happened to the alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AlarmChange {
    Opened,
    Closed,
    LevelChanged { from: u8 },
}

/// Who raised the alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmSource {
    /// The vehicle set a GB/T 32960 general alarm flag.
    Vehicle,
    /// The platform derived it from the data.
    Rule,
}

impl AlarmSource {
    /// The `source` column of the `alarms` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vehicle => "vehicle",
            Self::Rule => "rule",
        }
    }
}

/// The kinds the platform derives, in the order a sample evaluates them (after the vehicle's own
/// flags). The vehicle's flags have no separate list: they are `model::alarm_flags`.
pub(crate) mod kind {
    pub(crate) const OFFLINE: &str = "offline";
    pub(crate) const CLOCK_AHEAD: &str = "clock_ahead";
    pub(crate) const CELL_VOLTAGE_SPREAD: &str = "cell_voltage_spread";
    pub(crate) const CELL_VOLTAGE_DEVIATION: &str = "cell_voltage_deviation";
    pub(crate) const TEMPERATURE_HIGH: &str = "temperature_high";
    pub(crate) const TEMPERATURE_RISE: &str = "temperature_rise";
    pub(crate) const TEMPERATURE_SPREAD: &str = "temperature_spread";
    pub(crate) const INSULATION_LOW: &str = "insulation_low";
    /// Not `soc_jump`: that is a GB/T 32960 flag name (bit 8 of both editions), and one kind
    /// must have one owner, or the vehicle's "clear" and the rule's "holds" would fight over
    /// one open alarm.
    pub(crate) const SOC_JUMP_OBSERVED: &str = "soc_jump_observed";
    pub(crate) const ODOMETER_BACKWARDS: &str = "odometer_backwards";
    pub(crate) const POSITION_JUMP: &str = "position_jump";
    pub(crate) const DATA_QUALITY: &str = "data_quality";

    pub(crate) const DERIVED: [&str; 12] = [
        OFFLINE,
        CLOCK_AHEAD,
        CELL_VOLTAGE_SPREAD,
        CELL_VOLTAGE_DEVIATION,
        TEMPERATURE_HIGH,
        TEMPERATURE_RISE,
        TEMPERATURE_SPREAD,
        INSULATION_LOW,
        SOC_JUMP_OBSERVED,
        ODOMETER_BACKWARDS,
        POSITION_JUMP,
        DATA_QUALITY,
    ];
}

/// The kind the engine uses for `kind`, if it can emit it: every flag name of either GB/T 32960
/// edition and every derived kind. For turning alarm kinds read back from storage into the
/// engine's `&'static str`s.
pub fn kind_from_str(kind: &str) -> Option<&'static str> {
    use model::alarm_flags::{FLAG_NAMES_2016, FLAG_NAMES_2025};
    kind::DERIVED
        .iter()
        .chain(FLAG_NAMES_2016.iter())
        .chain(FLAG_NAMES_2025.iter())
        .find(|k| **k == kind)
        .copied()
}

/// Who raises `kind` (a kind of [`kind_from_str`]).
pub(crate) fn source_of(kind: &str) -> AlarmSource {
    if kind::DERIVED.contains(&kind) {
        AlarmSource::Rule
    } else {
        AlarmSource::Vehicle
    }
}
