//! Continuity between consecutive samples: `soc_jump_observed`, `odometer_backwards` and
//! `position_jump` (level 1 each).
//!
//! Each compares a sample with the previous sample of the same vehicle that carried the value
//! (so a sample where it is NULL is skipped over, not treated as a zero), then remembers the new
//! value: a step is judged once, and a vehicle whose odometer was replaced or that was towed
//! settles after `clear_after_samples` normal samples.
//!
//! - SOC: |ΔSOC| above `soc_jump_pct`, judged only when the two samples are at most
//!   `soc_jump_max_gap_secs` apart in device time (over a longer gap, charging explains anything).
//!   The kind is `soc_jump_observed` because `soc_jump` is the vehicle's own flag (bit 8).
//! - Odometer: the odometer decreased by more than `odometer_back_km`.
//! - Position: only positions the device marks valid count. Between two of them, a distance
//!   above `position_min_jump_km` at an implied speed above `position_max_kmh` (the same device
//!   time twice counts as infinite speed). Great-circle distance on a sphere of the mean Earth
//!   radius: at these limits the ellipsoid's 0.5 % does not matter.

use model::{Timestamp, VehicleSample};

use crate::RulesConfig;
use crate::event::kind;
use crate::lifecycle::Emitter;
use crate::rule::{Facts, Verdict, secs_between};

/// Mean Earth radius (IUGG), km.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Per vehicle: the last known values.
#[derive(Debug, Default)]
pub(crate) struct Continuity {
    soc: Option<(Timestamp, f64)>,
    odometer_km: Option<f64>,
    /// (ts, lon, lat) of the last valid position.
    position: Option<(Timestamp, f64, f64)>,
}

impl Continuity {
    pub(crate) fn evaluate(&mut self, s: &VehicleSample, cfg: &RulesConfig, em: &mut Emitter<'_>) {
        em.verdict(kind::SOC_JUMP_OBSERVED, self.soc(s, cfg));
        em.verdict(kind::ODOMETER_BACKWARDS, self.odometer(s, cfg));
        em.verdict(kind::POSITION_JUMP, self.position(s, cfg));
    }

    fn soc(&mut self, s: &VehicleSample, cfg: &RulesConfig) -> Option<Verdict> {
        let soc = s.soc_pct.filter(|v| v.is_finite())?;
        let prev = self.soc.replace((s.ts, soc));
        let (t0, soc0) = prev?;
        let over_secs = secs_between(t0, s.ts);
        if over_secs > cfg.soc_jump_max_gap_secs as f64 {
            return None;
        }
        Some(if (soc - soc0).abs() > cfg.soc_jump_pct {
            Verdict::Holds {
                level: 1,
                facts: Facts::SocJump {
                    from_pct: soc0,
                    to_pct: soc,
                    over_secs,
                    limit_pct: cfg.soc_jump_pct,
                },
            }
        } else {
            Verdict::Clear
        })
    }

    fn odometer(&mut self, s: &VehicleSample, cfg: &RulesConfig) -> Option<Verdict> {
        let km = s.odometer_km.filter(|v| v.is_finite())?;
        let from_km = self.odometer_km.replace(km)?;
        Some(if from_km - km > cfg.odometer_back_km {
            Verdict::Holds {
                level: 1,
                facts: Facts::OdometerBack {
                    from_km,
                    to_km: km,
                    limit_km: cfg.odometer_back_km,
                },
            }
        } else {
            Verdict::Clear
        })
    }

    fn position(&mut self, s: &VehicleSample, cfg: &RulesConfig) -> Option<Verdict> {
        if s.position_valid != Some(true) {
            return None;
        }
        let (lon, lat) = (s.lon?, s.lat?);
        if !(lon.is_finite() && lat.is_finite()) {
            return None;
        }
        let (t0, lon0, lat0) = self.position.replace((s.ts, lon, lat))?;
        let km = haversine_km(lon0, lat0, lon, lat);
        let over_secs = secs_between(t0, s.ts);
        let too_fast = over_secs <= 0.0 || km / over_secs * 3600.0 > cfg.position_max_kmh;
        Some(if km > cfg.position_min_jump_km && too_fast {
            Verdict::Holds {
                level: 1,
                facts: Facts::PositionJump {
                    km,
                    over_secs,
                    limit_km: cfg.position_min_jump_km,
                    limit_kmh: cfg.position_max_kmh,
                },
            }
        } else {
            Verdict::Clear
        })
    }
}

/// Great-circle distance between two points given in degrees.
pub(crate) fn haversine_km(lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> f64 {
    let (phi0, phi1) = (lat0.to_radians(), lat1.to_radians());
    let d_phi = phi1 - phi0;
    let d_lambda = (lon1 - lon0).to_radians();
    let h = (d_phi / 2.0).sin().powi(2) + phi0.cos() * phi1.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::haversine_km;

    #[test]
    fn haversine_matches_known_distances() {
        // One degree of latitude is about 111.2 km on the mean sphere.
        assert!((haversine_km(117.0, 39.0, 117.0, 40.0) - 111.195).abs() < 0.01);
        // Tianjin Railway Station to Beijing South Railway Station: 108.0 km as the crow flies.
        let d = haversine_km(117.2107, 39.1367, 116.3785, 39.8652);
        assert!((d - 107.98).abs() < 0.01, "{d}");
        assert_eq!(haversine_km(117.0, 39.0, 117.0, 39.0), 0.0);
    }
}
