//! JT/T 808 terminals over real TCP, one connection each: a city fleet of taxis, buses,
//! logistics and postal vans, sanitation vehicles and port trucks ([`crate::duty`]) whose
//! terminals register, authenticate and report as real ones do (the `terminal` module), in the 2011,
//! 2013 and 2019 versions.
//!
//! [`run`] builds the fleet, starts one task per terminal, and returns the final [`Summary`]
//! once every terminal has logged out (with [`Config::reports_per_terminal`]), the time is up,
//! or the caller's shutdown future fires (then every terminal uploads what it holds and logs
//! out, within [`Config::stop_timeout`]). [`Config::fleet`] gives the identities without
//! running, for the registry CSV ([`write_csv`]).
//!
//! Every byte sent and parsed goes through `proto_jt808` (`Frame::encode`, `Framer`, `decode`).

mod fleet;
mod messages;
mod stats;
mod terminal;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use model::Timestamp;
pub use proto_jt808::Version;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use fleet::{
    CSV_HEADER, DEFAULT_VIN_PREFIX, Identity, MAX_TERMINAL_NUMBER, Versions, imei, plate,
    plate_color, terminal_id, write_csv,
};
pub use stats::{FailedTerminal, Summary, VersionSummary};

use crate::SimError;
use crate::duty::FleetVehicle;
use crate::rng::Rng;
use stats::Stats;
use terminal::Terminal;

/// What to simulate and where to send it.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST:PORT` of the JT/T 808 server; resolved on every connect.
    pub server: String,
    pub terminals: usize,
    /// The first terminal's number (ids, VINs and vehicles follow from the number, so that
    /// several simulators can share a registry).
    pub first_terminal: u64,
    pub versions: Versions,
    /// VINs are this prefix followed by the zero-padded terminal number (17 characters).
    pub vin_prefix: String,
    /// Time between two location reports while the ignition is on.
    pub interval: Duration,
    /// Time between two reports with the ignition off; `None`: six intervals.
    pub parked_interval: Option<Duration>,
    /// A heartbeat goes out after this long without sending anything.
    pub heartbeat: Duration,
    /// Each terminal logs out after taking this many fixes; `None`: no limit.
    pub reports_per_terminal: Option<u64>,
    /// Stop (upload, log out, close) after this long; `None`: run until the shutdown future.
    pub duration: Option<Duration>,
    /// The vehicles' movements are a function of this seed (identities are not).
    pub seed: u64,
    /// Mean time between two signal-loss episodes of one terminal (each between half and one
    /// and a half times it); `None`: never.
    pub signal_loss_every: Option<Duration>,
    /// Mean length of an episode (half to one and a half times it).
    pub signal_loss_length: Duration,
    /// The chance, per fix, that a 2013/2019 terminal gathers this and the next 1–4 fixes into
    /// one normal (type 0) batch instead of single reports.
    pub batch_chance: f64,
    /// How long to wait for a reply (0x8100, 0x8001) and for a connect or a write.
    pub reply_timeout: Duration,
    /// How long, once stopping, terminals have to upload, log out and close.
    pub stop_timeout: Duration,
    /// How often `run` reports progress.
    pub progress_every: Duration,
    /// Connection attempts in flight at once.
    pub max_connecting: usize,
}

impl Config {
    /// `terminals` terminals of mixed versions reporting every `interval`, with the usual
    /// defaults: heartbeat 30 s, a signal loss of about a minute every five minutes or so, a
    /// normal batch at 2 % of fixes, replies within 10 s.
    pub fn new(server: impl Into<String>, terminals: usize, interval: Duration) -> Self {
        Self {
            server: server.into(),
            terminals,
            first_terminal: 1,
            versions: Versions::Mixed,
            vin_prefix: DEFAULT_VIN_PREFIX.to_owned(),
            interval,
            parked_interval: None,
            heartbeat: Duration::from_secs(30),
            reports_per_terminal: None,
            duration: None,
            seed: 1,
            signal_loss_every: Some(Duration::from_secs(300)),
            signal_loss_length: Duration::from_secs(60),
            batch_chance: 0.02,
            reply_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(5),
            progress_every: Duration::from_secs(5),
            max_connecting: 256,
        }
    }

