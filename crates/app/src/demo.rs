//! `haihe demo`: the platform and the built-in simulators of every protocol in one process — a
//! Tianjin district with its NEVs (GB/T 32960, through two carmaker platforms and as direct
//! terminals), a fleet of JT/T 808 terminals, two charging operators over T/CEC 102 (one polled,
//! one pushing) and the city's own OCPP chargers on two sites with power limits, plus a few
//! vehicles that develop faults so that alarms appear.
//!
//! Without `--config` the configuration is built here and written to `DATA_DIR/demo.toml` (so it
//! can be read, edited and passed back with `--config`); `HAIHE_SECTION__KEY` variables override
//! it as they do for `haihe serve`. With `--config FILE` the simulators follow that file: its
//! carmaker platforms (the first of each one's `vin_prefixes`), its T/CEC peers (one with a
//! `base_url` is answered by a simulated operator bound on that URL's address), and its OCPP
//! listener (charge points `CP-0001`…, no password; `[ocpp] admission` must let them in).
//!
//! The dashboard address (with a one-click `#token=` link) and the admin token are printed on
//! stdout once everything has started. Ctrl-C or SIGTERM stops the simulators (logouts, last
//! pushes), then the platform, and exits with 0.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use sim::fault::Fault;
use sim::{gbt32960, jt808, ocpp, tcec};
use tokio::sync::watch;

use crate::config::{Config, TcecPeer, TerminalPolicy};

/// Where the demo keeps its data unless `--data-dir` (or `--config`) says otherwise.
const DEFAULT_DATA_DIR: &str = "./haihe-demo";
/// The dashboard's usual address; a free port is taken when it is in use.
const DEFAULT_HTTP: &str = "127.0.0.1:8080";
/// Stations of the first, second, … charging operator.
const OPERATOR_STATIONS: [usize; 2] = [20, 10];
/// The faults given, in turn, to the first vehicles of the first carmaker platform.
const FAULTS: [Fault; 3] = [Fault::Thermal, Fault::Insulation, Fault::CellDrift];
/// VIN prefix of the vehicles connecting as their own terminals.
const DIRECT_PREFIX: &str = "LDEMT";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A TOML configuration to run instead of the built-in demo city (the simulators follow
    /// its platforms, T/CEC peers and listeners).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The data directory [default: ./haihe-demo, or the configuration's `data_dir`].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// GB/T 32960 vehicles (about 10 % direct terminals, the rest through the two carmaker
    /// platforms); the JT/T 808 fleet (300) and the OCPP chargers (50) shrink with small numbers.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    vehicles: usize,
    /// The HTTP address (API and dashboard) [default: 127.0.0.1:8080, or a free port on
    /// 127.0.0.1 when 8080 is taken; `127.0.0.1:0` always takes a free one].
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// Seconds after the start at which the faulty vehicles' faults set in.
    #[arg(long, value_name = "SECS", default_value_t = 180.0)]
    fault_after: f64,
    /// Seconds between two reports of a vehicle (GB/T 32960 and JT/T 808).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    interval: f64,
}

fn seconds(what: &str, secs: f64) -> anyhow::Result<Duration> {
    if secs.is_nan() || secs < 0.0 {
        bail!("--{what} must be zero or a positive number of seconds, not {secs}");
    }
    Duration::try_from_secs_f64(secs).with_context(|| format!("--{what} {secs}"))
}

/// The sizes of the simulated city for `vehicles` NEVs.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    vehicles: usize,
    terminals: usize,
    chargers: usize,
}

