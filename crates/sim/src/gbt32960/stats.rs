//! Counters shared by all connections of a run, the heartbeat latency histogram, and the
//! [`Snapshot`] they add up to (the progress lines and the final JSON summary).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use proto_gbt32960::{Command, Response};
use serde::Serialize;

use crate::fault::FaultOnset;

/// Replies are tallied per command byte and response code; codes outside 0x01–0x07 share
/// slot 0.
const CODES: usize = 8;

fn code_slot(code: u8) -> usize {
    match code {
        0x01..=0x07 => usize::from(code),
        _ => 0,
    }
}

/// What one connection sent in one flush, added to the shared counters at once so that the
/// hot path touches the atomics once per write rather than once per frame.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    pub(crate) frames: u64,
    pub(crate) realtime: u64,
    pub(crate) vehicle_logins: u64,
    pub(crate) vehicle_logouts: u64,
    pub(crate) platform_logins: u64,
    pub(crate) platform_logouts: u64,
    pub(crate) heartbeats: u64,
    pub(crate) bytes: u64,
}

/// The run's counters. Everything is a relaxed atomic: the figures are statistics, and each
/// one is only ever added to.
#[derive(Debug)]
pub(crate) struct Stats {
    started: Instant,
    vehicles: u64,
    frames: AtomicU64,
    realtime: AtomicU64,
    vehicle_logins: AtomicU64,
    vehicle_logouts: AtomicU64,
    platform_logins: AtomicU64,
    platform_logouts: AtomicU64,
    heartbeats: AtomicU64,
    bytes: AtomicU64,
    /// Frames encoded but lost with a connection before they were written.
    pub(crate) frames_unsent: AtomicU64,
    /// `replies[command * CODES + code_slot(code)]`.
    replies: Vec<AtomicU64>,
    pub(crate) commands_received: AtomicU64,
    pub(crate) bad_frames: AtomicU64,
    pub(crate) connects: AtomicU64,
    pub(crate) connect_failures: AtomicU64,
    pub(crate) disconnects: AtomicU64,
    pub(crate) login_timeouts: AtomicU64,
    /// Report ticks dropped because the simulator could not keep up with the interval.
    pub(crate) ticks_skipped: AtomicU64,
    pub(crate) online: AtomicI64,
    rtt: Mutex<Histogram>,
    faults: Vec<FaultOnset>,
}

impl Stats {
    pub(crate) fn new(vehicles: u64, faults: Vec<FaultOnset>) -> Self {
        Self {
            started: Instant::now(),
            vehicles,
            frames: AtomicU64::new(0),
            realtime: AtomicU64::new(0),
            vehicle_logins: AtomicU64::new(0),
            vehicle_logouts: AtomicU64::new(0),
            platform_logins: AtomicU64::new(0),
            platform_logouts: AtomicU64::new(0),
            heartbeats: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            frames_unsent: AtomicU64::new(0),
            replies: (0..256 * CODES).map(|_| AtomicU64::new(0)).collect(),
            commands_received: AtomicU64::new(0),
            bad_frames: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            login_timeouts: AtomicU64::new(0),
            ticks_skipped: AtomicU64::new(0),
            online: AtomicI64::new(0),
            rtt: Mutex::new(Histogram::default()),
            faults,
        }
    }

    pub(crate) fn add(&self, t: &Tally) {
        self.frames.fetch_add(t.frames, Relaxed);
        self.realtime.fetch_add(t.realtime, Relaxed);
        self.vehicle_logins.fetch_add(t.vehicle_logins, Relaxed);
        self.vehicle_logouts.fetch_add(t.vehicle_logouts, Relaxed);
        self.platform_logins.fetch_add(t.platform_logins, Relaxed);
        self.platform_logouts.fetch_add(t.platform_logouts, Relaxed);
        self.heartbeats.fetch_add(t.heartbeats, Relaxed);
        self.bytes.fetch_add(t.bytes, Relaxed);
    }

    pub(crate) fn reply(&self, command: u8, code: u8) {
        self.replies[usize::from(command) * CODES + code_slot(code)].fetch_add(1, Relaxed);
    }

