//! The embedded platform: opens the data directory, replays the WAL, and runs the gateway, the
//! applier, the flusher and the HTTP API until shutdown.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use gateway::{
    Csms, CsmsOptions, GatewayMetrics, Gbt32960, Jt808, ListenerOptions, OcppMetrics, Shared,
};
use model::Timestamp;
use pipeline::{IngestRecord, LiveState, Pipeline, PipelineOptions, WalBus};
use proto_gbt32960::{PlatformAccount, SessionConfig};
use store::catalog::Catalog;
use store::lake::{Lake, LakeOptions};
use store::wal::{Wal, WalOptions};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

use crate::apply::{Applier, OperatorOrgs, Parts, Registry};
use crate::config::{Config, TerminalPolicy};
use crate::directory::{CatalogDirectory, Terminals};
use crate::webhook::{Deliverer, Doorbell, WebhookMetrics};

/// Records applied per batch: one catalog transaction at most for their alarm changes.
const APPLY_BATCH: usize = 256;
/// Live events a slow stream subscriber may fall behind before it skips some.
const STREAM_CAPACITY: usize = 8192;

/// Everything the running platform shares between its tasks and the API.
pub(crate) struct Platform {
    pub(crate) config: Config,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) lake: Arc<Lake>,
    pub(crate) live: Arc<LiveState>,
    pub(crate) wal: Arc<Wal>,
    pub(crate) pipeline: Pipeline,
    pub(crate) metrics_registry: prometheus_client::registry::Registry,
    pub(crate) registry: Registry,
    /// JT/T 808 terminal id → VIN, from the registry.
    pub(crate) terminals: Terminals,
    /// Charging operator id → organisation, from `[[tcec.peers]]`.
    pub(crate) operator_orgs: OperatorOrgs,
    pub(crate) stream: broadcast::Sender<api::StreamEvent>,
    /// Rung when alarm changes are stored, for the webhook deliverers.
    pub(crate) bell: Arc<Doorbell>,
    /// The OCPP CSMS (for the API: connected chargers, sites, commands).
    pub(crate) csms: Arc<Csms>,
    pub(crate) ready: AtomicBool,
}

pub(crate) fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_micros(d.as_micros() as i64)
}

impl Platform {
    pub(crate) fn reload_registry(&self) -> anyhow::Result<()> {
        load_registry(&self.catalog, &self.registry, &self.terminals)
    }
}

/// Reads the vehicle registry into the VIN map and the terminal map.
fn load_registry(
    catalog: &Catalog,
    registry: &Registry,
    terminals: &Terminals,
) -> anyhow::Result<()> {
    let entries = catalog.vehicles().context("reading the registry")?;
    let by_terminal = entries
        .iter()
        .filter_map(|v| Some((v.terminal_id.clone()?, v.vin.clone())))
        .collect();
    *registry.write().unwrap_or_else(PoisonError::into_inner) =
        entries.into_iter().map(|v| (v.vin.clone(), v)).collect();
    *terminals.write().unwrap_or_else(PoisonError::into_inner) = by_terminal;
    Ok(())
}

/// Holds the data directory for this process: a second server on the same directory would
/// corrupt the WAL.
fn lock_data_dir(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join("haihe.lock");
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    file.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "{} is in use by another haihe process (lock {})",
            dir.display(),
            path.display()
        )
    })?;
    Ok(file)
}

async fn bind(addr: &str, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {what} on {addr}"))
}

/// Runs the platform until Ctrl-C or SIGTERM.
pub(crate) async fn run(config: Config) -> anyhow::Result<()> {
    let running = start(config).await?;
    wait_for_signal().await;
    running.stop().await;
    Ok(())
}

/// The ports the platform listens on (the configured ones, or those the system chose for `:0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ports {
    pub(crate) http: u16,
    pub(crate) gbt32960: u16,
    pub(crate) jt808: u16,
    pub(crate) ocpp: u16,
}

/// A task of the running platform, awaited in order when it stops.
type Task = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

fn task<T: Send + 'static>(handle: tokio::task::JoinHandle<T>) -> Task {
    Box::pin(async move {
        let _ = handle.await;
    })
}