impl Sizes {
    fn new(vehicles: usize) -> anyhow::Result<Self> {
        if vehicles == 0 || vehicles > 200_000 {
            bail!("--vehicles must be 1 to 200000, not {vehicles}");
        }
        Ok(Self {
            vehicles,
            // 300 fleet terminals beside 2 000 NEVs; at least a few.
            terminals: (vehicles * 3 / 20).clamp(3, 300),
            chargers: (vehicles / 40).clamp(10, 50),
        })
    }
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let sizes = Sizes::new(args.vehicles)?;
    let fault_after = seconds("fault-after", args.fault_after)?;
    let interval = seconds("interval", args.interval)?;
    if interval < Duration::from_millis(100) {
        bail!("--interval must be at least 0.1 s");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("haihe")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(demo(args, sizes, fault_after, interval))?;
    Ok(ExitCode::SUCCESS)
}

/// Simulated operators bound before the platform starts (their poll URL goes into its
/// configuration), by operator id.
type Bound = Vec<(String, tcec::Operator)>;

async fn demo(
    args: &Args,
    sizes: Sizes,
    fault_after: Duration,
    interval: Duration,
) -> anyhow::Result<()> {
    // Signals are caught from here on, so a Ctrl-C during the start is not lost.
    let mut signals = Signals::new()?;
    let mut bound: Bound = Vec::new();
    let (mut config, config_file) = match &args.config {
        Some(file) => (
            Config::load(Some(file), args.data_dir.as_deref())?,
            file.clone(),
        ),
        None => {
            let data_dir = args
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
            std::fs::create_dir_all(&data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            // The polled operator first: its address goes into the configuration.
            let polled = operator_config(&builtin_peers(None)[0], 0, interval, None)?;
            let operator = bind_operator(polled).await?;
            let poll_url = operator.poll_url().unwrap_or_default().to_owned();
            bound.push((builtin_peers(None)[0].operator_id.clone(), operator));
            let http = match &args.http {
                Some(a) => a.clone(),
                None => default_http(),
            };
            // Absolute, so that `--config DATA_DIR/demo.toml` finds it from anywhere.
            let kept_dir = std::fs::canonicalize(&data_dir).unwrap_or_else(|_| data_dir.clone());
            let text = builtin_config(&kept_dir, &http, &poll_url, sizes);
            let file = data_dir.join("demo.toml");
            crate::platform::write_atomically(&file, text.as_bytes())?;
            (Config::load(Some(&file), Some(&data_dir))?, file)
        }
    };
    if let Some(http) = &args.http {
        config.http.listen = http.clone();
    }

    // The JT/T 808 registry is in the catalog before any terminal registers.
    let jt_config = jt808::Config::new("", sizes.terminals, interval);
    let fleet = jt_config.fleet()?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let csv = config.data_dir.join("demo-fleet.csv");
    let mut bytes = Vec::new();
    jt808::write_csv(&mut bytes, &fleet).context("writing the fleet registry")?;
    crate::platform::write_atomically(&csv, &bytes)?;
    crate::fleet::import(&csv, &config.data_dir)?;

    let running = crate::platform::start(config.clone()).await?;
    let ports = running.ports;
    let (stop_tx, stop_rx) = watch::channel(false);
    let sims = match start_simulators(
        &config,
        ports,
        sizes,
        fault_after,
        interval,
        jt_config,
        bound,
        &stop_rx,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            running.stop().await;
            return Err(e);
        }
    };
    print_banner(
        &config,
        &config_file,
        ports,
        running.admin_token.as_deref(),
        &sims,
    );

    signals.wait().await;
    tracing::info!("stopping the simulators");
    let _ = stop_tx.send(true);
    let joined = tokio::time::timeout(Duration::from_secs(20), async {
        for t in sims.tasks {
            let _ = t.await;
        }
    })
    .await;
    if joined.is_err() {
        tracing::warn!("the simulators did not stop in time");
    }
    running.stop().await;
    Ok(())
}

/// The HTTP address: 8080 on the loopback when it is free, any free port otherwise.
fn default_http() -> String {
    match std::net::TcpListener::bind(DEFAULT_HTTP) {
        Ok(l) => {
            drop(l);
            DEFAULT_HTTP.to_owned()
        }
        Err(_) => "127.0.0.1:0".to_owned(),
    }
}

/// The demo's two charging operators (the first polled at `poll_url`, the second pushing).
fn builtin_peers(poll_url: Option<&str>) -> [TcecPeer; 2] {
    [
        TcecPeer {
            operator_id: tcec::DEFAULT_OPERATOR_ID.to_owned(),
            operator_secret: tcec::DEFAULT_OPERATOR_SECRET.to_owned(),
            data_secret: tcec::DEFAULT_DATA_SECRET.to_owned(),
            data_secret_iv: tcec::DEFAULT_DATA_SECRET_IV.to_owned(),
            sig_secret: tcec::DEFAULT_SIG_SECRET.to_owned(),
            base_url: poll_url.map(str::to_owned),
            org: Some("operator-a".to_owned()),
        },
        TcecPeer {
            operator_id: "MA02TJEV7".to_owned(),
            operator_secret: "OpSecretTjEv0002".to_owned(),
            data_secret: "DataSecretTjEv02".to_owned(),
            data_secret_iv: "DataIvTjEv000002".to_owned(),
            sig_secret: "SigSecretTjEv002".to_owned(),
            base_url: None,
            org: Some("operator-b".to_owned()),
        },
    ]
}

/// A TOML basic string (quoted, escaped): JSON's string syntax is a subset of it.
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The demo city's configuration.
fn builtin_config(data_dir: &Path, http: &str, poll_url: &str, sizes: Sizes) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# The configuration `haihe demo` built (pass it back with --config to change it).\n"
    );
    let _ = writeln!(
        t,
        "data_dir = {}\n",
        quoted(&data_dir.display().to_string())
    );
    let _ = writeln!(t, "[http]\nlisten = {}\n", quoted(http));
    let _ = writeln!(
        t,
        "[gbt32960]\nlisten = \"127.0.0.1:0\"\nterminals = \"open\"\n"
    );
    for (user, org, prefix) in [
        ("carmaker-a", "carmaker-a", "LDEMA"),
        ("carmaker-b", "carmaker-b", "LDEMB"),
    ] {
        let _ = writeln!(
            t,
            "[[gbt32960.platforms]]\nusername = \"{user}\"\npassword = \"demo-{user}\"\n\
             org = \"{org}\"\nvin_prefixes = [\"{prefix}\"]\n"
        );
    }
    let _ = writeln!(
        t,
        "[jt808]\nlisten = \"127.0.0.1:0\"\nterminals = \"registered\"\n"
    );
    let _ = writeln!(
        t,
        "[storage]\nflush_interval_secs = 30\n\n[live]\noffline_after_secs = 90\n"
    );
    let _ = writeln!(
        t,
        "[ocpp]\nlisten = \"127.0.0.1:0\"\nadmission = \"open\"\nheartbeat_interval_secs = 60\n"
    );
    for n in 1..=sizes.chargers {
        let site = if n % 2 == 1 {
            "binhai-depot"
        } else {
            "hexi-hub"
        };
        let _ = writeln!(
            t,
            "[[ocpp.chargers]]\nid = {}\nsite = \"{site}\"\npriority = {}\n",
            quoted(&ocpp::Config::charger_id(n)),
            i32::from(n % 5 == 0)
        );
    }
    let _ = writeln!(t, "[tcec]\npoll_interval_secs = 15\n");
    for peer in builtin_peers(Some(poll_url)) {
        let _ = writeln!(
            t,
            "[[tcec.peers]]\noperator_id = {}\noperator_secret = {}\ndata_secret = {}\n\
             data_secret_iv = {}\nsig_secret = {}\norg = {}",
            quoted(&peer.operator_id),
            quoted(&peer.operator_secret),
            quoted(&peer.data_secret),
            quoted(&peer.data_secret_iv),
            quoted(&peer.sig_secret),
            quoted(peer.org.as_deref().unwrap_or_default()),
        );
        if let Some(url) = &peer.base_url {
            let _ = writeln!(t, "base_url = {}", quoted(url));
        }
        t.push('\n');
    }
    // Two sites of the city's own chargers (coordinates: district centres of Binhai and Hexi,
    // the same as the T/CEC simulator's), each with a limit and a time-of-use tariff that
    // lowers it in the morning peak.
    for (id, name, kw, lon, lat, district) in [
        (
            "binhai-depot",
            "滨海新区公交充电场站",
            600.0,
            117.7100,
            39.0030,
            "120116",
        ),
        (
            "hexi-hub",
            "河西区充电枢纽",
            360.0,
            117.2230,
            39.1090,
            "120103",
        ),
    ] {
        let _ = writeln!(
            t,
            "[[sites]]\nid = \"{id}\"\nname = \"{name}\"\nmax_power_kw = {kw:.1}\nlon = {lon:.4}\n\
             lat = {lat:.4}\ndistrict = \"{district}\"\ntariff = [\n  \
             {{ from = \"08:00\", to = \"11:00\", price = 1.25, max_power_kw = {:.1} }},\n  \
             {{ from = \"11:00\", to = \"23:00\", price = 0.85 }},\n  \
             {{ from = \"23:00\", to = \"08:00\", price = 0.35 }},\n]\n",
            kw * 2.0 / 3.0
        );
    }
    t
}

