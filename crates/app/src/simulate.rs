//! `haihe simulate`: a simulated fleet speaking GB/T 32960 (`--gbt32960`: vehicles as terminals
//! or through a carmaker platform's login) or JT/T 808 (`--jt808`: a city fleet of terminals,
//! one connection each) to a server; progress lines on stderr, one JSON summary line on stdout.
//!
//! `--faults` gives the first vehicles faults (fault k to vehicle k) that set in `--fault-after`
//! seconds into the run, so that a system test knows which VIN should trip which alarm; the
//! summary's `faults` list names them with their onset.
//!
//! `--fleet-csv FILE` writes the registry of the JT/T 808 fleet (`vin,terminal_id,plate,category,
//! powertrain,owner_org`, what `haihe fleet import` reads). Alone it only writes the file and
//! exits, so that the registry can be imported before the terminals connect; with `--jt808` it
//! writes the file, then runs.
//!
//! Charging: `--tcec-operator URL` (and/or `--tcec-listen ADDR`) runs a charging operator's
//! platform speaking T/CEC 102 (pushes to the URL, answers polls on the address);
//! `--ocpp ws://HOST:PORT` runs `--chargers N` OCPP charge points. Either runs alone or beside
//! one vehicle mode, on one runtime, until `--duration` or Ctrl-C. With one mode the JSON line is
//! that mode's summary; with several it is an object with one summary per mode (`gbt32960`,
//! `jt808`, `tcec`, `ocpp`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use std::net::SocketAddr;

