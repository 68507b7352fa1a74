//! `haihe simulate`: a simulated fleet speaking GB/T 32960 to a server, as terminals or through
//! a carmaker platform's login; progress lines on stderr, one JSON summary line on stdout.
//!
//! `--faults` gives the first vehicles faults (fault k to vehicle k) that set in `--fault-after`
//! seconds into the run, so that a system test knows which VIN should trip which alarm; the
//! summary's `faults` list names them with their onset.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use sim::fault::Fault;
use sim::gbt32960::{Config, Edition, Mode, Snapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EditionArg {
    #[value(name = "2016")]
    V2016,
    #[value(name = "2025")]
    V2025,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FaultArg {
    Thermal,
    Insulation,
    #[value(name = "cell-drift")]
    CellDrift,
    Offline,
}

impl FaultArg {
    fn fault(self) -> Fault {
        match self {
            Self::Thermal => Fault::Thermal,
            Self::Insulation => Fault::Insulation,
            Self::CellDrift => Fault::CellDrift,
            Self::Offline => Fault::Offline,
        }
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The GB/T 32960 server to send to.
    #[arg(long, value_name = "HOST:PORT")]
    gbt32960: String,
    /// Number of simulated vehicles.
    #[arg(long, value_name = "N", default_value_t = 10)]
    vehicles: usize,
    /// Seconds between two realtime reports of one vehicle; fractions are allowed (0.01 for
    /// load tests).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    interval: f64,
    /// Relay every vehicle through a platform login (0x05) with these credentials instead of
    /// one connection per vehicle.
    #[arg(long, value_name = "USER:PASS")]
    platform: Option<String>,
    /// Platform connections to spread the vehicles over (with --platform).
    #[arg(long, value_name = "K", default_value_t = 1)]
    connections: usize,
    /// Protocol edition: 2016 (`##`) or 2025 (`$$`).
    #[arg(long, value_enum, default_value = "2016")]
    edition: EditionArg,
    /// Stop after this many seconds (log out, then close); without it, run until Ctrl-C.
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Stop each vehicle after this many realtime reports.
    #[arg(long, value_name = "N")]
    reports: Option<u64>,
    /// VINs are this prefix and the zero-padded vehicle number, 17 characters in all (match
    /// it to the platform's `vin_prefixes`).
    #[arg(long, value_name = "PREFIX", default_value = "LSIM")]
    vin_prefix: String,
    /// Number of the first vehicle, so that several simulators can share a prefix.
    #[arg(long, value_name = "N", default_value_t = 1)]
    first_vehicle: u64,
    /// Seed of the fleet: the same seed gives the same vehicles, routes and states.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Heartbeat period in seconds [default: 10 intervals, between 1 and 30 s].
    #[arg(long, value_name = "SECS")]
    heartbeat: Option<f64>,
    /// Seconds between progress lines on stderr (0: none).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    progress: f64,
    /// Faults to inject, comma-separated; fault k goes to vehicle k (the k-th VIN), so
    /// --vehicles must be at least their number. thermal: a battery module runs away (probes
    /// climb ≥ 1 °C/s toward 95 °C; high-temperature and temperature-difference flags at level
    /// 3, in 2025 also the thermal event at level 4); insulation: the insulation falls below
    /// 100 Ω/V (insulation flag, level 3); cell-drift: one cell falls about 0.45 V below the
    /// others (no flag); offline: the vehicle, driving, stops sending anything (its terminal's
    /// connection stays open; a platform just leaves its VIN out).
    #[arg(long, value_name = "LIST", value_enum, value_delimiter = ',')]
    faults: Vec<FaultArg>,
    /// Seconds after the start at which the faults set in, rounded up to a whole second of
    /// the clock (the summary gives the exact time).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    fault_after: f64,
}

fn seconds(what: &str, secs: f64) -> anyhow::Result<Duration> {
    // NaN is refused along with zero and negative values.
    if secs.is_nan() || secs <= 0.0 {
        bail!("--{what} must be a positive number of seconds, not {secs}");
    }
    Duration::try_from_secs_f64(secs).with_context(|| format!("--{what} {secs}"))
}

impl Args {
    fn config(&self) -> anyhow::Result<Config> {
        let mut c = Config::new(
            &self.gbt32960,
            self.vehicles,
            seconds("interval", self.interval)?,
        );
        c.edition = match self.edition {
            EditionArg::V2016 => Edition::V2016,
            EditionArg::V2025 => Edition::V2025,
        };
        if let Some(creds) = &self.platform {
            let (username, password) = creds
                .split_once(':')
                .context("--platform takes USER:PASS")?;
            c.mode = Mode::Platform {
                username: username.to_owned(),
                password: password.to_owned(),
                connections: self.connections,
            };
        } else if self.connections != 1 {
            bail!("--connections applies to platform mode (--platform USER:PASS)");
        }
        c.duration = self.duration.map(|d| seconds("duration", d)).transpose()?;
        c.heartbeat = self
            .heartbeat
            .map(|h| seconds("heartbeat", h))
            .transpose()?;
        c.reports_per_vehicle = self.reports;
        c.vin_prefix = self.vin_prefix.clone();
        c.first_vehicle = self.first_vehicle;
        c.seed = self.seed;
        if self.faults.len() > self.vehicles {
            bail!(
                "--faults lists {} faults but --vehicles is {}: fault k goes to vehicle k, so at \
                 least {} vehicles are needed",
                self.faults.len(),
                self.vehicles,
                self.faults.len()
            );
        }
        // NaN is refused along with negative values; zero means from the start.
        if self.fault_after.is_nan() || self.fault_after < 0.0 {
            bail!(
                "--fault-after must be zero or a positive number of seconds, not {}",
                self.fault_after
            );
        }
        c.faults = self.faults.iter().map(|f| f.fault()).collect();
        c.fault_after = Duration::try_from_secs_f64(self.fault_after)
            .with_context(|| format!("--fault-after {}", self.fault_after))?;
        c.progress_every = if self.progress > 0.0 {
            seconds("progress", self.progress)?
        } else {
            Duration::from_secs(86_400 * 365)
        };
        Ok(c)
    }
}

/// Runs the simulation on a multi-threaded runtime; Ctrl-C stops it cleanly (logouts first).
pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let shutdown = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling available: run until the duration or the reports are done.
            std::future::pending::<()>().await;
        }
    };
    let mut last: Option<(f64, u64)> = None;
    let progress = |s: &Snapshot| print_progress(s, &mut last);
    let summary = runtime.block_on(sim::gbt32960::run(config, shutdown, progress))?;
    let line = serde_json::to_string(&summary).context("serializing the summary")?;
    #[allow(clippy::print_stdout)]
    {
        println!("{line}");
    }
    if summary.connections.opened == 0 {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "error: never connected to {} ({} attempts failed)",
                args.gbt32960, summary.connections.failed
            );
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// One progress line: totals, the rate since the last line, replies by kind, errors, latency.
fn print_progress(s: &Snapshot, last: &mut Option<(f64, u64)>) {
    let (t0, f0) = last.unwrap_or((0.0, 0));
    let window = s.elapsed_s - t0;
    let rate = if window > 0.0 {
        (s.frames_sent - f0) as f64 / window
    } else {
        0.0
    };
    *last = Some((s.elapsed_s, s.frames_sent));
    let replies: Vec<String> = s
        .replies
        .iter()
        .flat_map(|(cmd, codes)| {
            codes
                .iter()
                .map(move |(code, n)| format!("{cmd}:{code}={n}"))
        })
        .collect();
    let errors: u64 = s.errors.values().sum();
    let rtt = match (s.heartbeat_rtt_ms.p50, s.heartbeat_rtt_ms.p99) {
        (Some(p50), Some(p99)) => format!("heartbeat rtt p50 {p50:.2} ms p99 {p99:.2} ms"),
        _ => "no heartbeat replies yet".to_owned(),
    };
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "[{:7.1}s] frames {} (realtime {}) {rate:.1}/s · online {}/{} · replies {} · errors {errors} · {rtt} · connections {} up, {} failed, {} dropped",
            s.elapsed_s,
            s.frames_sent,
            s.realtime_sent,
            s.vehicles_online,
            s.vehicles,
            if replies.is_empty() {
                "none".to_owned()
            } else {
                replies.join(" ")
            },
            s.connections.opened,
            s.connections.failed,
            s.connections.dropped,
        );
    }
}