/// The simulated operator for `peer` (the `index`-th): polled when it has a `base_url`
/// (bound on that URL's address, or `listen`), pushing to `push_to` otherwise.
fn operator_config(
    peer: &TcecPeer,
    index: usize,
    interval: Duration,
    push_to: Option<String>,
) -> anyhow::Result<tcec::Config> {
    let stations = OPERATOR_STATIONS.get(index).copied().unwrap_or(10);
    let mut c = tcec::Config::new(stations, interval);
    c.operator_id = peer.operator_id.clone();
    c.operator_secret = peer.operator_secret.clone();
    c.data_secret = peer.data_secret.clone();
    c.data_secret_iv = peer.data_secret_iv.clone();
    c.sig_secret = peer.sig_secret.clone();
    c.seed = 7 + index as u64;
    c.progress_every = Duration::from_secs(86_400);
    match (&peer.base_url, push_to) {
        (Some(url), _) => c.listen = Some(listen_address(url)?),
        (None, Some(url)) => c.platform_url = Some(url),
        (None, None) => c.listen = Some(SocketAddr::from(([127, 0, 0, 1], 0))),
    }
    Ok(c)
}

/// The address a poll URL points at: `http://HOST:PORT/…` → `HOST:PORT` (`:0` when the built-in
/// demo has not bound it yet).
fn listen_address(url: &str) -> anyhow::Result<SocketAddr> {
    if url.is_empty() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], 0)));
    }
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("base_url {url:?}: the demo can only serve http:// polls"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    authority.parse().with_context(|| {
        format!("base_url {url:?}: the demo serves polls on a numeric HOST:PORT address only")
    })
}

