//! The rules: what each one remembers per vehicle, when it can judge a sample, and the facts it
//! reports. Each submodule is one family of rules; [`crate::Engine`] calls them in a fixed order.
//!
//! A rule's judgement is a [`Verdict`] per kind, or nothing when the sample lacks the data. The
//! facts behind a verdict are plain numbers ([`Facts`], `Copy`); they become text only when the
//! lifecycle actually emits an event, so a quiet sample allocates nothing.

use std::fmt::Write as _;

use crate::FrameAlarms;

pub(crate) mod cells;
pub(crate) mod continuity;
pub(crate) mod insulation;
pub(crate) mod offline;
pub(crate) mod quality;
pub(crate) mod temperature;
pub(crate) mod vehicle;

/// One rule's judgement of one kind on one sample.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Verdict {
    Clear,
    Holds { level: u8, facts: Facts },
}

/// Why a condition holds, in numbers; [`Facts::detail`] words it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Facts {
    /// A GB/T 32960 flag; the fault codes come from the frame.
    Flag {
        level: Option<u8>,
        thermal: bool,
    },
    Offline {
        silent_secs: f64,
        period_secs: f64,
        factor: f64,
        charging: bool,
    },
    ClockAhead {
        ahead_secs: f64,
        limit_secs: u64,
    },
    CellSpread {
        max_v: f64,
        min_v: f64,
        limit_v: f64,
    },
    CellDeviation {
        /// 1-based.
        cell: usize,
        value_v: f64,
        mean_v: f64,
        sigmas: f64,
        limit_sigmas: f64,
        samples: u32,
    },
    TemperatureHigh {
        max_c: f64,
        limit_c: f64,
    },
    TemperatureRise {
        from_c: f64,
        to_c: f64,
        over_secs: f64,
        rate_c_per_min: f64,
        limit_c_per_min: f64,
    },
    TemperatureSpread {
        max_c: f64,
        min_c: f64,
        limit_c: f64,
    },
    Insulation {
        ohm_per_v: f64,
        kohm: f64,
        volts: f64,
        limit_ohm_per_v: f64,
    },
    SocJump {
        from_pct: f64,
        to_pct: f64,
        over_secs: f64,
        limit_pct: f64,
    },
    OdometerBack {
        from_km: f64,
        to_km: f64,
        limit_km: f64,
    },
    PositionJump {
        km: f64,
        over_secs: f64,
        limit_km: f64,
        limit_kmh: f64,
    },
    DataQuality {
        bits: u64,
        samples: u32,
        min_fields: u32,
    },
}

/// Why an alarm closed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Closing {
    Cleared { samples: u32 },
    NotInEdition { source: &'static str },
    Received { silent_secs: Option<f64> },
    LoggedOut,
}

impl Facts {
    pub(crate) fn detail(&self, frame: &FrameAlarms) -> String {
        let mut d = String::new();
        // Writing to a String cannot fail.
        let _ = self.write(frame, &mut d);
        d
    }