    pub(crate) fn rtt(&self, d: Duration) {
        let mut h = self.rtt.lock().unwrap_or_else(|e| e.into_inner());
        h.record(d.as_micros().min(u128::from(u64::MAX)) as u64);
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let elapsed = self.started.elapsed().as_secs_f64();
        let mut replies: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        for (i, n) in self.replies.iter().enumerate() {
            let n = n.load(Relaxed);
            if n == 0 {
                continue;
            }
            let command = Command((i / CODES) as u8);
            let slot = i % CODES;
            let code = if slot == 0 {
                "other"
            } else {
                Response(slot as u8).label()
            };
            *replies
                .entry(command.label().to_owned())
                .or_default()
                .entry(code.to_owned())
                .or_default() += n;
            if slot != usize::from(Response::SUCCESS.0) {
                *errors.entry(code.to_owned()).or_default() += n;
            }
        }
        let rtt = self.rtt.lock().unwrap_or_else(|e| e.into_inner());
        let ms = |q: f64| rtt.quantile(q).map(|us| us as f64 / 1000.0);
        let frames = self.frames.load(Relaxed);
        Snapshot {
            frames_sent: frames,
            realtime_sent: self.realtime.load(Relaxed),
            replies,
            errors,
            rate_fps: if elapsed > 0.0 {
                frames as f64 / elapsed
            } else {
                0.0
            },
            heartbeat_rtt_ms: Rtt {
                p50: ms(0.5),
                p99: ms(0.99),
                max: ms(1.0),
                count: rtt.count(),
            },
            elapsed_s: elapsed,
            vehicles: self.vehicles,
            vehicles_online: self.online.load(Relaxed).max(0) as u64,
            vehicle_logins_sent: self.vehicle_logins.load(Relaxed),
            vehicle_logouts_sent: self.vehicle_logouts.load(Relaxed),
            platform_logins_sent: self.platform_logins.load(Relaxed),
            platform_logouts_sent: self.platform_logouts.load(Relaxed),
            heartbeats_sent: self.heartbeats.load(Relaxed),
            bytes_sent: self.bytes.load(Relaxed),
            frames_unsent: self.frames_unsent.load(Relaxed),
            commands_received: self.commands_received.load(Relaxed),
            bad_frames: self.bad_frames.load(Relaxed),
            login_timeouts: self.login_timeouts.load(Relaxed),
            ticks_skipped: self.ticks_skipped.load(Relaxed),
            connections: Connections {
                opened: self.connects.load(Relaxed),
                failed: self.connect_failures.load(Relaxed),
                dropped: self.disconnects.load(Relaxed),
            },
            faults: self.faults.clone(),
        }
    }
}

/// The run's figures at one moment; serialized, the final one is the summary line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Frames written to sockets (every command: logins, reports, heartbeats, logouts).
    pub frames_sent: u64,
    /// Realtime reports (0x02) among them.
    pub realtime_sent: u64,
    /// Replies received: command name → response name → count.
    pub replies: BTreeMap<String, BTreeMap<String, u64>>,
    /// Replies that were not "success", by response name, over all commands.
    pub errors: BTreeMap<String, u64>,
    /// Frames per second since the start.
    pub rate_fps: f64,
    pub heartbeat_rtt_ms: Rtt,
    pub elapsed_s: f64,
    pub vehicles: u64,
    /// Vehicles whose login was answered "success" and who have not logged out since.
    pub vehicles_online: u64,
    pub vehicle_logins_sent: u64,
    pub vehicle_logouts_sent: u64,
    pub platform_logins_sent: u64,
    pub platform_logouts_sent: u64,
    pub heartbeats_sent: u64,
    pub bytes_sent: u64,
    /// Frames built but lost with a dropped connection before they could be written.
    pub frames_unsent: u64,
    /// Commands the server sent us (parameter queries, controls); the simulator ignores them.
    pub commands_received: u64,
    /// Frames from the server that failed to frame or decode.
    pub bad_frames: u64,
    /// Vehicle logins that were not answered in time and were sent again.
    pub login_timeouts: u64,
    /// Report ticks dropped because the simulator fell behind its interval (load mode).
    pub ticks_skipped: u64,
    pub connections: Connections,
    /// The faults given (`--faults`): which VIN, which fault, and its onset.
    pub faults: Vec<FaultOnset>,
}