use anyhow::{Context, bail};
use sim::fault::Fault;
use sim::gbt32960::{Config, Edition, Mode, Snapshot};
use sim::jt808::{self, Summary, Version, Versions};
use sim::{ocpp, tcec};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EditionArg {
    #[value(name = "2016")]
    V2016,
    #[value(name = "2025")]
    V2025,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum VersionArg {
    #[value(name = "2011")]
    V2011,
    #[value(name = "2013")]
    V2013,
    #[value(name = "2019")]
    V2019,
    Mixed,
}

impl VersionArg {
    fn versions(self) -> Versions {
        match self {
            Self::V2011 => Versions::Only(Version::V2011),
            Self::V2013 => Versions::Only(Version::V2013),
            Self::V2019 => Versions::Only(Version::V2019),
            Self::Mixed => Versions::Mixed,
        }
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OcppVersionArg {
    #[value(name = "1.6")]
    V16,
    #[value(name = "2.0.1")]
    V201,
    Mixed,
}

/// At most one of `--gbt32960` and `--jt808` names the server (or `--fleet-csv` alone writes
/// the JT/T 808 registry); flags of the other protocol are refused.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The GB/T 32960 server to send to.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "jt808")]
    gbt32960: Option<String>,
    /// The JT/T 808 server to send to: a city fleet of terminals (taxis, buses, logistics and
    /// postal vans, sanitation vehicles, port trucks), one connection each.
    #[arg(long, value_name = "HOST:PORT")]
    jt808: Option<String>,
    /// Number of simulated vehicles (GB/T 32960).
    #[arg(long, value_name = "N", default_value_t = 10, conflicts_with = "jt808")]
    vehicles: usize,
    /// Number of simulated terminals (JT/T 808).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10,
        conflicts_with = "gbt32960"
    )]
    terminals: usize,
    /// Seconds between two location reports of one vehicle (JT/T 808: with the ignition on);
    /// fractions are allowed (0.01 for load tests).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    interval: f64,
    /// Relay every vehicle through a platform login (0x05) with these credentials instead of
    /// one connection per vehicle.
    #[arg(long, value_name = "USER:PASS", conflicts_with = "jt808")]
    platform: Option<String>,
    /// Platform connections to spread the vehicles over (with --platform).
    #[arg(long, value_name = "K", default_value_t = 1, conflicts_with = "jt808")]
    connections: usize,
    /// Protocol edition: 2016 (`##`) or 2025 (`$$`).
    #[arg(long, value_enum, default_value = "2016", conflicts_with = "jt808")]
    edition: EditionArg,
    /// JT/T 808 version of the terminals: 2011, 2013, 2019, or mixed (by terminal number n:
    /// n mod 3 = 1 → 2013, 2 → 2019, 0 → 2011). 2019 terminals use BCD[10] phone numbers.
    #[arg(long, value_enum, default_value = "mixed", conflicts_with = "gbt32960")]
    version: VersionArg,
    /// Stop after this many seconds (upload, log out, then close); without it, run until
    /// Ctrl-C (or until every vehicle has sent --reports).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Stop each vehicle after this many location reports (JT/T 808: fixes, whether sent
    /// alone, batched or after a signal loss), then log out.
    #[arg(long, value_name = "N")]
    reports: Option<u64>,
    /// VINs are this prefix and the zero-padded vehicle or terminal number, 17 characters in
    /// all (match it to the platform's `vin_prefixes`) [default: LSIM for GB/T 32960, LJ808 for
    /// JT/T 808].
    #[arg(long, value_name = "PREFIX")]
    vin_prefix: Option<String>,
    /// Number of the first vehicle, so that several simulators can share a prefix.
    #[arg(long, value_name = "N", default_value_t = 1, conflicts_with = "jt808")]
    first_vehicle: u64,
    /// Number n of the first terminal. Terminal n's id is 138 followed by n in eight digits
    /// (13800000001 for n = 1); its vehicle, VIN, plate, category and version follow from n.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        conflicts_with = "gbt32960"
    )]
    first_terminal: u64,
    /// Write the JT/T 808 fleet's registry to FILE as CSV, the columns `haihe fleet import`
    /// reads (vin, terminal_id, plate, category, powertrain, owner_org); alone, write it and
    /// exit; with --jt808, write it and run.
    #[arg(long, value_name = "FILE", conflicts_with = "gbt32960")]
    fleet_csv: Option<PathBuf>,
    /// Seed of the fleet: the same seed gives the same vehicles, routes and states.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Heartbeat period in seconds [default: GB/T 32960: 10 intervals, between 1 and 30 s;
    /// JT/T 808: 30 s without sending anything].
    #[arg(long, value_name = "SECS")]
    heartbeat: Option<f64>,
    /// Seconds between two reports of a JT/T 808 terminal whose ignition is off (standing at
    /// a depot, loading, off duty) [default: 6 intervals].
    #[arg(long, value_name = "SECS", conflicts_with = "gbt32960")]
    parked_interval: Option<f64>,
    /// Mean seconds between two signal-loss episodes of a JT/T 808 terminal (it buffers its
    /// reports and uploads them as one blind-area batch afterwards); 0: never.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 300.0,
        conflicts_with = "gbt32960"
    )]
    signal_loss_every: f64,
    /// Mean length of a signal-loss episode, seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60.0,
        conflicts_with = "gbt32960"
    )]
    signal_loss_secs: f64,
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
    #[arg(
        long,
        value_name = "LIST",
        value_enum,
        value_delimiter = ',',
        conflicts_with = "jt808"
    )]
    faults: Vec<FaultArg>,
    /// Seconds after the start at which the faults set in, rounded up to a whole second of
    /// the clock (the summary gives the exact time).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10.0,
        conflicts_with = "jt808"
    )]
    fault_after: f64,

    /// A charging operator's platform pushing T/CEC 102 to this base URL of the supervision
    /// platform (`http://HOST:PORT/evcs/v1/`): query_token, notification_stationInfo for every
    /// station, notification_stationStatus on every connector change,
    /// notification_charge_order_info when a session ends.
    #[arg(long, value_name = "URL")]
    tcec_operator: Option<String>,
    /// Also answer the platform's polls (query_token, query_stations_info, query_station_status,
    /// query_station_stats) on this address (port 0: any; the URL is printed on stderr and in
    /// the summary's `poll.url`). Alone, the operator only answers polls.
    #[arg(long, value_name = "ADDR")]
    tcec_listen: Option<SocketAddr>,
    /// The operator's OperatorID (9 characters).
    #[arg(long, value_name = "ID", default_value = tcec::DEFAULT_OPERATOR_ID)]
    operator_id: String,
    /// The OperatorSecret the platform gave this operator (16 characters).
    #[arg(long, value_name = "SECRET", default_value = tcec::DEFAULT_OPERATOR_SECRET)]
    operator_secret: String,
    /// DataSecret: the AES-128 key (16 characters).
    #[arg(long, value_name = "SECRET", default_value = tcec::DEFAULT_DATA_SECRET)]
    data_secret: String,
    /// DataSecretIV: the AES IV (16 characters).
    #[arg(long, value_name = "SECRET", default_value = tcec::DEFAULT_DATA_SECRET_IV)]
    data_secret_iv: String,
    /// SigSecret: the HMAC-MD5 key (16 characters).
    #[arg(long, value_name = "SECRET", default_value = tcec::DEFAULT_SIG_SECRET)]
    sig_secret: String,
    /// Stations of the T/CEC operator (2–5 chargers of two connectors each).
    #[arg(long, value_name = "N", default_value_t = 10)]
    stations: usize,
    /// Wall seconds per five simulated minutes of the T/CEC operator (sessions last 20–90
    /// simulated minutes) [default: --interval].
    #[arg(long, value_name = "SECS")]
    tcec_interval: Option<f64>,

    /// OCPP charge points connecting to ws://HOST:PORT/ocpp/{id} (ids CP-0001, CP-0002, …).
    #[arg(long, value_name = "ws://HOST:PORT")]
    ocpp: Option<String>,
    /// Number of OCPP charge points.
    #[arg(long, value_name = "N", default_value_t = 10)]
    chargers: usize,
    /// Number of the first charge point.
    #[arg(long, value_name = "N", default_value_t = 1)]
    first_charger: usize,
    /// HTTP Basic password of every charge point (security profile 1); none: no header.
    #[arg(long, value_name = "PASSWORD")]
    password: Option<String>,
    /// OCPP version: 1.6, 2.0.1, or mixed (odd numbers 1.6, even 2.0.1).
    #[arg(long, value_enum, default_value = "mixed")]
    ocpp_version: OcppVersionArg,
    /// Connectors (EVSEs) per charge point.
    #[arg(long, value_name = "N", default_value_t = 2)]
    connectors: u32,
    /// Seconds between two meter values of a charging session; a session lasts 4–18 of them.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    meter_interval: f64,
    /// Mean seconds a connector stays free before the next vehicle arrives; 0: vehicles come
    /// only by remote start.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    arrival_secs: f64,
}