/// A started platform: serving until [`Running::stop`].
pub(crate) struct Running {
    pub(crate) ports: Ports,
    /// The admin API token, when this start created it or `admin.token` still holds it.
    pub(crate) admin_token: Option<String>,
    /// Held until the platform has stopped.
    _lock: File,
    platform: Arc<Platform>,
    pipeline: Pipeline,
    lake: Arc<Lake>,
    shutdown_tx: watch::Sender<bool>,
    /// The gateways, the CSMS, the time-of-use task, the poller, the HTTP server and the
    /// flusher, in the order they are awaited at shutdown.
    tasks: Vec<Task>,
    stop_threads: Arc<AtomicBool>,
    bell: Arc<Doorbell>,
    ticker: std::thread::JoinHandle<()>,
    deliverers: Vec<std::thread::JoinHandle<()>>,
    applier_thread: std::thread::JoinHandle<()>,
}

/// Opens the data directory, replays the WAL and starts every listener and task; returns once
/// the platform serves (`ready`), with the ports it listens on.
pub(crate) async fn start(config: Config) -> anyhow::Result<Running> {
    let data_dir: PathBuf = config.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let lock = lock_data_dir(&data_dir)?;
    let _ = std::fs::remove_file(data_dir.join("ports.json"));

    let catalog =
        Arc::new(Catalog::open(data_dir.join("catalog.db")).context("opening the catalog")?);
    let admin_token = match catalog.ensure_admin_token(&data_dir)? {
        Some(token) => {
            tracing::info!(path = %data_dir.join("admin.token").display(), "created the admin API token");
            Some(token)
        }
        None => std::fs::read_to_string(data_dir.join("admin.token"))
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty()),
    };
    let mut lake_options = LakeOptions::default();
    lake_options.flush_interval = Duration::from_secs(config.storage.flush_interval_secs.max(1));
    lake_options.flush_bytes = config.storage.flush_bytes as u64;
    let lake =
        Arc::new(Lake::open(data_dir.join("lake"), lake_options).context("opening the lake")?);
    let live = Arc::new(LiveState::new(config.live.offline_after_secs));

    // Live state first from the files (the last week is enough to know every active vehicle),
    // then the WAL on top, in order.
    let since = Timestamp::from_micros(now().as_micros() - 7 * 86_400 * 1_000_000);
    for s in lake
        .latest_per_vin_since(since)
        .await
        .context("reading the latest samples")?
    {
        let vin = s.vin.to_string();
        live.touch(&vin, s.received_at, None, Some(s));
    }
    for r in lake
        .latest_fleet_since(since)
        .await
        .context("reading the latest fleet reports")?
    {
        live.touch_fleet(&r, None);
    }
    let registry: Registry = Arc::default();
    let terminals: Terminals = Arc::default();
    load_registry(&catalog, &registry, &terminals)?;
    // The city's own sites are stations like the operators' (their chargers come with boots).
    catalog
        .upsert_stations(&crate::ocpp::site_stations(&config), now())
        .context("recording the configured sites")?;
    let operator_orgs: OperatorOrgs = Arc::new(std::sync::RwLock::new(
        config
            .tcec
            .peers
            .iter()
            .filter_map(|p| Some((p.operator_id.clone(), p.org.clone()?)))
            .collect(),
    ));
    let (stream, _) = broadcast::channel(STREAM_CAPACITY);
    let bell = Arc::new(Doorbell::default());
    let mut applier = Applier::new(
        Parts {
            lake: Arc::clone(&lake),
            live: Arc::clone(&live),
            catalog: Arc::clone(&catalog),
            registry: Arc::clone(&registry),
            terminals: Arc::clone(&terminals),
            operator_orgs: Arc::clone(&operator_orgs),
            stream: stream.clone(),
            stored: Arc::clone(&bell),
        },
        config.rules.clone(),
    )
    .context("loading alarm state")?;
    let (wal, replay) =
        Wal::open(data_dir.join("wal"), WalOptions::default()).context("opening the WAL")?;
    if let Some(torn) = replay.torn_tail() {
        tracing::warn!(
            ?torn,
            "the WAL ended in a torn record (a crash mid-write); it was cut off"
        );
    }
    let mut replayed = 0u64;
    let mut batch = Vec::with_capacity(APPLY_BATCH);
    for record in replay {
        let record = record.context("replaying the WAL")?;
        match IngestRecord::decode(&record.payload) {
            Ok(r) => batch.push((record.lsn, r)),
            Err(e) => {
                tracing::error!(lsn = record.lsn, error = %e, "unreadable WAL record skipped");
            }
        }
        if batch.len() == APPLY_BATCH {
            applier.apply_batch(&batch)?;
            batch.clear();
        }
        replayed += 1;
    }
    applier.apply_batch(&batch)?;
    // Silence while this process was not running is not vehicles going offline.
    applier.resume(now());
    tracing::info!(
        replayed,
        applied_lsn = lake.applied_lsn(),
        open_alarms = applier.open_alarm_count(),
        "WAL replayed"
    );
    let applier = Arc::new(Mutex::new(applier));
    let wal = Arc::new(wal);
    let (pipeline, mut committed) = Pipeline::new(
        Arc::new(WalBus(Arc::clone(&wal))),
        PipelineOptions {
            max_in_flight_bytes: config.storage.max_in_flight_bytes,
        },
    );

    let mut metrics_registry = prometheus_client::registry::Registry::default();
    let gateway_metrics = GatewayMetrics::register(&mut metrics_registry);
    let webhook_metrics = WebhookMetrics::register(&mut metrics_registry);
    let tcec_metrics = gateway::tcec::TcecMetrics::default();
    tcec_metrics.register(&mut metrics_registry);
    let ocpp_metrics = OcppMetrics::register(&mut metrics_registry);
    let ocpp = &config.ocpp;
    let csms = Csms::new(
        Arc::new(crate::ocpp::ConfigDirectory::new(
            ocpp,
            &config.sites,
            Arc::clone(&catalog),
        )),
        pipeline.clone(),
        CsmsOptions {
            heartbeat_interval_secs: i32::try_from(ocpp.heartbeat_interval_secs)
                .unwrap_or(i32::MAX),
            call_timeout: Duration::from_secs(u64::from(ocpp.call_timeout_secs.max(1))),
            metrics: ocpp_metrics,
            ..CsmsOptions::default()
        },
    );
    applier
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .metrics
        .register(&mut metrics_registry);
    let platform = Arc::new(Platform {
        config: config.clone(),
        catalog: Arc::clone(&catalog),
        lake: Arc::clone(&lake),
        live: Arc::clone(&live),
        wal: Arc::clone(&wal),
        pipeline: pipeline.clone(),
        metrics_registry,
        registry,
        terminals: Arc::clone(&terminals),
        operator_orgs,
        stream,
        bell: Arc::clone(&bell),
        csms: Arc::clone(&csms),
        ready: AtomicBool::new(false),
    });

    // The applier: committed records in WAL order into the lake and live state. When the lake's
    // buffer is far over its flush size (storage slower than ingest), it waits for the flusher;
    // the records it holds keep their pipeline permits, so the gateways stop reading.
    let applier_thread = {
        let (lake, applier) = (Arc::clone(&lake), Arc::clone(&applier));
        let high_water = config.storage.flush_bytes as u64 * 2;
        std::thread::Builder::new()
            .name("applier".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(APPLY_BATCH);
                while let Some(c) = committed.blocking_recv() {
                    batch.push((c.position, c.record));
                    while batch.len() < APPLY_BATCH {
                        match committed.try_recv() {
                            Ok(c) => batch.push((c.position, c.record)),
                            Err(_) => break,
                        }
                    }
                    while lake.buffered_bytes() > high_water {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    let result = applier
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .apply_batch(&batch);
                    if let Err(e) = result {
                        tracing::error!(error = %e, "applying committed records failed");
                    }
                    batch.clear();
                }
            })?
    };
    // The platform clock for time-based rules (a vehicle going silent).
    let stop_threads = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (applier, stop) = (Arc::clone(&applier), Arc::clone(&stop_threads));
        std::thread::Builder::new()
            .name("rules-clock".into())
            .spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_secs(1));
                    applier
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .tick(now());
                }
            })?
    };
    let mut deliverers = Vec::new();
    for hook in &config.notify.webhooks {
        let d = Deliverer::new(
            hook.clone(),
            Arc::clone(&catalog),
            Arc::clone(&bell),
            webhook_metrics.clone(),
            Arc::clone(&stop_threads),
        );
        deliverers.push(
            std::thread::Builder::new()
                .name(format!("webhook-{}", hook.name))
                .spawn(move || d.run())?,
        );
    }

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let flusher = tokio::spawn(flush_loop(Arc::clone(&platform), shutdown_rx.clone()));

    // GB/T 32960 gateway.
    let gbt = &config.gbt32960;
    let session = SessionConfig {
        terminals: match gbt.terminals {
            TerminalPolicy::Open => proto_gbt32960::TerminalPolicy::Open,
            TerminalPolicy::Registered => proto_gbt32960::TerminalPolicy::Registered,
        },
        platforms: gbt
            .platforms
            .iter()
            .map(|p| PlatformAccount {
                username: p.username.clone(),
                password: p.password.clone(),
                org: p.org.clone(),
                vin_prefixes: p.vin_prefixes.clone(),
                vins: p.vins.clone(),
            })
            .collect(),
        ack_realtime: gbt.ack_realtime,
    };
    let registered = {
        let p = Arc::clone(&platform);
        Arc::new(move |vin: &str| {
            p.registry
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .contains_key(vin)
        })
    };
    let gbt_listener = bind(&gbt.listen, "GB/T 32960").await?;
    let gbt_port = gbt_listener.local_addr()?.port();
    let gateway = tokio::spawn(gateway::serve(
        gbt_listener,
        Arc::new(Gbt32960::new(session, registered)),
        ListenerOptions {
            max_connections: gbt.max_connections,
            idle_timeout: Duration::from_secs(gbt.idle_timeout_secs),
            ..ListenerOptions::default()
        },
        pipeline.clone(),
        Arc::new(Shared::default()),
        gateway_metrics.clone(),
        shutdown_rx.clone(),
    ));

    // JT/T 808 gateway.
    let jt = &config.jt808;
    let jt_listener = bind(&jt.listen, "JT/T 808").await?;
    let jt_port = jt_listener.local_addr()?.port();
    let directory = CatalogDirectory {
        catalog: Arc::clone(&catalog),
        terminals: Arc::clone(&terminals),
        lenient_models: jt.lenient_models.clone(),
    };
    let jt_gateway = tokio::spawn(gateway::serve(
        jt_listener,
        Arc::new(Jt808::new(
            proto_jt808::SessionConfig {
                terminals: match jt.terminals {
                    TerminalPolicy::Open => proto_jt808::TerminalPolicy::Open,
                    TerminalPolicy::Registered => proto_jt808::TerminalPolicy::Registered,
                },
                ..proto_jt808::SessionConfig::default()
            },
            Arc::new(directory),
            proto_jt808::Limits::default(),
        )),
        ListenerOptions {
            max_connections: jt.max_connections,
            idle_timeout: Duration::from_secs(jt.idle_timeout_secs),
            ..ListenerOptions::default()
        },
        pipeline.clone(),
        Arc::new(Shared::default()),
        gateway_metrics,
        shutdown_rx.clone(),
    ));

    // OCPP CSMS.
    let ocpp_listener = bind(&ocpp.listen, "OCPP").await?;
    let ocpp_port = ocpp_listener.local_addr()?.port();
    let csms_task = match (&ocpp.tls_cert, &ocpp.tls_key) {
        // Security profile 2: TLS with basic auth.
        (Some(cert), Some(key)) => {
            let read = |p: &PathBuf| {
                std::fs::read(p).with_context(|| format!("[ocpp] reading {}", p.display()))
            };
            let acceptor = gateway::ocpp::tls_acceptor(&read(cert)?, &read(key)?)
                .context("[ocpp] tls_cert / tls_key")?;
            tokio::spawn(gateway::ocpp::serve_tls(
                Arc::clone(&csms),
                ocpp_listener,
                acceptor,
                shutdown_rx.clone(),
            ))
        }
        (None, None) => tokio::spawn(gateway::ocpp::serve(
            Arc::clone(&csms),
            ocpp_listener,
            shutdown_rx.clone(),
        )),
        _ => anyhow::bail!("[ocpp] needs both tls_cert and tls_key, or neither"),
    };
    // Time-of-use periods change a site's limit at their boundaries: share it again then.
    let tou = tokio::spawn(tou_rebalance(
        Arc::clone(&csms),
        config.sites.clone(),
        shutdown_rx.clone(),
    ));

    // HTTP API, with T/CEC 102 under `/evcs/v1/`.
    let (tcec_router, poller) = crate::tcec::start(
        &config.tcec,
        Arc::clone(&catalog),
        pipeline.clone(),
        tcec_metrics,
        shutdown_rx.clone(),
    )?;
    let http_listener = bind(&config.http.listen, "HTTP").await?;
    let http_port = http_listener.local_addr()?.port();
    let router = api::router(Arc::new(crate::backend::PlatformBackend(Arc::clone(
        &platform,
    ))))
    .merge(tcec_router);
    let mut http_shutdown = shutdown_rx.clone();
    let http = tokio::spawn(api::serve(http_listener, router, async move {
        let _ = http_shutdown.wait_for(|s| *s).await;
    }));

    let zero = |addr: &str| addr.rsplit(':').next() == Some("0");
    if [&config.http.listen, &gbt.listen, &jt.listen, &ocpp.listen]
        .into_iter()
        .any(|a| zero(a))
    {
        let ports = serde_json::json!({
            "http": http_port, "gbt32960": gbt_port, "jt808": jt_port, "ocpp": ocpp_port,
        });
        write_atomically(&data_dir.join("ports.json"), ports.to_string().as_bytes())?;
    }
    platform.ready.store(true, Ordering::Release);
    tracing::info!(http_port, gbt32960_port = gbt_port, jt808_port = jt_port, ocpp_port, data_dir = %data_dir.display(), "Haihe is serving");

    Ok(Running {
        ports: Ports {
            http: http_port,
            gbt32960: gbt_port,
            jt808: jt_port,
            ocpp: ocpp_port,
        },
        admin_token,
        _lock: lock,
        platform,
        pipeline,
        lake,
        shutdown_tx,
        tasks: [
            Some(task(gateway)),
            Some(task(jt_gateway)),
            Some(task(csms_task)),
            Some(task(tou)),
            poller.map(task),
            Some(task(http)),
            Some(task(flusher)),
        ]
        .into_iter()
        .flatten()
        .collect(),
        stop_threads,
        bell,
        ticker,
        deliverers,
        applier_thread,
    })
}

