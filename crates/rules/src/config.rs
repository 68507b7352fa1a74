//! The thresholds of every rule, as the `[rules]` section of the platform's configuration.
//!
//! Every field has a default (the values below), so an empty section is a complete configuration;
//! unknown keys are refused so that a misspelt threshold does not silently keep its default. Each
//! name carries its unit. Counts of zero are read as one (a condition cannot need zero samples).

use serde::{Deserialize, Serialize};

/// Thresholds of the alarm rules. Levels are GB/T 32960's 1–4; 3 and 4 are critical.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// An open alarm closes after this many consecutive samples on which its condition was
    /// evaluated and found clear (anti-flapping). 1 closes at once. Default 3.
    pub clear_after_samples: u32,

    /// `offline` opens when a driving or charging vehicle has been silent for longer than this
    /// many times its usual reporting period. Default 3.
    pub offline_factor: f64,
    /// … and for at least this long. Default 30 s.
    pub offline_min_secs: u64,

    /// `cell_voltage_spread`: highest minus lowest cell voltage above this. Default 0.3 V.
    pub cell_spread_max_v: f64,
    /// `cell_voltage_deviation`: a cell further than this many population standard deviations
    /// from the pack mean … Default 4.0.
    pub cell_deviation_sigma: f64,
    /// … and further than this from the mean … Default 0.05 V.
    pub cell_deviation_min_v: f64,
    /// … on this many consecutive samples. Default 3.
    pub cell_deviation_samples: u32,

    /// `temperature_high`: highest probe temperature above this. Default 60 °C.
    pub temp_max_c: f64,
    /// `temperature_rise`: the rise is measured over at least this much device time (see
    /// the `temperature` rule module for the exact window). Default 60 s.
    pub temp_rise_window_secs: u64,
    /// … and fires above this rate. Default 3.0 °C/min.
    pub temp_rise_c_per_min: f64,
    /// `temperature_spread`: highest minus lowest probe temperature above this. Default 15 °C.
    pub temp_spread_max_c: f64,

    /// `insulation_low` at level 3 below this insulation resistance per volt. Default 100 Ω/V.
    pub insulation_critical_ohm_per_v: f64,
    /// `insulation_low` at level 2 below this. Default 500 Ω/V.
    pub insulation_warning_ohm_per_v: f64,
    /// Insulation is judged only at or above this pack voltage (below it the ratio means
    /// nothing: the contactors are open or the pack is not reported). Default 50 V.
    pub insulation_min_voltage_v: f64,

    /// `soc_jump_observed`: SOC changed by more than this between consecutive samples …
    /// Default 10 %.
    pub soc_jump_pct: f64,
    /// … at most this far apart in device time. Default 300 s.
    pub soc_jump_max_gap_secs: u64,

    /// `odometer_backwards`: the odometer went back by more than this. Default 1.0 km.
    pub odometer_back_km: f64,

    /// `position_jump`: consecutive valid positions further apart than this … Default 1.0 km.
    pub position_min_jump_km: f64,
    /// … at an implied speed above this. Default 300 km/h.
    pub position_max_kmh: f64,

    /// `data_quality`: at least this many NULL-marking bits in `quality` … Default 3.
    pub quality_min_fields: u32,
    /// … on this many consecutive samples. Default 5.
    pub quality_samples: u32,

    /// `clock_ahead`: device time ahead of receive time by more than this. Default 300 s.
    pub clock_ahead_secs: u64,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            clear_after_samples: 3,
            offline_factor: 3.0,
            offline_min_secs: 30,
            cell_spread_max_v: 0.3,
            cell_deviation_sigma: 4.0,
            cell_deviation_min_v: 0.05,
            cell_deviation_samples: 3,
            temp_max_c: 60.0,
            temp_rise_window_secs: 60,
            temp_rise_c_per_min: 3.0,
            temp_spread_max_c: 15.0,
            insulation_critical_ohm_per_v: 100.0,
            insulation_warning_ohm_per_v: 500.0,
            insulation_min_voltage_v: 50.0,
            soc_jump_pct: 10.0,
            soc_jump_max_gap_secs: 300,
            odometer_back_km: 1.0,
            position_min_jump_km: 1.0,
            position_max_kmh: 300.0,
            quality_min_fields: 3,
            quality_samples: 5,
            clock_ahead_secs: 300,
        }
    }
}
