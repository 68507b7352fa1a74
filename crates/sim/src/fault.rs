//! Faults a simulated vehicle can be given, so that a test (or a demo) knows exactly which
//! vehicle should trip which of the platform's alarms, and when.
//!
//! A fault has an onset in the vehicle's own simulated time. From then on the vehicle's
//! physics change (a module runs away thermally, the insulation breaks down, a cell
//! self-discharges), its BMS raises the alarm flags a real one would, or — for
//! [`Fault::Offline`] — its terminal falls silent. The physics live in [`crate::vehicle`];
//! the silence in the GB/T 32960 sessions.

use std::fmt;
use std::str::FromStr;

use model::Timestamp;
use serde::Serialize;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Thermal runaway in one battery module: its probes climb by 5–8 °C a second toward
    /// ~95 °C; the BMS flags high temperature and temperature difference (level 3) and, in
    /// 2025, a thermal event (level 4).
    Thermal,
    /// The high-voltage insulation breaks down: the resistance falls at once to 15–25 kΩ
    /// (below 100 Ω/V of any pack voltage) and the BMS flags `insulation` at level 3.
    Insulation,
    /// One cell self-discharges through an internal short: within five seconds it sits about
    /// 0.45 V below its neighbours and stays there. No flag: the platform should see it first.
    CellDrift,
    /// The terminal stops sending anything while the vehicle drives: no reports, no
    /// heartbeats, no logout.
    Offline,
}

impl Fault {
    /// Every fault, in the order `--faults` documents them.
    pub const ALL: [Self; 4] = [
        Self::Thermal,
        Self::Insulation,
        Self::CellDrift,
        Self::Offline,
    ];

    /// The name on the command line and in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Self::Thermal => "thermal",
            Self::Insulation => "insulation",
            Self::CellDrift => "cell-drift",
            Self::Offline => "offline",
        }
    }

    /// Whether the vehicle must be on the road when the fault sets in for the fault to mean
    /// what it should (a vehicle that vanishes while driving; a runaway under load).
    pub fn needs_driving(self) -> bool {
        matches!(self, Self::Thermal | Self::Offline)
    }

    /// Parses a comma-separated list such as `thermal,offline`; spaces around names are
    /// allowed, an empty text is an empty list, and a name may repeat.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, UnknownFault> {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        text.split(',').map(|n| n.trim().parse()).collect()
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault name that is not one of [`Fault::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault {0:?} (known: thermal, insulation, cell-drift, offline)")]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFault(s.to_owned()))
    }
}

/// An alarm a vehicle's BMS raises: the general alarm flag's standard name (as in
/// `model::alarm_flags`) and its level. The encoder maps names to the edition's bits and drops
/// names the edition lacks (`thermal_event` in 2016).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaisedAlarm {
    pub name: &'static str,
    pub level: u8,
}

/// Which vehicle of a run got which fault, and when it set in: one entry of the summary's
/// `faults` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultOnset {
    pub vin: String,
    pub fault: Fault,
    /// The onset, a whole second of the clock: reports stamped at or after it carry the
    /// fault, reports stamped before it do not.
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_lists_parse() {
        for f in Fault::ALL {
            assert_eq!(f.name().parse::<Fault>(), Ok(f));
            assert_eq!(
                serde_json::to_value(f).unwrap(),
                serde_json::json!(f.name())
            );
        }
        assert_eq!(
            Fault::parse_list("thermal, cell-drift,offline,thermal"),
            Ok(vec![
                Fault::Thermal,
                Fault::CellDrift,
                Fault::Offline,
                Fault::Thermal
            ])
        );
        assert_eq!(Fault::parse_list(""), Ok(vec![]));
        let err = Fault::parse_list("thermal,fire").unwrap_err();
        assert_eq!(err, UnknownFault("fire".into()));
        assert!(err.to_string().contains("cell-drift"), "{err}");
    }
}