fn seconds(what: &str, secs: f64) -> anyhow::Result<Duration> {
    // NaN is refused along with zero and negative values.
    if secs.is_nan() || secs <= 0.0 {
        bail!("--{what} must be a positive number of seconds, not {secs}");
    }
    Duration::try_from_secs_f64(secs).with_context(|| format!("--{what} {secs}"))
}

fn progress_period(secs: f64) -> anyhow::Result<Duration> {
    if secs > 0.0 {
        seconds("progress", secs)
    } else {
        Ok(Duration::from_secs(86_400 * 365))
    }
}

impl Args {
    fn config(&self, server: &str) -> anyhow::Result<Config> {
        let mut c = Config::new(server, self.vehicles, seconds("interval", self.interval)?);
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
        c.vin_prefix = self.vin_prefix.clone().unwrap_or_else(|| "LSIM".to_owned());
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
        c.progress_every = progress_period(self.progress)?;
        Ok(c)
    }

    fn jt808_config(&self, server: &str) -> anyhow::Result<jt808::Config> {
        let mut c = jt808::Config::new(server, self.terminals, seconds("interval", self.interval)?);
        c.versions = self.version.versions();
        c.first_terminal = self.first_terminal;
        if let Some(prefix) = &self.vin_prefix {
            c.vin_prefix = prefix.clone();
        }
        c.parked_interval = self
            .parked_interval
            .map(|p| seconds("parked-interval", p))
            .transpose()?;
        if let Some(h) = self.heartbeat {
            c.heartbeat = seconds("heartbeat", h)?;
        }
        c.reports_per_terminal = self.reports;
        c.duration = self.duration.map(|d| seconds("duration", d)).transpose()?;
        c.seed = self.seed;
        // NaN is refused along with negative values; zero means never.
        if self.signal_loss_every.is_nan() || self.signal_loss_every < 0.0 {
            bail!(
                "--signal-loss-every must be zero or a positive number of seconds, not {}",
                self.signal_loss_every
            );
        }
        c.signal_loss_every = if self.signal_loss_every > 0.0 {
            Some(seconds("signal-loss-every", self.signal_loss_every)?)
        } else {
            None
        };
        c.signal_loss_length = seconds("signal-loss-secs", self.signal_loss_secs)?;
        c.progress_every = progress_period(self.progress)?;
        Ok(c)
    }
}