/// Heartbeat round trips (send → reply), milliseconds; `null` before the first one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rtt {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connections {
    pub opened: u64,
    pub failed: u64,
    pub dropped: u64,
}

/// Sub-buckets per power of two: values are kept to within 1/32 (about 3 %).
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;

/// A log-linear histogram of non-negative integers (HDR-style, fixed relative precision):
/// values below 64 exactly, larger ones in 32 buckets per power of two.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Histogram {
    fn index(v: u64) -> usize {
        if v < 2 * SUB {
            return v as usize;
        }
        let e = 63 - v.leading_zeros(); // ≥ SUB_BITS + 1
        let sub = (v >> (e - SUB_BITS)) & (SUB - 1);
        (2 * SUB + u64::from(e - SUB_BITS - 1) * SUB + sub) as usize
    }

    /// The midpoint of the values bucket `i` holds.
    fn value(i: usize) -> u64 {
        let i = i as u64;
        if i < 2 * SUB {
            return i;
        }
        let e = (i - 2 * SUB) / SUB + u64::from(SUB_BITS) + 1;
        let sub = (i - 2 * SUB) % SUB;
        let width = 1u64 << (e - u64::from(SUB_BITS));
        (1u64 << e) + sub * width + width / 2
    }

    pub fn record(&mut self, v: u64) {
        let i = Self::index(v);
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.total += 1;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` (0–1), `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Self::value(i));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_within_three_percent() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        for v in 1..=100_000u64 {
            h.record(v);
        }
        assert_eq!(h.count(), 100_000);
        for (q, exact) in [
            (0.5, 50_000.0),
            (0.99, 99_000.0),
            (0.01, 1_000.0),
            (1.0, 100_000.0),
        ] {
            let got = h.quantile(q).unwrap() as f64;
            assert!(
                (got - exact).abs() / exact < 0.035,
                "q{q}: {got} vs {exact}"
            );
        }
        let mut small = Histogram::default();
        for v in [3, 3, 7, 40] {
            small.record(v);
        }
        assert_eq!(small.quantile(0.5), Some(3));
        assert_eq!(small.quantile(1.0), Some(40));
        // Bucket boundaries are contiguous: every value lands in a bucket whose midpoint is
        // within the precision.
        for v in (64..5_000_000u64).step_by(997) {
            let mid = Histogram::value(Histogram::index(v)) as f64;
            assert!(
                (mid - v as f64).abs() / (v as f64) < 1.0 / 32.0,
                "{v} → {mid}"
            );
        }
        h.record(u64::MAX);
        assert!(h.quantile(1.0).unwrap() > u64::MAX / 2);
    }

    #[test]
    fn replies_and_errors_are_named() {
        let s = Stats::new(3, Vec::new());
        s.reply(0x01, 0x01);
        s.reply(0x01, 0x01);
        s.reply(0x02, 0x02);
        s.reply(0x07, 0x01);
        s.reply(0x01, 0x03);
        s.reply(0xC5, 0x09);
        let snap = s.snapshot();
        assert_eq!(snap.replies["vehicle_login"]["success"], 2);
        assert_eq!(snap.replies["vehicle_login"]["vin_duplicate"], 1);
        assert_eq!(snap.replies["realtime"]["error"], 1);
        assert_eq!(snap.replies["heartbeat"]["success"], 1);
        assert_eq!(snap.replies["vendor"]["other"], 1);
        assert_eq!(snap.errors.get("error"), Some(&1));
        assert_eq!(snap.errors.get("vin_duplicate"), Some(&1));
        assert_eq!(snap.errors.get("other"), Some(&1));
        assert_eq!(snap.errors.get("success"), None);
        assert_eq!(snap.vehicles, 3);
    }
}
