//! GB/T 32960 clients over real TCP: simulated terminals (one connection per vehicle) or a
//! simulated carmaker platform (a 0x05 platform login, then many vehicles on one connection).
//!
//! [`run`] builds the fleet, starts one task per connection, and returns the final
//! [`Snapshot`] once every connection has logged out, or the time is up, or the caller's
//! shutdown future fires. Connections that drop are re-established with backoff and log in
//! again; a refused platform login ends the run with an error, since retrying cannot help.
//!
//! With [`Config::faults`], fault k goes to vehicle k of the run; its onset is
//! [`Config::fault_after`] from the start, rounded up to a whole second of the clock, and the
//! summary lists who got what and when.

mod frames;
mod session;
mod stats;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use model::Timestamp;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use frames::{
    LoginSeq, RealtimeEncoder, heartbeat, iccid, logout, platform_login, vehicle_login,
};
pub use proto_gbt32960::Edition;
pub use stats::{Connections, Histogram, Rtt, Snapshot};

use crate::SimError;
use crate::fault::{Fault, FaultOnset};
use crate::rng::Rng;
use crate::vehicle::{Vehicle, vin_for};
use session::{Group, Slot};
use stats::Stats;

/// How vehicles reach the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// One connection per vehicle, as T-boxes connect (Annex B).
    Terminal,
    /// Vehicles relayed by a carmaker platform: each connection logs in with 0x05 first. The
    /// vehicles are spread round-robin over `connections` connections, whose identifiers are
    /// `SIMPLATFORM` followed by a six-digit number.
    Platform {
        username: String,
        password: String,
        connections: usize,
    },
}

/// What to simulate and where to send it.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST:PORT` of the GB/T 32960 server; resolved on every connect.
    pub server: String,
    pub vehicles: usize,
    /// Time between two realtime reports of one vehicle.
    pub interval: Duration,
    pub edition: Edition,
    pub mode: Mode,
    /// VINs are this prefix followed by the zero-padded vehicle number (17 characters).
    pub vin_prefix: String,
    /// The first vehicle's number (so that several simulators can share a prefix).
    pub first_vehicle: u64,
    /// The fleet (specifications, routes, starting states) is a function of this seed.
    pub seed: u64,
    /// Heartbeat period per connection; `None`: ten report intervals, between 1 s and 30 s.
    pub heartbeat: Option<Duration>,
    /// Each vehicle logs out after this many realtime reports; `None`: no limit.
    pub reports_per_vehicle: Option<u64>,
    /// Stop (log out, close) after this long; `None`: run until the shutdown future fires.
    pub duration: Option<Duration>,
    /// How long to wait for a login reply before sending the login again (vehicle) or
    /// reconnecting (platform), and the connect timeout.
    pub login_timeout: Duration,
    /// How long to wait, when stopping, for the replies to the logouts.
    pub stop_timeout: Duration,
    /// How often `run` reports progress.
    pub progress_every: Duration,
    /// Connection attempts in flight at once, so that thousands of terminals do not overrun
    /// the server's accept backlog.
    pub max_connecting: usize,
    /// Fault k goes to vehicle k (the k-th VIN of [`Config::vins`]); a fault may repeat.
    pub faults: Vec<Fault>,
    /// When the faults set in, after the start of the run (rounded up to a whole second of
    /// the clock).
    pub fault_after: Duration,
}

impl Config {
    /// A terminal-mode, 2016-edition configuration with the usual defaults.
    pub fn new(server: impl Into<String>, vehicles: usize, interval: Duration) -> Self {
        Self {
            server: server.into(),
            vehicles,
            interval,
            edition: Edition::V2016,
            mode: Mode::Terminal,
            vin_prefix: "LSIM".to_owned(),
            first_vehicle: 1,
            seed: 1,
            heartbeat: None,
            reports_per_vehicle: None,
            duration: None,
            login_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(5),
            progress_every: Duration::from_secs(5),
            max_connecting: 256,
            faults: Vec::new(),
            fault_after: Duration::from_secs(10),
        }
    }

    /// The heartbeat period in effect.
    pub fn heartbeat_period(&self) -> Duration {
        self.heartbeat.unwrap_or_else(|| {
            (self.interval * 10).clamp(Duration::from_secs(1), Duration::from_secs(30))
        })
    }

    /// The fleet's VINs, in vehicle order.
    pub fn vins(&self) -> Result<Vec<String>, SimError> {
        (0..self.vehicles as u64)
            .map(|i| vin_for(&self.vin_prefix, self.first_vehicle + i))
            .collect()
    }

    fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        if self.vehicles == 0 {
            return bad("at least one vehicle is needed".into());
        }
        if self.interval < Duration::from_millis(1) {
            return bad("the interval must be at least 1 ms".into());
        }
        if self.heartbeat_period().is_zero() || self.login_timeout.is_zero() {
            return bad("the heartbeat period and login timeout must be positive".into());
        }
        if self.faults.len() > self.vehicles {
            return bad(format!(
                "{} faults need at least {} vehicles (fault k goes to vehicle k), not {}",
                self.faults.len(),
                self.faults.len(),
                self.vehicles
            ));
        }
        if self.fault_after > Duration::from_secs(86_400 * 365) {
            return bad("the fault onset must be within a year".into());
        }
        if let Mode::Platform {
            username,
            password,
            connections,
        } = &self.mode
        {
            if username.len() > 12 || !username.is_ascii() {
                return bad(format!(
                    "platform username {username:?}: at most 12 ASCII characters"
                ));
            }
            if password.len() > 20 || !password.is_ascii() {
                return bad("platform password: at most 20 ASCII characters".into());
            }
            if *connections == 0 || *connections > self.vehicles {
                return bad(format!(
                    "{connections} platform connections for {} vehicles",
                    self.vehicles
                ));
            }
        }
        Ok(())
    }
}

/// The onset of faults `after` from now: seconds from now (for the vehicles' simulated time)
/// and the instant (for the summary). The onset is rounded up to a whole second of the clock,
/// so that reports, whose device time has whole seconds, are stamped at or after `at` exactly
/// when they were built after the onset.
fn fault_onset(after: Duration) -> (f64, Timestamp) {
    const MICROS: i64 = 1_000_000;
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let due_us = now_us + after.as_micros() as i64;
    let at_us = (due_us + MICROS - 1) / MICROS * MICROS;
    ((at_us - now_us) as f64 / 1e6, Timestamp::from_micros(at_us))
}

/// What every connection task shares.
#[derive(Debug)]
struct Shared {
    config: Config,
    stats: Stats,
    connect_gate: Semaphore,
}

/// Runs the simulation until it finishes (every vehicle sent its reports), `config.duration`
/// passes, or `shutdown` completes; then every connection logs its vehicles out (and the
/// platform out) and closes. `progress` is called every `config.progress_every`.
///
/// Returns the final figures, or an error for a bad configuration or a refused platform login.
pub async fn run<S, P>(config: Config, shutdown: S, mut progress: P) -> Result<Snapshot, SimError>
where
    S: Future<Output = ()>,
    P: FnMut(&Snapshot),
{
    config.validate()?;
    let vins = config.vins()?;
    let groups = match &config.mode {
        Mode::Terminal => vins.len(),
        Mode::Platform { connections, .. } => *connections,
    };
    let mut slots: Vec<Vec<Slot>> = (0..groups).map(|_| Vec::new()).collect();
    // Vehicles are stepped by the time since `start`, so a fault's onset in simulated seconds
    // is the same instant on the clock.
    let start = Instant::now();
    let (onset_s, at) = fault_onset(config.fault_after);
    let mut onsets = Vec::with_capacity(config.faults.len());
    for (i, vin) in vins.into_iter().enumerate() {
        let seed = Rng::derive(config.seed, config.first_vehicle + i as u64).next_u64();
        let vehicle = match config.faults.get(i) {
            Some(&fault) => {
                onsets.push(FaultOnset {
                    vin: vin.clone(),
                    fault,
                    at,
                });
                Vehicle::faulted(vin, seed, fault, onset_s)
            }
            None => Vehicle::new(vin, seed),
        };
        slots[i % groups].push(Slot::new(vehicle, start));
    }
    let shared = Arc::new(Shared {
        stats: Stats::new(config.vehicles as u64, onsets),
        connect_gate: Semaphore::new(config.max_connecting.max(1)),
        config,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    for (index, slots) in slots.into_iter().enumerate() {
        let group = Group::new(index, slots, &shared.config);
        tasks.spawn(session::connection(shared.clone(), group, stop_rx.clone()));
    }

    let config = &shared.config;
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    let end = config.duration.map_or(far, |d| Instant::now() + d);
    let mut next_progress = Instant::now() + config.progress_every;
    // Set once stopping: after the logouts have had their time, the remaining tasks go.
    let mut hard_stop: Option<Instant> = None;
    let mut result = Ok(());
    tokio::pin!(shutdown);
    loop {
        let deadline = hard_stop.unwrap_or(end).min(next_progress);
        let stop_now = tokio::select! {
            _ = &mut shutdown, if hard_stop.is_none() => true,
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Ok(Ok(()))) => false,
                Some(Ok(Err(e))) => {
                    if result.is_ok() {
                        result = Err(e);
                    }
                    hard_stop.is_none()
                }
                Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Some(Err(_)) => false,
            },
            _ = tokio::time::sleep_until(deadline) => {
                let now = Instant::now();
                if now >= next_progress {
                    progress(&shared.stats.snapshot());
                    next_progress = now + config.progress_every;
                }
                match hard_stop {
                    Some(t) if now >= t => {
                        tasks.abort_all();
                        false
                    }
                    None => now >= end,
                    Some(_) => false,
                }
            }
        };
        if stop_now && hard_stop.is_none() {
            // Connections log out on their own; the hard stop only catches a server that
            // never answers or a socket that never drains.
            let _ = stop_tx.send(true);
            hard_stop = Some(Instant::now() + config.stop_timeout + Duration::from_secs(1));
        }
    }
    result.map(|()| shared.stats.snapshot())
}