impl Running {
    /// Stops the platform: listeners and tasks first, then the applier, then a final flush of
    /// what it applied.
    pub(crate) async fn stop(self) {
        let Self {
            _lock,
            platform,
            pipeline,
            lake,
            shutdown_tx,
            tasks,
            stop_threads,
            bell,
            ticker,
            deliverers,
            applier_thread,
            ..
        } = self;
        tracing::info!("shutting down");
        platform.ready.store(false, Ordering::Release);
        let _ = shutdown_tx.send(true);
        for t in tasks {
            t.await;
        }
        drop(pipeline);
        drop(platform);
        // The applier ends once every pipeline handle is gone; wait for it (bounded: a
        // connection task that has not noticed the shutdown yet must not hold the process),
        // then flush what it applied. Everything acknowledged is in the WAL already, so the
        // flush only shortens the next start.
        stop_threads.store(true, Ordering::Release);
        bell.ring();
        let joined = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::task::spawn_blocking(move || {
                let _ = ticker.join();
                for d in deliverers {
                    let _ = d.join();
                }
                applier_thread.join()
            }),
        )
        .await;
        if joined.is_err() {
            tracing::warn!("the applier did not finish in time; the WAL will replay the rest");
        }
        if let Err(e) = lake.flush() {
            tracing::warn!(error = %e, "final flush failed; the WAL still has the data");
        }
    }
}

