//! Temperatures: `temperature_high` (level 3), `temperature_rise` (level 3) and
//! `temperature_spread` (level 2).
//!
//! The maximum temperature is the highest valid probe, or `max_temp_c` when the sample has no
//! valid probe; the spread uses two valid probes, or else `max_temp_c` and `min_temp_c`.
//!
//! **The rise window, exactly.** Each vehicle keeps a ring of up to [`RING`] (device time,
//! maximum temperature) points. A sample's point is stored when it is at least W/8 newer than
//! the newest stored point (W = `temp_rise_window_secs`), so ten points always reach back more
//! than W whatever the reporting rate, and memory is fixed. Points more than 10 W older than the
//! sample are forgotten (after a long silence the window starts afresh instead of averaging over
//! hours). The sample is compared with a reference point:
//! - the newest stored point at least W old, so the rise is measured over at least W; or,
//!   while no point is that old yet,
//! - the oldest stored point, provided it is at least W/2 old.
//!
//! Otherwise the rise is not evaluated. The rate is (T now − T ref) / (time between them), in
//! °C per minute; it fires when above `temp_rise_c_per_min`. A falling temperature is clear.

use model::VehicleSample;

use crate::RulesConfig;
use crate::event::kind;
use crate::lifecycle::Emitter;
use crate::rule::{Facts, ListStats, Verdict};

const RING: usize = 10;

/// Per vehicle: recent (device time µs, maximum temperature) points, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Temperature {
    points: [(i64, f64); RING],
    len: usize,
}

impl Temperature {
    pub(crate) fn evaluate(&mut self, s: &VehicleSample, cfg: &RulesConfig, em: &mut Emitter<'_>) {
        let st = ListStats::of(&s.probe_temps_c);
        let max = if st.n >= 1 {
            Some(st.max)
        } else {
            s.max_temp_c.filter(|t| t.is_finite())
        };
        em.verdict(
            kind::TEMPERATURE_HIGH,
            max.map(|max_c| {
                if max_c > cfg.temp_max_c {
                    Verdict::Holds {
                        level: 3,
                        facts: Facts::TemperatureHigh {
                            max_c,
                            limit_c: cfg.temp_max_c,
                        },
                    }
                } else {
                    Verdict::Clear
                }
            }),
        );
        let rise = max.and_then(|max_c| self.rise(s.ts.as_micros(), max_c, cfg));
        em.verdict(kind::TEMPERATURE_RISE, rise);
        let spread = st
            .extremes(2, s.max_temp_c, s.min_temp_c)
            .map(|(max_c, min_c)| {
                if max_c - min_c > cfg.temp_spread_max_c {
                    Verdict::Holds {
                        level: 2,
                        facts: Facts::TemperatureSpread {
                            max_c,
                            min_c,
                            limit_c: cfg.temp_spread_max_c,
                        },
                    }
                } else {
                    Verdict::Clear
                }
            });
        em.verdict(kind::TEMPERATURE_SPREAD, spread);
    }

    /// Judges the rise up to (`ts`, `temp`) and stores the point (see the module doc).
    fn rise(&mut self, ts: i64, temp: f64, cfg: &RulesConfig) -> Option<Verdict> {
        // At least a second; at most about 34 years, so that 10 W cannot overflow.
        let window =
            i64::try_from(cfg.temp_rise_window_secs.clamp(1, 1 << 30)).unwrap_or(1) * 1_000_000;
        // Forget points too old to say anything about a rate per minute.
        let keep_from = ts.saturating_sub(10 * window);
        let stale = self.points[..self.len]
            .iter()
            .take_while(|(t, _)| *t < keep_from)
            .count();
        self.points.copy_within(stale..self.len, 0);
        self.len -= stale;

        let points = &self.points[..self.len];
        let reference = points
            .iter()
            .rev()
            .find(|(t, _)| ts.saturating_sub(*t) >= window)
            .or_else(|| {
                points
                    .first()
                    .filter(|(t, _)| ts.saturating_sub(*t) >= window / 2)
            })
            .copied();
        let verdict = reference.map(|(t0, temp0)| {
            let over_secs = ts.saturating_sub(t0) as f64 / 1e6;
            let rate = (temp - temp0) / over_secs * 60.0;
            if rate > cfg.temp_rise_c_per_min {
                Verdict::Holds {
                    level: 3,
                    facts: Facts::TemperatureRise {
                        from_c: temp0,
                        to_c: temp,
                        over_secs,
                        rate_c_per_min: rate,
                        limit_c_per_min: cfg.temp_rise_c_per_min,
                    },
                }
            } else {
                Verdict::Clear
            }
        });

        let due = match points.last() {
            None => true,
            Some((t, _)) => ts.saturating_sub(*t) >= window / 8,
        };
        if due {
            if self.len == RING {
                self.points.copy_within(1.., 0);
                self.len -= 1;
            }
            self.points[self.len] = (ts, temp);
            self.len += 1;
        }
        verdict
    }
}