/// Runs the simulation on a multi-threaded runtime; Ctrl-C stops it cleanly (logouts first).
pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let charging =
        args.tcec_operator.is_some() || args.tcec_listen.is_some() || args.ocpp.is_some();
    if charging {
        return run_modes(args);
    }
    match (&args.gbt32960, &args.jt808) {
        (Some(server), None) => run_gbt32960(args, server),
        (None, Some(server)) => run_jt808(args, Some(server)),
        (None, None) if args.fleet_csv.is_some() => run_jt808(args, None),
        (Some(_), Some(_)) => bail!("--gbt32960 and --jt808 cannot be used together"),
        (None, None) => bail!(
            "a server is needed: --gbt32960 HOST:PORT, --jt808 HOST:PORT, --tcec-operator URL \
             (or --tcec-listen ADDR) or --ocpp ws://HOST:PORT (or --fleet-csv FILE alone to \
             write the JT/T 808 fleet registry)"
        ),
    }
}

impl Args {
    fn tcec_config(&self) -> anyhow::Result<tcec::Config> {
        let interval = seconds("tcec-interval", self.tcec_interval.unwrap_or(self.interval))?;
        let mut c = tcec::Config::new(self.stations, interval);
        c.platform_url = self.tcec_operator.clone();
        c.listen = self.tcec_listen;
        c.operator_id = self.operator_id.clone();
        c.operator_secret = self.operator_secret.clone();
        c.data_secret = self.data_secret.clone();
        c.data_secret_iv = self.data_secret_iv.clone();
        c.sig_secret = self.sig_secret.clone();
        c.duration = self.duration.map(|d| seconds("duration", d)).transpose()?;
        c.seed = self.seed;
        c.progress_every = progress_period(self.progress)?;
        Ok(c)
    }

    fn ocpp_config(&self, server: &str) -> anyhow::Result<ocpp::Config> {
        let mut c = ocpp::Config::new(server, self.chargers);
        c.first_charger = self.first_charger;
        c.versions = match self.ocpp_version {
            OcppVersionArg::V16 => ocpp::Versions::Only(ocpp::Version::V16),
            OcppVersionArg::V201 => ocpp::Versions::Only(ocpp::Version::V201),
            OcppVersionArg::Mixed => ocpp::Versions::Mixed,
        };
        c.password = self.password.clone();
        c.connectors = self.connectors;
        c.meter_interval = seconds("meter-interval", self.meter_interval)?;
        // NaN is refused along with negative values; zero means remote starts only.
        if self.arrival_secs.is_nan() || self.arrival_secs < 0.0 {
            bail!(
                "--arrival-secs must be zero or a positive number of seconds, not {}",
                self.arrival_secs
            );
        }
        c.arrival_mean = if self.arrival_secs > 0.0 {
            Some(seconds("arrival-secs", self.arrival_secs)?)
        } else {
            None
        };
        c.duration = self.duration.map(|d| seconds("duration", d)).transpose()?;
        c.seed = self.seed;
        c.progress_every = progress_period(self.progress)?;
        Ok(c)
    }
}

