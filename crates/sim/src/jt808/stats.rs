//! Counters shared by all terminals of a JT/T 808 run, and the [`Summary`] they add up to (the
//! progress lines and the final JSON line of `haihe simulate --jt808`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use proto_jt808::Version;
use serde::Serialize;

use crate::gbt32960::{Connections, Histogram, Rtt};

/// Terminals named in the summary's `failed_terminals` (the count covers all of them).
const MAX_FAILED_LISTED: usize = 100;

pub(crate) fn version_index(v: Version) -> usize {
    match v {
        Version::V2011 => 0,
        Version::V2013 => 1,
        Version::V2019 => 2,
    }
}

const VERSION_NAMES: [&str; 3] = ["2011", "2013", "2019"];

/// What a reply acknowledged, for the failure tallies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acked {
    Location,
    Batch,
    Heartbeat,
    Logout,
}

impl Acked {
    fn label(self) -> &'static str {
        match self {
            Self::Location => "location",
            Self::Batch => "batch",
            Self::Heartbeat => "heartbeat",
            Self::Logout => "logout",
        }
    }
}

/// Counters of the terminals of one protocol version.
#[derive(Debug, Default)]
pub(crate) struct VersionStats {
    terminals: AtomicU64,
    pub(crate) registered: AtomicU64,
    pub(crate) authenticated: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) reports_sent: AtomicU64,
    pub(crate) reports_acked: AtomicU64,
    pub(crate) batches_sent: AtomicU64,
    pub(crate) batch_items_sent: AtomicU64,
    pub(crate) batches_acked: AtomicU64,
}

#[derive(Debug, Default)]
struct Tallies {
    refused: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    ack_failures: BTreeMap<String, u64>,
    failed: Vec<FailedTerminal>,
    failed_total: u64,
}

/// The run's counters: relaxed atomics for what every report touches, a mutex for the rare
/// named tallies.
#[derive(Debug)]
pub(crate) struct Stats {
    started: Instant,
    terminals: u64,
    versions: [VersionStats; 3],
    categories: BTreeMap<String, u64>,
    pub(crate) fixes: AtomicU64,
    pub(crate) authentications: AtomicU64,
    pub(crate) online: AtomicI64,
    pub(crate) blind_batches_sent: AtomicU64,
    pub(crate) blind_items_sent: AtomicU64,
    pub(crate) blind_reports_sent: AtomicU64,
    pub(crate) heartbeats_sent: AtomicU64,
    pub(crate) heartbeats_acked: AtomicU64,
    pub(crate) logouts_sent: AtomicU64,
    pub(crate) logouts_acked: AtomicU64,
    pub(crate) signal_losses: AtomicU64,
    pub(crate) blind_dropped: AtomicU64,
    pub(crate) unsent: AtomicU64,
    pub(crate) frames_sent: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) commands_received: AtomicU64,
    pub(crate) ack_timeouts: AtomicU64,
    pub(crate) late_acks: AtomicU64,
    pub(crate) ticks_skipped: AtomicU64,
    pub(crate) connects: AtomicU64,
    pub(crate) connect_failures: AtomicU64,
    pub(crate) drops: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    tallies: Mutex<Tallies>,
    latency: Mutex<Histogram>,
}