/// Every 30 s: a site whose limit changed (a time-of-use boundary passed) is shared again.
async fn tou_rebalance(
    csms: Arc<Csms>,
    sites: Vec<crate::config::Site>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut limits: Vec<f64> = sites
        .iter()
        .map(|s| crate::ocpp::site_limit_at(s, now()))
        .collect();
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        for (site, limit) in sites.iter().zip(&mut limits) {
            let now_limit = crate::ocpp::site_limit_at(site, now());
            if (now_limit - *limit).abs() > f64::EPSILON {
                tracing::info!(site = %site.id, from_kw = *limit, to_kw = now_limit, "site limit changed");
                *limit = now_limit;
                csms.rebalance_site(&site.id).await;
            }
        }
    }
}

async fn flush_loop(p: Arc<Platform>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut last_retention = now();
    let mut registry_stamp = p.catalog.registry_stamp().ok();
    let mut ticks = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let t = now();
        ticks += 1;
        // A registry import by another process (`haihe fleet import`): reload it.
        if ticks.is_multiple_of(4) {
            let stamp = p.catalog.registry_stamp().ok();
            if stamp != registry_stamp {
                registry_stamp = stamp;
                match p.reload_registry() {
                    Ok(()) => tracing::info!("vehicle registry reloaded"),
                    Err(e) => tracing::warn!(error = %e, "reloading the registry failed"),
                }
            }
        }
        if p.lake.needs_flush(t) {
            let lake = Arc::clone(&p.lake);
            match tokio::task::spawn_blocking(move || lake.flush()).await {
                Ok(Ok(stats)) => {
                    tracing::debug!(
                        rows = stats.rows,
                        files = stats.files,
                        flushed_lsn = stats.flushed_lsn,
                        "flushed"
                    );
                    if let Err(e) = p.wal.truncate_before(stats.flushed_lsn + 1) {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                    // Charging rows the lake now holds in Parquet need no replay copy.
                    let catalog = Arc::clone(&p.catalog);
                    let upto = stats.flushed_lsn + 1;
                    if let Ok(Err(e)) =
                        tokio::task::spawn_blocking(move || catalog.prune_charging_out(upto)).await
                    {
                        tracing::warn!(error = %e, "pruning the charging outputs failed");
                    }
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "flush failed; data stays in the WAL and memory");
                }
                Err(e) => tracing::error!(error = %e, "flush task panicked"),
            }
        }
        if t.as_micros() - last_retention.as_micros() > 3_600 * 1_000_000 {
            last_retention = t;
            let (lake, days) = (Arc::clone(&p.lake), p.config.storage.retention_days);
            let _ = tokio::task::spawn_blocking(move || lake.apply_retention(t, days)).await;
            let p = Arc::clone(&p);
            let _ = tokio::task::spawn_blocking(move || {
                prune_alarm_outbox(&p);
                // A finished session is remembered (to drop an operator's repeated push) for
                // as long as the data is kept.
                let days = i64::from(p.config.storage.retention_days);
                let before = Timestamp::from_secs(t.as_secs() - days * 86_400);
                if let Err(e) = p.catalog.prune_charging_done(before) {
                    tracing::warn!(error = %e, "pruning finished sessions failed");
                }
            })
            .await;
        }
    }
}

/// Alarm changes kept in the outbox after every webhook has taken them (for inspection).
const OUTBOX_KEEP: i64 = 10_000;

/// Drops outbox rows every webhook has delivered, keeping the newest [`OUTBOX_KEEP`].
fn prune_alarm_outbox(p: &Platform) {
    let result = (|| -> anyhow::Result<usize> {
        let mut through = p.catalog.last_alarm_event_id()? - OUTBOX_KEEP;
        for hook in &p.config.notify.webhooks {
            let cursor = p.catalog.cursor(&crate::webhook::cursor_name(&hook.name))?;
            through = through.min(cursor.unwrap_or(0));
        }
        Ok(if through > 0 {
            p.catalog.prune_alarm_events(through)?
        } else {
            0
        })
    })();
    match result {
        Ok(n) if n > 0 => tracing::info!(rows = n, "alarm outbox pruned"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "pruning the alarm outbox failed"),
    }
}

pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}
