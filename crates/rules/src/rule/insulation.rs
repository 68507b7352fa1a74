//! `insulation_low`: insulation resistance per volt of pack voltage, one kind at two levels.
//!
//! Below `insulation_critical_ohm_per_v` it is level 3, below `insulation_warning_ohm_per_v`
//! level 2; moving between the bands changes the level of the open alarm. It needs both
//! `insulation_kohm` and `total_voltage_v`, and a pack voltage of at least
//! `insulation_min_voltage_v` (with the contactors open the ratio means nothing).

use model::VehicleSample;

use crate::RulesConfig;
use crate::rule::{Facts, Verdict};

pub(crate) fn evaluate(s: &VehicleSample, cfg: &RulesConfig) -> Option<Verdict> {
    let kohm = s.insulation_kohm.filter(|k| k.is_finite())?;
    let volts = s
        .total_voltage_v
        .filter(|v| v.is_finite() && *v >= cfg.insulation_min_voltage_v && *v > 0.0)?;
    let ohm_per_v = kohm * 1000.0 / volts;
    let (level, limit) = if ohm_per_v < cfg.insulation_critical_ohm_per_v {
        (3, cfg.insulation_critical_ohm_per_v)
    } else if ohm_per_v < cfg.insulation_warning_ohm_per_v {
        (2, cfg.insulation_warning_ohm_per_v)
    } else {
        return Some(Verdict::Clear);
    };
    Some(Verdict::Holds {
        level,
        facts: Facts::Insulation {
            ohm_per_v,
            kohm,
            volts,
            limit_ohm_per_v: limit,
        },
    })
}