impl Stats {
    /// Counters for a fleet of these versions and categories (one entry per terminal).
    pub(crate) fn new<'a>(fleet: impl Iterator<Item = (Version, &'a str)>) -> Self {
        let versions: [VersionStats; 3] = Default::default();
        let mut categories = BTreeMap::new();
        let mut terminals = 0;
        for (v, c) in fleet {
            terminals += 1;
            versions[version_index(v)].terminals.fetch_add(1, Relaxed);
            *categories.entry(c.to_owned()).or_default() += 1;
        }
        Self {
            started: Instant::now(),
            terminals,
            versions,
            categories,
            fixes: AtomicU64::new(0),
            authentications: AtomicU64::new(0),
            online: AtomicI64::new(0),
            blind_batches_sent: AtomicU64::new(0),
            blind_items_sent: AtomicU64::new(0),
            blind_reports_sent: AtomicU64::new(0),
            heartbeats_sent: AtomicU64::new(0),
            heartbeats_acked: AtomicU64::new(0),
            logouts_sent: AtomicU64::new(0),
            logouts_acked: AtomicU64::new(0),
            signal_losses: AtomicU64::new(0),
            blind_dropped: AtomicU64::new(0),
            unsent: AtomicU64::new(0),
            frames_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            commands_received: AtomicU64::new(0),
            ack_timeouts: AtomicU64::new(0),
            late_acks: AtomicU64::new(0),
            ticks_skipped: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            drops: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            tallies: Mutex::new(Tallies::default()),
            latency: Mutex::new(Histogram::default()),
        }
    }

    pub(crate) fn version(&self, v: Version) -> &VersionStats {
        &self.versions[version_index(v)]
    }

    fn tallies(&self) -> std::sync::MutexGuard<'_, Tallies> {
        self.tallies.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One more error of `kind` (the summary's `errors`).
    pub(crate) fn error(&self, kind: &str) {
        *self.tallies().errors.entry(kind.to_owned()).or_default() += 1;
    }

    /// A registration or authentication refused, by reason.
    pub(crate) fn refused(&self, version: Version, reason: &str) {
        self.version(version).refused.fetch_add(1, Relaxed);
        *self.tallies().refused.entry(reason.to_owned()).or_default() += 1;
    }

    /// An acknowledgement with a result other than success.
    pub(crate) fn ack_failure(&self, what: Acked, result: &str) {
        let mut t = self.tallies();
        *t.ack_failures
            .entry(format!("{}:{result}", what.label()))
            .or_default() += 1;
        *t.errors.entry("ack_failure".to_owned()).or_default() += 1;
    }

    /// A terminal that gave up, and why.
    pub(crate) fn failed(&self, terminal_id: &str, version: Version, error: String) {
        let mut t = self.tallies();
        t.failed_total += 1;
        if t.failed.len() < MAX_FAILED_LISTED {
            t.failed.push(FailedTerminal {
                terminal_id: terminal_id.to_owned(),
                version: version.as_str(),
                error,
            });
        }
    }

    pub(crate) fn latency(&self, d: Duration) {
        let mut h = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        h.record(d.as_micros().min(u128::from(u64::MAX)) as u64);
    }

    pub(crate) fn summary(&self) -> Summary {
        let elapsed = self.started.elapsed().as_secs_f64();
        let load = |a: &AtomicU64| a.load(Relaxed);
        let sum =
            |f: fn(&VersionStats) -> &AtomicU64| self.versions.iter().map(|v| load(f(v))).sum();
        let versions = self
            .versions
            .iter()
            .zip(VERSION_NAMES)
            .filter(|(v, _)| load(&v.terminals) > 0)
            .map(|(v, name)| {
                let s = VersionSummary {
                    terminals: load(&v.terminals),
                    registered: load(&v.registered),
                    authenticated: load(&v.authenticated),
                    refused: load(&v.refused),
                    reports_sent: load(&v.reports_sent),
                    reports_acked: load(&v.reports_acked),
                    batches_sent: load(&v.batches_sent),
                    batch_items_sent: load(&v.batch_items_sent),
                    batches_acked: load(&v.batches_acked),
                };
                (name.to_owned(), s)
            })
            .collect();
        let latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let ms = |q: f64| latency.quantile(q).map(|us| us as f64 / 1000.0);
        let tallies = self.tallies();
        let frames = load(&self.frames_sent);
        Summary {
            terminals: self.terminals,
            registered: sum(|v| &v.registered),
            authenticated: sum(|v| &v.authenticated),
            authentications: load(&self.authentications),
            online: self.online.load(Relaxed).max(0) as u64,
            fixes: load(&self.fixes),
            reports_sent: sum(|v| &v.reports_sent),
            reports_acked: sum(|v| &v.reports_acked),
            batches_sent: sum(|v| &v.batches_sent),
            batch_items_sent: sum(|v| &v.batch_items_sent),
            batches_acked: sum(|v| &v.batches_acked),
            blind_batches_sent: load(&self.blind_batches_sent),
            blind_items_sent: load(&self.blind_items_sent),
            blind_reports_sent: load(&self.blind_reports_sent),
            heartbeats_sent: load(&self.heartbeats_sent),
            heartbeats_acked: load(&self.heartbeats_acked),
            logouts_sent: load(&self.logouts_sent),
            logouts_acked: load(&self.logouts_acked),
            signal_losses: load(&self.signal_losses),
            refused: tallies.refused.clone(),
            failed: tallies.failed_total,
            failed_terminals: tallies.failed.clone(),
            ack_failures: tallies.ack_failures.clone(),
            ack_timeouts: load(&self.ack_timeouts),
            late_acks: load(&self.late_acks),
            errors: tallies.errors.clone(),
            reconnects: load(&self.reconnects),
            connections: Connections {
                opened: load(&self.connects),
                failed: load(&self.connect_failures),
                dropped: load(&self.drops),
            },
            unsent: load(&self.unsent),
            blind_dropped: load(&self.blind_dropped),
            ticks_skipped: load(&self.ticks_skipped),
            frames_sent: frames,
            bytes_sent: load(&self.bytes_sent),
            commands_received: load(&self.commands_received),
            rate_fps: if elapsed > 0.0 {
                frames as f64 / elapsed
            } else {
                0.0
            },
            ack_latency_ms: Rtt {
                p50: ms(0.5),
                p99: ms(0.99),
                max: ms(1.0),
                count: latency.count(),
            },
            elapsed_s: elapsed,
            versions,
            categories: self.categories.clone(),
        }
    }
}

