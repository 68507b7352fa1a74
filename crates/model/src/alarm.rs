//! Alarms as the platform stores and shares them: one row of the `alarms` table (DESIGN.md §4) and
//! the notice sent for each change in an alarm's life (API stream, webhooks).

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// One alarm's life: opened → (acknowledged) → closed. At most one alarm per entity and kind is
/// open at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    pub alarm_id: i64,
    /// The VIN (or terminal id, charger id) the alarm is about.
    pub entity_id: String,
    /// What is wrong: a GB/T 32960 flag name (`battery_high_temperature`, `thermal_event`, …) or a
    /// derived rule (`insulation_low`, `cell_voltage_deviation`, `offline`, …).
    pub kind: String,
    /// 1–4 as GB/T 32960 counts them; the highest level the alarm has now.
    pub level: u8,
    /// Levels 3 and 4.
    pub critical: bool,
    pub state: AlarmState,
    pub opened_at: Timestamp,
    pub acked_at: Option<Timestamp>,
    /// Who acknowledged it (the API principal).
    pub acked_by: Option<String>,
    pub ack_comment: Option<String>,
    pub closed_at: Option<Timestamp>,
    /// `vehicle` (the device raised it) or `rule` (the platform derived it).
    pub source: String,
    /// Human-readable facts behind the alarm: the measured value and the limit, fault codes.
    pub detail: String,
    /// The organisation that owns the entity, for scoping; `None` when unknown.
    pub org: Option<String>,
}

/// Where an alarm is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmState {
    /// Open and nobody has acknowledged it.
    Open,
    /// Open and acknowledged.
    Acknowledged,
    /// The condition has ended (acknowledged or not).
    Closed,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Closed => "closed",
        }
    }
}

/// Whether an alarm of `level` is critical: levels 3 and 4 are.
pub fn is_critical(level: u8) -> bool {
    level >= 3
}

/// What happened to an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmChangeKind {
    Opened,
    LevelChanged,
    Acknowledged,
    Closed,
}

impl AlarmChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::LevelChanged => "level_changed",
            Self::Acknowledged => "acknowledged",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "opened" => Self::Opened,
            "level_changed" => Self::LevelChanged,
            "acknowledged" => Self::Acknowledged,
            "closed" => Self::Closed,
            _ => return None,
        })
    }
}

/// One change in an alarm's life, as streamed and sent to webhooks. `event_id` increases with
/// every change the platform records, so a receiver can drop a repeat delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmNotice {
    pub event_id: i64,
    pub change: AlarmChangeKind,
    /// When the change happened: device time for what a sample caused, platform time otherwise.
    pub at: Timestamp,
    /// The alarm as it is after the change.
    pub alarm: Alarm,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_kinds_print_and_parse_back() {
        for k in [
            AlarmChangeKind::Opened,
            AlarmChangeKind::LevelChanged,
            AlarmChangeKind::Acknowledged,
            AlarmChangeKind::Closed,
        ] {
            assert_eq!(AlarmChangeKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert_eq!(AlarmChangeKind::parse("reopened"), None);
    }

    #[test]
    fn levels_three_and_four_are_critical() {
        assert!(!is_critical(2));
        assert!(is_critical(3));
        assert!(is_critical(4));
    }
}