/// Completes once `rx` turns true (Ctrl-C), or never if its sender is gone.
async fn stopped(mut rx: watch::Receiver<bool>) {
    if rx.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The charging modes, alone or beside one vehicle mode, on one runtime: one summary line (one
/// object per mode when there are several).
fn run_modes(args: &Args) -> anyhow::Result<ExitCode> {
    if args.gbt32960.is_some() && args.jt808.is_some() {
        bail!("--gbt32960 and --jt808 cannot be used together");
    }
    // Everything is checked before anything starts.
    let gbt = args.gbt32960.as_ref().map(|s| args.config(s)).transpose()?;
    let jt = args
        .jt808
        .as_ref()
        .map(|s| args.jt808_config(s))
        .transpose()?;
    if let (Some(path), Some(c)) = (&args.fleet_csv, &jt) {
        write_fleet_csv(path, &c.fleet()?)?;
    }
    let tcec_config = if args.tcec_operator.is_some() || args.tcec_listen.is_some() {
        Some(args.tcec_config()?)
    } else {
        None
    };
    let ocpp_config = args
        .ocpp
        .as_ref()
        .map(|s| args.ocpp_config(s))
        .transpose()?;

    runtime()?.block_on(async move {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            ctrl_c().await;
            let _ = stop_tx.send(true);
        });
        let mut parts: Vec<(&'static str, serde_json::Value)> = Vec::new();
        let mut failed = false;

        let gbt_run = async {
            let Some(c) = gbt else { return Ok(None) };
            let server = c.server.clone();
            let mut last = None;
            let s = sim::gbt32960::run(c, stopped(stop_rx.clone()), |s: &Snapshot| {
                print_progress(s, &mut last);
            })
            .await?;
            let ok = s.connections.opened > 0;
            if !ok {
                print_error(&format!("never connected to {server}"));
            }
            anyhow::Ok(Some((serde_json::to_value(&s)?, ok)))
        };
        let jt_run = async {
            let Some(c) = jt else { return Ok(None) };
            let server = c.server.clone();
            let mut last = None;
            let s = jt808::run(c, stopped(stop_rx.clone()), |s: &Summary| {
                print_jt808_progress(s, &mut last);
            })
            .await?;
            let ok = s.connections.opened > 0 && s.authenticated > 0;
            if !ok {
                print_error(&format!("no JT/T 808 terminal authenticated with {server}"));
            }
            anyhow::Ok(Some((serde_json::to_value(&s)?, ok)))
        };
        let tcec_run = async {
            let Some(c) = tcec_config else {
                return Ok(None);
            };
            let operator = tcec::Operator::bind(c.clone()).await?;
            if let Some(url) = operator.poll_url() {
                print_error_line(&format!("tcec: poll endpoints at {url}"));
            }
            let s = operator
                .run(stopped(stop_rx.clone()), print_tcec_progress)
                .await;
            let ok = c.platform_url.is_none() || s.station_info.delivered > 0;
            if !ok {
                print_error(&format!(
                    "no T/CEC push was delivered to {} (refusals: {:?})",
                    c.platform_url.as_deref().unwrap_or_default(),
                    s.troubles.refusals
                ));
            }
            anyhow::Ok(Some((serde_json::to_value(&s)?, ok)))
        };
        let ocpp_run = async {
            let Some(c) = ocpp_config else {
                return Ok(None);
            };
            let server = c.server.clone();
            let s = ocpp::run(c, stopped(stop_rx.clone()), print_ocpp_progress).await?;
            let ok = s.connections > 0;
            if !ok {
                print_error(&format!("no charge point could connect to {server}"));
            }
            anyhow::Ok(Some((serde_json::to_value(&s)?, ok)))
        };
        let (g, j, t, o) = tokio::join!(gbt_run, jt_run, tcec_run, ocpp_run);
        for (name, part) in [("gbt32960", g?), ("jt808", j?), ("tcec", t?), ("ocpp", o?)] {
            if let Some((value, ok)) = part {
                failed |= !ok;
                parts.push((name, value));
            }
        }
        let line = if parts.len() == 1 {
            serde_json::to_string(&parts[0].1)?
        } else {
            serde_json::to_string(
                &parts
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<serde_json::Map<_, _>>(),
            )?
        };
        #[allow(clippy::print_stdout)]
        {
            println!("{line}");
        }
        Ok(if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    })
}

fn print_error(message: &str) {
    print_error_line(&format!("error: {message}"));
}

fn print_error_line(line: &str) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{line}");
    }
}

/// One T/CEC progress line: pushes delivered of those produced, pending retries, troubles.
fn print_tcec_progress(s: &tcec::Summary) {
    print_error_line(&format!(
        "[{:7.1}s] tcec {}: stations {}/{} · status {}/{} delivered · orders {}/{} delivered ({:.1} kWh) · refused {} · network errors {} · busy {} · token queries {}",
        s.elapsed_s,
        s.operator_id,
        s.station_info.delivered,
        s.stations,
        s.status.delivered,
        s.status.generated,
        s.orders.delivered,
        s.orders.generated,
        s.delivered_energy_kwh,
        s.station_info.refused + s.status.refused + s.orders.refused,
        s.troubles.network_errors,
        s.troubles.busy,
        s.troubles.token_queries,
    ));
}