    /// The report period with the ignition off.
    pub fn parked_interval(&self) -> Duration {
        self.parked_interval.unwrap_or(self.interval * 6)
    }

    /// The identities of the fleet, in terminal order.
    pub fn fleet(&self) -> Result<Vec<Identity>, SimError> {
        self.validate()?;
        (0..self.terminals as u64)
            .map(|i| {
                let n = self.first_terminal + i;
                Identity::new(n, self.versions.for_number(n), &self.vin_prefix)
            })
            .collect()
    }

    fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        if self.terminals == 0 {
            return bad("at least one terminal is needed".into());
        }
        let last = self
            .first_terminal
            .checked_add(self.terminals as u64 - 1)
            .filter(|&l| l <= MAX_TERMINAL_NUMBER);
        if last.is_none() {
            return bad(format!(
                "terminals {}–{} go past {MAX_TERMINAL_NUMBER}",
                self.first_terminal,
                self.first_terminal
                    .saturating_add(self.terminals as u64 - 1)
            ));
        }
        if self.interval < Duration::from_millis(1) || self.parked_interval() < self.interval {
            return bad(
                "the interval must be at least 1 ms and the parked interval no shorter".into(),
            );
        }
        if self.heartbeat.is_zero() || self.reply_timeout.is_zero() {
            return bad("the heartbeat period and reply timeout must be positive".into());
        }
        if !(0.0..=1.0).contains(&self.batch_chance) {
            return bad(format!("batch chance {} is not in 0–1", self.batch_chance));
        }
        if self.signal_loss_every.is_some_and(|d| d.is_zero()) {
            return bad("signal losses need a positive period (or none)".into());
        }
        Ok(())
    }
}

/// What every terminal task shares.
#[derive(Debug)]
struct Shared {
    config: Config,
    stats: Stats,
    connect_gate: Semaphore,
}

fn wall_now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    Timestamp::from_micros(micros)
}

/// Runs the fleet until every terminal is done (with a report limit), `config.duration`
/// passes, or `shutdown` completes; then every terminal uploads what it holds, logs out and
/// closes. `progress` is called every `config.progress_every`.
///
/// Problems with the server (refusals, timeouts, dropped connections) are counted in the
/// summary, not returned; only a bad configuration is an error.
pub async fn run<S, P>(config: Config, shutdown: S, mut progress: P) -> Result<Summary, SimError>
where
    S: Future<Output = ()>,
    P: FnMut(&Summary),
{
    let fleet = config.fleet()?;
    let stats = Stats::new(fleet.iter().map(|id| (id.version, id.category.as_str())));
    let start = wall_now();
    let now = Instant::now();
    let terminals: Vec<Terminal> = fleet
        .into_iter()
        .map(|id| {
            let vehicle =
                FleetVehicle::new(id.category, id.powertrain, id.number, config.seed, start);
            let rng = Rng::derive(config.seed ^ 0x0808_7E7E, id.number);
            Terminal::new(id, vehicle, rng, now)
        })
        .collect();
    let shared = Arc::new(Shared {
        stats,
        connect_gate: Semaphore::new(config.max_connecting.max(1)),
        config,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    for t in terminals {
        tasks.spawn(terminal::run(shared.clone(), t, stop_rx.clone()));
    }

    let config = &shared.config;
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    let end = config.duration.map_or(far, |d| Instant::now() + d);
    let mut next_progress = Instant::now() + config.progress_every;
    // Set once stopping: after the terminals have had their time, the remaining tasks go.
    let mut hard_stop: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let deadline = hard_stop.unwrap_or(end).min(next_progress);
        let stop_now = tokio::select! {
            _ = &mut shutdown, if hard_stop.is_none() => true,
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Some(_) => false,
            },
            _ = tokio::time::sleep_until(deadline) => {
                let now = Instant::now();
                if now >= next_progress {
                    progress(&shared.stats.summary());
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
            let _ = stop_tx.send(true);
            hard_stop = Some(Instant::now() + config.stop_timeout + Duration::from_secs(1));
        }
    }
    Ok(shared.stats.summary())
}