/// A terminal that stopped for good, and why (a refused registration, usually).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedTerminal {
    pub terminal_id: String,
    pub version: &'static str,
    pub error: String,
}

/// The counters of the terminals of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionSummary {
    pub terminals: u64,
    pub registered: u64,
    pub authenticated: u64,
    pub refused: u64,
    pub reports_sent: u64,
    pub reports_acked: u64,
    pub batches_sent: u64,
    pub batch_items_sent: u64,
    pub batches_acked: u64,
}

/// The run's figures at one moment; serialized, the final one is the summary line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub terminals: u64,
    /// Terminals whose registration was answered 0x8100 result 0.
    pub registered: u64,
    /// Terminals that authenticated at least once.
    pub authenticated: u64,
    /// Successful authentications, first ones and after reconnects.
    pub authentications: u64,
    /// Terminals authenticated now (not logged out, connection up).
    pub online: u64,
    /// Location fixes the terminals took (sent live, batched, or buffered in a blind area).
    pub fixes: u64,
    /// 0x0200 reports written (2011 terminals' blind-area re-sends included).
    pub reports_sent: u64,
    /// 0x0200 reports acknowledged by 0x8001 result 0.
    pub reports_acked: u64,
    /// 0x0704 batches written, both types.
    pub batches_sent: u64,
    /// Reports inside them.
    pub batch_items_sent: u64,
    pub batches_acked: u64,
    /// 0x0704 batches of type 1 (blind-area re-send) and their reports.
    pub blind_batches_sent: u64,
    pub blind_items_sent: u64,
    /// Blind-area reports re-sent one by one as 0x0200 (2011 has no 0x0704).
    pub blind_reports_sent: u64,
    pub heartbeats_sent: u64,
    pub heartbeats_acked: u64,
    pub logouts_sent: u64,
    pub logouts_acked: u64,
    /// Signal-loss episodes begun.
    pub signal_losses: u64,
    /// Refused registrations (by 0x8100 result name) and authentications
    /// (`authentication_failed`).
    pub refused: BTreeMap<String, u64>,
    /// Terminals that gave up; the first hundred are listed with their error.
    pub failed: u64,
    pub failed_terminals: Vec<FailedTerminal>,
    /// Acknowledgements whose result was not success: `what:result` → count.
    pub ack_failures: BTreeMap<String, u64>,
    /// Reports, batches and heartbeats never acknowledged within the reply timeout.
    pub ack_timeouts: u64,
    /// Acknowledgements of nothing outstanding (after a timeout, or a serial never sent).
    pub late_acks: u64,
    /// Everything that went wrong, by kind.
    pub errors: BTreeMap<String, u64>,
    /// Connections opened after a terminal's first one.
    pub reconnects: u64,
    pub connections: Connections,
    /// Fixes never sent: buffered when a terminal stopped without a connection.
    pub unsent: u64,
    /// Blind-area reports dropped because the terminal's store was full.
    pub blind_dropped: u64,
    /// Report ticks dropped because the simulator fell behind its interval.
    pub ticks_skipped: u64,
    pub frames_sent: u64,
    pub bytes_sent: u64,
    /// Platform messages other than replies (answered 0x0001 "unsupported").
    pub commands_received: u64,
    /// Frames per second since the start.
    pub rate_fps: f64,
    /// Time from writing a message to reading its 0x8001 (reports, batches, heartbeats).
    pub ack_latency_ms: Rtt,
    pub elapsed_s: f64,
    /// The same counters per protocol version.
    pub versions: BTreeMap<String, VersionSummary>,
    /// Terminals per vehicle category.
    pub categories: BTreeMap<String, u64>,
}