    fn write(&self, frame: &FrameAlarms, d: &mut String) -> std::fmt::Result {
        match *self {
            Self::Flag { level, thermal } => {
                match (thermal, level) {
                    (true, _) => d.push_str("thermal event: level 4 by the standard"),
                    (false, Some(level)) => write!(d, "level {level}")?,
                    (false, None) => d.push_str("level unknown"),
                }
                let mut category = "";
                for &(cat, code) in &frame.fault_codes {
                    if cat == category {
                        write!(d, ", 0x{code:08X}")?;
                    } else {
                        write!(d, "; {cat} faults 0x{code:08X}")?;
                        category = cat;
                    }
                }
            }
            Self::Offline {
                silent_secs,
                period_secs,
                factor,
                charging,
            } => write!(
                d,
                "no data for {silent_secs:.0} s > {factor} × usual period {period_secs:.0} s; last seen {}",
                if charging { "charging" } else { "driving" }
            )?,
            Self::ClockAhead {
                ahead_secs,
                limit_secs,
            } => write!(
                d,
                "device time {ahead_secs:.0} s ahead of receive time > {limit_secs} s"
            )?,
            Self::CellSpread {
                max_v,
                min_v,
                limit_v,
            } => write!(
                d,
                "max−min cell voltage {:.3} V > {limit_v:.3} V (max {max_v:.3} V, min {min_v:.3} V)",
                max_v - min_v
            )?,
            Self::CellDeviation {
                cell,
                value_v,
                mean_v,
                sigmas,
                limit_sigmas,
                samples,
            } => write!(
                d,
                "cell {cell} at {value_v:.3} V deviates {:+.3} V from the pack mean {mean_v:.3} V \
                 ({sigmas:.1} σ > {limit_sigmas} σ) on {samples} consecutive samples",
                value_v - mean_v
            )?,
            Self::TemperatureHigh { max_c, limit_c } => {
                write!(d, "max temperature {max_c:.1} °C > {limit_c:.1} °C")?;
            }
            Self::TemperatureRise {
                from_c,
                to_c,
                over_secs,
                rate_c_per_min,
                limit_c_per_min,
            } => write!(
                d,
                "max temperature rose {from_c:.1} → {to_c:.1} °C in {over_secs:.0} s: \
                 {rate_c_per_min:.1} °C/min > {limit_c_per_min:.1} °C/min"
            )?,
            Self::TemperatureSpread {
                max_c,
                min_c,
                limit_c,
            } => write!(
                d,
                "max−min temperature {:.1} °C > {limit_c:.1} °C (max {max_c:.1} °C, min {min_c:.1} °C)",
                max_c - min_c
            )?,
            Self::Insulation {
                ohm_per_v,
                kohm,
                volts,
                limit_ohm_per_v,
            } => write!(
                d,
                "insulation {ohm_per_v:.0} Ω/V < {limit_ohm_per_v:.0} Ω/V \
                 ({kohm:.0} kΩ at {volts:.1} V)"
            )?,
            Self::SocJump {
                from_pct,
                to_pct,
                over_secs,
                limit_pct,
            } => write!(
                d,
                "SOC {from_pct:.1} % → {to_pct:.1} % in {over_secs:.0} s: |Δ| {:.1} % > {limit_pct:.1} %",
                (to_pct - from_pct).abs()
            )?,
            Self::OdometerBack {
                from_km,
                to_km,
                limit_km,
            } => write!(
                d,
                "odometer {from_km:.1} km → {to_km:.1} km: back {:.1} km > {limit_km:.1} km",
                from_km - to_km
            )?,
            Self::PositionJump {
                km,
                over_secs,
                limit_km,
                limit_kmh,
            } => {
                write!(
                    d,
                    "moved {km:.2} km (> {limit_km:.1} km) in {over_secs:.0} s: "
                )?;
                if over_secs > 0.0 {
                    write!(d, "{:.0} km/h", km / over_secs * 3600.0)?;
                } else {
                    d.push_str("no time passed");
                }
                write!(d, " > {limit_kmh:.0} km/h")?;
            }
            Self::DataQuality {
                bits,
                samples,
                min_fields,
            } => write!(
                d,
                "{samples} consecutive samples with ≥ {min_fields} invalid fields; latest: {}",
                model::quality::names(bits).join(", ")
            )?,
        }
        Ok(())
    }
}

impl Closing {
    pub(crate) fn detail(&self) -> String {
        match *self {
            Self::Cleared { samples: 1 } => "clear".to_owned(),
            Self::Cleared { samples } => format!("clear on {samples} consecutive samples"),
            Self::NotInEdition { source } => format!("not a flag of {source}"),
            Self::Received {
                silent_secs: Some(secs),
            } => format!("data received again after {secs:.0} s"),
            Self::Received { silent_secs: None } => "data received again".to_owned(),
            Self::LoggedOut => "vehicle logged out".to_owned(),
        }
    }
}

/// Valid (finite) values of a list: count, minimum, maximum, sum, sum of squares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListStats {
    pub(crate) n: usize,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) sum: f64,
    pub(crate) sum_sq: f64,
}

impl ListStats {
    pub(crate) fn of(values: &[Option<f64>]) -> Self {
        let mut st = Self {
            n: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            sum_sq: 0.0,
        };
        for v in values.iter().flatten().copied() {
            if v.is_finite() {
                st.n += 1;
                st.min = st.min.min(v);
                st.max = st.max.max(v);
                st.sum += v;
                st.sum_sq += v * v;
            }
        }
        st
    }

    /// `(max, min)` from the list when it has at least `need` values, else from the sample's
    /// extreme columns when both are there.
    pub(crate) fn extremes(
        &self,
        need: usize,
        max_col: Option<f64>,
        min_col: Option<f64>,
    ) -> Option<(f64, f64)> {
        if self.n >= need {
            return Some((self.max, self.min));
        }
        match (max_col, min_col) {
            (Some(max), Some(min)) if max.is_finite() && min.is_finite() => Some((max, min)),
            _ => None,
        }
    }
}

/// Seconds between two instants.
pub(crate) fn secs_between(from: model::Timestamp, to: model::Timestamp) -> f64 {
    to.as_micros().saturating_sub(from.as_micros()) as f64 / 1e6
}
