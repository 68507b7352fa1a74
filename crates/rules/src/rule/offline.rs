//! `offline` (level 2): a vehicle that was driving or charging has gone silent.
//!
//! Judged on the platform's clock ticks against `received_at` (the platform's own time of each
//! live sample), never against device time. A vehicle counts as active when its last live
//! sample said it was driving (`vehicle_status` "started" with speed above 0) or charging
//! (`charging_status` "parked_charging" or "driving_charging"); a sample with neither status
//! says nothing and leaves the last word standing. A parked vehicle that stops reporting has
//! simply been switched off.
//!
//! Its usual period is the median (the upper one, for an even count) of its last
//! [`INTERVALS`] intervals between consecutive live receptions, ignoring intervals over
//! [`MAX_INTERVAL_SECS`] (the vehicle was off) and never below one second; before any interval
//! is known it is one second, so `offline_min_secs` decides. It is offline when silent for
//! longer than `offline_factor` × that period and for at least `offline_min_secs`.
//!
//! The alarm opens at most once per outage (it cannot open while open) and closes, without
//! hysteresis, on the vehicle's next live sample. A proper logout (GB/T 32960 0x04) makes the
//! vehicle inactive until it reports again; if the alarm was open, the next tick closes it at the
//! logout's time (the logout itself has no way to return events).
//!
//! Samples whose device clock is far ahead still count as receptions here: the platform did
//! receive them, and calling such a vehicle offline would be false. Their content is not
//! trusted, so they do not change whether the vehicle counts as active.

use model::{Timestamp, VehicleSample};

use crate::RulesConfig;
use crate::rule::{Facts, secs_between};

/// How many recent intervals the usual period is the median of.
pub(crate) const INTERVALS: usize = 8;
/// Longer intervals are the vehicle being off, not its reporting period.
pub(crate) const MAX_INTERVAL_SECS: u32 = 600;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Activity {
    #[default]
    Idle,
    Driving,
    Charging,
}

/// Per vehicle: when it was last heard, how often it reports, and whether it should be.
#[derive(Debug, Default)]
pub(crate) struct Reception {
    last_received: Option<Timestamp>,
    /// Recent intervals in milliseconds, a ring.
    intervals_ms: [u32; INTERVALS],
    len: u8,
    next: u8,
    activity: Activity,
    /// A logout since the last live sample, and when.
    logout: Option<Timestamp>,
}

impl Reception {
    /// A live sample was received at `at`. Returns how long the vehicle had been silent.
    pub(crate) fn received(&mut self, at: Timestamp) -> Option<f64> {
        self.logout = None;
        let Some(last) = self.last_received else {
            self.last_received = Some(at);
            return None;
        };
        let micros = at.as_micros().saturating_sub(last.as_micros());
        if micros > 0 {
            if let Ok(ms) = u32::try_from(micros / 1000)
                && ms <= MAX_INTERVAL_SECS * 1000
            {
                self.intervals_ms[usize::from(self.next)] = ms;
                self.next = (self.next + 1) % INTERVALS as u8;
                self.len = (self.len + 1).min(INTERVALS as u8);
            }
            self.last_received = Some(at);
        }
        Some(secs_between(last, at))
    }

    /// The platform itself was deaf until `now`: the vehicle counts as heard at `now`, without
    /// recording an interval (the gap says nothing about its reporting period).
    pub(crate) fn resume(&mut self, now: Timestamp) {
        if self.last_received.is_some_and(|last| last < now) {
            self.last_received = Some(now);
        }
    }

    /// What a trusted live sample says about the vehicle being active.
    pub(crate) fn activity_from(&mut self, s: &VehicleSample) {
        if s.vehicle_status.is_none() && s.charging_status.is_none() {
            return;
        }
        let charging = matches!(
            s.charging_status.as_deref(),
            Some("parked_charging" | "driving_charging")
        );
        let driving =
            s.vehicle_status.as_deref() == Some("started") && s.speed_kmh.is_some_and(|v| v > 0.0);
        self.activity = if charging {
            Activity::Charging
        } else if driving {
            Activity::Driving
        } else {
            Activity::Idle
        };
    }

    pub(crate) fn logged_out(&mut self, at: Timestamp) {
        self.activity = Activity::Idle;
        self.logout = Some(at);
    }

    /// The time of a logout since the last live sample.
    pub(crate) fn logout(&self) -> Option<Timestamp> {
        self.logout
    }

    /// The vehicle's usual reporting period in seconds.
    fn period_secs(&self) -> f64 {
        let mut sorted = self.intervals_ms;
        let sorted = &mut sorted[..usize::from(self.len)];
        sorted.sort_unstable();
        let median_ms = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
        (f64::from(median_ms) / 1000.0).max(1.0)
    }

    /// Whether the vehicle is offline at `now`, with the facts.
    pub(crate) fn overdue(&self, now: Timestamp, cfg: &RulesConfig) -> Option<Facts> {
        if self.activity == Activity::Idle || self.logout.is_some() {
            return None;
        }
        let silent_secs = secs_between(self.last_received?, now);
        let period_secs = self.period_secs();
        if silent_secs > cfg.offline_factor * period_secs
            && silent_secs >= cfg.offline_min_secs as f64
        {
            Some(Facts::Offline {
                silent_secs,
                period_secs,
                factor: cfg.offline_factor,
                charging: self.activity == Activity::Charging,
            })
        } else {
            None
        }
    }
}