async fn bind_operator(c: tcec::Config) -> anyhow::Result<tcec::Operator> {
    let id = c.operator_id.clone();
    tcec::Operator::bind(c)
        .await
        .with_context(|| format!("starting the simulated charging operator {id}"))
}

/// The running simulators and what they are, for the banner.
struct Simulators {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    lines: Vec<String>,
}

/// Completes once `rx` turns true, or never if its sender is gone.
async fn stopped(mut rx: watch::Receiver<bool>) {
    if rx.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn start_simulators(
    config: &Config,
    ports: crate::platform::Ports,
    sizes: Sizes,
    fault_after: Duration,
    interval: Duration,
    mut jt_config: jt808::Config,
    mut bound: Bound,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Simulators> {
    let mut sims = Simulators {
        tasks: Vec::new(),
        lines: Vec::new(),
    };
    let quiet = Duration::from_secs(86_400);

    // GB/T 32960: the carmaker platforms (the first prefix of each) and direct terminals.
    let platforms: Vec<_> = config
        .gbt32960
        .platforms
        .iter()
        .filter_map(|p| Some((p, p.vin_prefixes.first()?.clone())))
        .collect();
    let direct = if platforms.is_empty() {
        sizes.vehicles
    } else {
        (sizes.vehicles / 10).max(1).min(sizes.vehicles)
    };
    let relayed = sizes.vehicles - direct;
    let server = format!("127.0.0.1:{}", ports.gbt32960);
    let mut groups = Vec::new();
    for (i, (p, prefix)) in platforms.iter().enumerate() {
        let n = relayed / platforms.len() + usize::from(i < relayed % platforms.len());
        if n == 0 {
            continue;
        }
        let mut c = gbt32960::Config::new(&server, n, interval);
        c.mode = gbt32960::Mode::Platform {
            username: p.username.clone(),
            password: p.password.clone(),
            connections: n.div_ceil(500).clamp(1, 4),
        };
        // The second carmaker speaks the 2025 edition.
        if i % 2 == 1 {
            c.edition = gbt32960::Edition::V2025;
        }
        c.vin_prefix = prefix.clone();
        groups.push((format!("via {}", p.username), c));
    }
    if direct > 0 && config.gbt32960.terminals == TerminalPolicy::Open {
        let mut c = gbt32960::Config::new(&server, direct, interval);
        c.vin_prefix = DIRECT_PREFIX.to_owned();
        groups.push(("direct terminals".to_owned(), c));
    }
    let mut faulty = Vec::new();
    let fault_count = (sizes.vehicles / 250).clamp(FAULTS.len(), 12);
    for (i, (_, c)) in groups.iter_mut().enumerate() {
        c.seed = 1 + i as u64;
        c.progress_every = quiet;
        if i == 0 {
            c.faults = FAULTS
                .iter()
                .cycle()
                .take(fault_count.min(c.vehicles))
                .copied()
                .collect();
            c.fault_after = fault_after;
            let vins = c.vins()?;
            faulty.extend(
                c.faults
                    .iter()
                    .zip(vins)
                    .map(|(f, v)| format!("{v} ({f:?})")),
            );
        }
    }
    let total: usize = groups.iter().map(|(_, c)| c.vehicles).sum();
    sims.lines.push(format!(
        "GB/T 32960: {total} NEVs ({}), a report every {:.0} s",
        groups
            .iter()
            .map(|(what, c)| format!("{} {what}", c.vehicles))
            .collect::<Vec<_>>()
            .join(", "),
        interval.as_secs_f64()
    ));
    if !faulty.is_empty() {
        sims.lines.push(format!(
            "faults from {:.0} s on: {}",
            fault_after.as_secs_f64(),
            faulty.join(", ")
        ));
    }
    for (what, c) in groups {
        let stop = stop.clone();
        sims.tasks.push(tokio::spawn(async move {
            if let Err(e) = gbt32960::run(c, stopped(stop), |_| {}).await {
                tracing::error!(error = %e, "GB/T 32960 simulator ({what}) failed");
            }
        }));
    }

    // JT/T 808: the fleet whose registry was imported.
    jt_config.server = format!("127.0.0.1:{}", ports.jt808);
    jt_config.progress_every = quiet;
    sims.lines.push(format!(
        "JT/T 808: {} fleet terminals (buses, taxis, logistics, sanitation, port trucks; \
         2011/2013/2019), registry imported",
        jt_config.terminals
    ));
    {
        let stop = stop.clone();
        sims.tasks.push(tokio::spawn(async move {
            if let Err(e) = jt808::run(jt_config, stopped(stop), |_| {}).await {
                tracing::error!(error = %e, "JT/T 808 simulator failed");
            }
        }));
    }

    // T/CEC 102: one operator per peer.
    let push_to = format!("http://127.0.0.1:{}/evcs/v1/", ports.http);
    for (i, peer) in config.tcec.peers.iter().enumerate() {
        let operator = match bound.iter().position(|(id, _)| *id == peer.operator_id) {
            Some(k) => bound.swap_remove(k).1,
            None => {
                bind_operator(operator_config(peer, i, interval, Some(push_to.clone()))?).await?
            }
        };
        let how = match operator.poll_url() {
            Some(url) => format!("polled at {url}"),
            None => format!("pushing to {push_to}"),
        };
        sims.lines.push(format!(
            "T/CEC 102: operator {} with {} stations, {how}",
            peer.operator_id,
            operator.stations().len()
        ));
        let stop = stop.clone();
        sims.tasks.push(tokio::spawn(async move {
            operator.run(stopped(stop), |_| {}).await;
        }));
    }

    // OCPP: the city's chargers, mixed 1.6 and 2.0.1.
    if config.ocpp.tls_cert.is_none() {
        let mut c = ocpp::Config::new(format!("ws://127.0.0.1:{}", ports.ocpp), sizes.chargers);
        c.versions = ocpp::Versions::Mixed;
        c.progress_every = quiet;
        c.seed = 3;
        let sites: Vec<&str> = config.sites.iter().map(|s| s.id.as_str()).collect();
        sims.lines.push(format!(
            "OCPP: {} charge points (1.6 and 2.0.1, two connectors each){}",
            sizes.chargers,
            if sites.is_empty() {
                String::new()
            } else {
                format!(" on the sites {}", sites.join(", "))
            }
        ));
        let stop = stop.clone();
        sims.tasks.push(tokio::spawn(async move {
            if let Err(e) = ocpp::run(c, stopped(stop), |_| {}).await {
                tracing::error!(error = %e, "OCPP simulator failed");
            }
        }));
    }
    Ok(sims)
}

fn print_banner(
    config: &Config,
    config_file: &Path,
    ports: crate::platform::Ports,
    token: Option<&str>,
    sims: &Simulators,
) {
    let base = format!("http://127.0.0.1:{}/", ports.http);
    let mut out = String::new();
    let _ = writeln!(out, "Haihe demo is running.");
    let _ = writeln!(out, "dashboard: {base}");
    match token {
        Some(token) => {
            let _ = writeln!(out, "one-click login: {base}#token={token}");
            let _ = writeln!(out, "admin token: {token}");
        }
        None => {
            let _ = writeln!(
                out,
                "admin token: not at hand (see `haihe token` for {})",
                config.data_dir.display()
            );
        }
    }
    let _ = writeln!(
        out,
        "ports: GB/T 32960 {}, JT/T 808 {}, OCPP {}",
        ports.gbt32960, ports.jt808, ports.ocpp
    );
    let _ = writeln!(out, "data directory: {}", config.data_dir.display());
    let _ = writeln!(out, "configuration: {}", config_file.display());
    let _ = writeln!(out, "simulating:");
    for line in &sims.lines {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "Press Ctrl-C to stop.");
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// SIGINT and SIGTERM, caught from creation on.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                int: signal(SignalKind::interrupt()).context("catching SIGINT")?,
                term: signal(SignalKind::terminate()).context("catching SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_city_is_a_valid_configuration() {
        let sizes = Sizes::new(30).unwrap();
        let text = builtin_config(
            Path::new("/tmp/demo \"city\""),
            "127.0.0.1:0",
            "http://127.0.0.1:4321/evcs/v1/",
            sizes,
        );
        let config: Config = toml::from_str::<toml::Table>(&text)
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(config.data_dir, Path::new("/tmp/demo \"city\""));
        assert_eq!(config.gbt32960.platforms.len(), 2);
        assert_eq!(config.tcec.peers.len(), 2);
        assert_ne!(
            config.tcec.peers[0].operator_id,
            config.tcec.peers[1].operator_id
        );
        assert_eq!(
            config.tcec.peers[0].base_url.as_deref(),
            Some("http://127.0.0.1:4321/evcs/v1/")
        );
        assert!(config.tcec.peers[1].base_url.is_none());
        assert_eq!(config.sites.len(), 2);
        assert_eq!(config.ocpp.admission, TerminalPolicy::Open);
        assert_eq!(config.ocpp.chargers.len(), sizes.chargers);
        assert_eq!(
            listen_address("http://127.0.0.1:4321/evcs/v1/").unwrap(),
            "127.0.0.1:4321".parse().unwrap()
        );
    }

    #[test]
    fn small_fleets_scale_down() {
        let s = Sizes::new(20).unwrap();
        assert_eq!((s.terminals, s.chargers), (3, 10));
        let s = Sizes::new(2000).unwrap();
        assert_eq!((s.terminals, s.chargers), (300, 50));
        assert!(Sizes::new(0).is_err());
    }
}