/// One OCPP progress line.
fn print_ocpp_progress(p: &ocpp::Progress) {
    print_error_line(&format!(
        "[{:7.1}s] ocpp: {}/{} charge points connected",
        p.elapsed_s, p.online, p.chargers
    ));
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Completes on Ctrl-C; never, where signals cannot be handled (the run then ends by its
/// duration or report limit).
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn run_gbt32960(args: &Args, server: &str) -> anyhow::Result<ExitCode> {
    let config = args.config(server)?;
    let mut last: Option<(f64, u64)> = None;
    let progress = |s: &Snapshot| print_progress(s, &mut last);
    let summary = runtime()?.block_on(sim::gbt32960::run(config, ctrl_c(), progress))?;
    let line = serde_json::to_string(&summary).context("serializing the summary")?;
    #[allow(clippy::print_stdout)]
    {
        println!("{line}");
    }
    if summary.connections.opened == 0 {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "error: never connected to {server} ({} attempts failed)",
                summary.connections.failed
            );
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the fleet registry if asked; then, given a server, runs the fleet.
fn run_jt808(args: &Args, server: Option<&str>) -> anyhow::Result<ExitCode> {
    let config = args.jt808_config(server.unwrap_or_default())?;
    if let Some(path) = &args.fleet_csv {
        let fleet = config.fleet()?;
        write_fleet_csv(path, &fleet)?;
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "wrote the registry of {} terminals to {} (import it with `haihe fleet import`)",
                fleet.len(),
                path.display()
            );
        }
    }
    let Some(server) = server else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut last: Option<(f64, u64)> = None;
    let progress = |s: &Summary| print_jt808_progress(s, &mut last);
    let summary = runtime()?.block_on(jt808::run(config, ctrl_c(), progress))?;
    let line = serde_json::to_string(&summary).context("serializing the summary")?;
    #[allow(clippy::print_stdout)]
    {
        println!("{line}");
    }
    #[allow(clippy::print_stderr)]
    if summary.connections.opened == 0 {
        eprintln!(
            "error: never connected to {server} ({} attempts failed)",
            summary.connections.failed
        );
        return Ok(ExitCode::FAILURE);
    } else if summary.authenticated == 0 {
        let refused: Vec<String> = summary
            .refused
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        eprintln!(
            "error: no terminal authenticated (refused: {}); is the fleet in the registry? \
             (haihe simulate --fleet-csv FILE …, then haihe fleet import FILE)",
            if refused.is_empty() {
                "none".to_owned()
            } else {
                refused.join(", ")
            }
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn write_fleet_csv(path: &Path, fleet: &[jt808::Identity]) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    jt808::write_csv(&mut out, fleet).with_context(|| format!("writing {}", path.display()))?;
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// One JT/T 808 progress line: fixes and their rate, reports and batches with their acks,
/// terminals online, refusals, reconnects, errors and ack latency.
fn print_jt808_progress(s: &Summary, last: &mut Option<(f64, u64)>) {
    let (t0, f0) = last.unwrap_or((0.0, 0));
    let window = s.elapsed_s - t0;
    let rate = if window > 0.0 {
        (s.frames_sent - f0) as f64 / window
    } else {
        0.0
    };
    *last = Some((s.elapsed_s, s.frames_sent));
    let refused: u64 = s.refused.values().sum();
    let errors: u64 = s.errors.values().sum();
    let latency = match (s.ack_latency_ms.p50, s.ack_latency_ms.p99) {
        (Some(p50), Some(p99)) => format!("ack p50 {p50:.2} ms p99 {p99:.2} ms"),
        _ => "no acks yet".to_owned(),
    };
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "[{:7.1}s] frames {} {rate:.1}/s · fixes {} · reports {}/{} acked · batches {}/{} acked ({} blind) · online {}/{} · refused {refused} · reconnects {} · errors {errors} · {latency}",
            s.elapsed_s,
            s.frames_sent,
            s.fixes,
            s.reports_acked,
            s.reports_sent,
            s.batches_acked,
            s.batches_sent,
            s.blind_batches_sent,
            s.online,
            s.terminals,
            s.reconnects,
        );
    }
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
