//! A charging operator's platform speaking T/CEC 102 to the city's supervision platform: S
//! stations of DC 60/120 kW and AC 7 kW chargers (two connectors each) spread over Tianjin's
//! districts, whose connectors go free → occupied → charging → free (now and then faulted or
//! offline), with orders priced by a time-of-use tariff.
//!
//! - **Push**: `query_token`, then `notification_stationInfo` for every station at the start,
//!   `notification_stationStatus` on every connector change and `notification_charge_order_info`
//!   when a session ends, sealed with `proto_tcec`. A push counts as delivered only on `Ret` 0
//!   with a valid response signature; network errors, HTTP errors, `Ret` -1 and 500 are
//!   retried with back-off (re-sealed each time), 4002 fetches a new token first, other codes
//!   are refusals.
//! - **Poll**: an HTTP server ([`Operator::poll_url`]) answering `query_token`,
//!   `query_stations_info`, `query_station_status` and `query_station_stats`.
//!
//! Simulated time runs [`Config::speed`] times faster than the wall clock (one
//! [`Config::interval`] is five simulated minutes), so that 20–90-minute sessions fit in a
//! test. It is set back so that it reaches the wall clock when [`Config::duration`] ends: every
//! time in an order is in the past.

mod network;
mod push;
mod serve;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use model::Timestamp;
use proto_tcec::PeerSecrets;
use proto_tcec::model::{
    ChargeOrderInfoResponse, NotificationResponse, NotificationStationInfo,
    NotificationStationStatus, StationInfo, decode_json, encode_json,
};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

pub use network::{
    Change, ChargerKind, DISTRICTS, Network, SERVICE_PRICE, elec_price, format_date, format_time,
    order,
};

use push::{Outcome, Pusher};
use serve::PollState;

/// Default secrets, so that a test configuration can repeat them.
pub const DEFAULT_OPERATOR_ID: &str = "MA01H3BQ2";
pub const DEFAULT_OPERATOR_SECRET: &str = "OpSecretHaihe001";
pub const DEFAULT_DATA_SECRET: &str = "DataSecretHaihe1";
pub const DEFAULT_DATA_SECRET_IV: &str = "DataIvHaihe00001";
pub const DEFAULT_SIG_SECRET: &str = "SigSecretHaihe01";

/// Simulated minutes per [`Config::interval`].
pub const STEP_MINUTES: f64 = 5.0;

/// Why the operator could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// What to simulate and where.
#[derive(Debug, Clone)]
pub struct Config {
    /// The platform's T/CEC base URL (`http://host:port/evcs/v1/`); `None`: poll only.
    pub platform_url: Option<String>,
    /// Where to serve the poll endpoints; `None`: push only.
    pub listen: Option<SocketAddr>,
    pub operator_id: String,
    pub operator_secret: String,
    pub data_secret: String,
    pub data_secret_iv: String,
    pub sig_secret: String,
    pub stations: usize,
    /// Wall time of one simulated five-minute step.
    pub interval: Duration,
    /// Stop after this long; `None`: run until the shutdown future.
    pub duration: Option<Duration>,
    pub seed: u64,
    /// How long one HTTP exchange may take.
    pub request_timeout: Duration,
    /// Once stopping, how long undelivered pushes keep being retried.
    pub stop_timeout: Duration,
    pub progress_every: Duration,
}

impl Config {
    /// An operator with the default identity and secrets and `stations` stations, a step
    /// every `interval`.
    pub fn new(stations: usize, interval: Duration) -> Self {
        Self {
            platform_url: None,
            listen: None,
            operator_id: DEFAULT_OPERATOR_ID.to_owned(),
            operator_secret: DEFAULT_OPERATOR_SECRET.to_owned(),
            data_secret: DEFAULT_DATA_SECRET.to_owned(),
            data_secret_iv: DEFAULT_DATA_SECRET_IV.to_owned(),
            sig_secret: DEFAULT_SIG_SECRET.to_owned(),
            stations,
            interval,
            duration: None,
            seed: 1,
            request_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(10),
            progress_every: Duration::from_secs(5),
        }
    }

    /// How many times faster than the wall clock simulated time runs.
    pub fn speed(&self) -> f64 {
        STEP_MINUTES * 60.0 / self.interval.as_secs_f64()
    }

    fn secrets(&self) -> Result<PeerSecrets, Error> {
        PeerSecrets::new(
            &self.operator_id,
            &self.operator_secret,
            &self.data_secret,
            &self.data_secret_iv,
            &self.sig_secret,
        )
        .map_err(|e| Error::Config(e.to_string()))
    }

    fn validate(&self) -> Result<PeerSecrets, Error> {
        if self.stations == 0 || self.stations > 9999 {
            return Err(Error::Config(format!(
                "stations must be 1 to 9999, not {}",
                self.stations
            )));
        }
        if self.interval < Duration::from_millis(10) {
            return Err(Error::Config("the interval must be at least 10 ms".into()));
        }
        if self.platform_url.is_none() && self.listen.is_none() {
            return Err(Error::Config(
                "nothing to do: give a platform URL to push to or an address to serve polls on"
                    .into(),
            ));
        }
        if let Some(u) = &self.platform_url
            && !u.starts_with("http://")
            && !u.starts_with("https://")
        {
            return Err(Error::Config(format!("{u:?} is not an http:// URL")));
        }
        self.secrets()
    }
}

pub(crate) fn wall_now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    Timestamp::from_micros(micros)
}

/// Simulated time: `speed` times the wall clock from `sim_start` at `real_start`.
#[derive(Debug, Clone, Copy)]
struct SimClock {
    real_start: Instant,
    sim_start: Timestamp,
    speed: f64,
}

impl SimClock {
    fn now(&self) -> Timestamp {
        let elapsed = self.real_start.elapsed().as_secs_f64() * self.speed;
        Timestamp::from_micros(self.sim_start.as_micros() + (elapsed * 1e6) as i64)
    }
}

/// Counts of one kind of push.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    /// Produced by the network.
    pub generated: u64,
    /// Answered `Ret` 0 with a valid signature.
    pub delivered: u64,
    /// Refused with a code retrying cannot fix.
    pub refused: u64,
    /// Not delivered when the run ended.
    pub pending: u64,
}

/// One delivered order.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveredOrder {
    pub start_charge_seq: String,
    pub connector_id: String,
    pub start_time: String,
    pub end_time: String,
    /// kWh.
    pub total_power: f64,
    /// CNY.
    pub total_money: f64,
    /// The platform's `ConfirmResult` (0 agreed, 1 disputed).
    pub confirm_result: Option<u32>,
}

/// The pusher's troubles.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Troubles {
    pub token_queries: u64,
    pub network_errors: u64,
    pub http_errors: u64,
    pub busy: u64,
    pub token_errors: u64,
    pub bad_responses: u64,
    /// The first refusals, `endpoint: Ret msg`.
    pub refusals: Vec<String>,
}

/// The poll server's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PollSummary {
    pub url: String,
    /// Requests by endpoint.
    pub requests: BTreeMap<String, u64>,
    pub refused: u64,
}

/// What the operator did: the figures a system test compares with what the platform stored.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub operator_id: String,
    pub platform_url: Option<String>,
    pub elapsed_s: f64,
    /// Simulated time per wall time.
    pub speed: f64,
    pub stations: usize,
    pub equipments: usize,
    pub connectors: usize,
    pub station_info: Tally,
    pub status: Tally,
    pub orders: Tally,
    /// Delivered pushes the platform answered `Status` 1 (ignored).
    pub ignored: u64,
    /// The last delivered status of each connector, by connector id.
    pub last_delivered_status: BTreeMap<String, u32>,
    pub delivered_orders: Vec<DeliveredOrder>,
    /// kWh of the delivered orders.
    pub delivered_energy_kwh: f64,
    pub troubles: Troubles,
    pub poll: Option<PollSummary>,
}

/// What the pusher, the server and the network share.
#[derive(Debug)]
pub(crate) struct Shared {
    network: Mutex<Network>,
    clock: SimClock,
    secrets: PeerSecrets,
    config: Config,
    /// When the stations were published (`yyyy-MM-dd HH:mm:ss`, wall clock).
    published: String,
    poll: Mutex<PollState>,
    summary: Mutex<Summary>,
}

impl Shared {
    /// The secrets for requests from `caller`: this operator's, under the caller's id.
    fn secrets_for(&self, caller: &str) -> Option<PeerSecrets> {
        let c = &self.config;
        PeerSecrets::new(
            caller,
            &c.operator_secret,
            &c.data_secret,
            &c.data_secret_iv,
            &c.sig_secret,
        )
        .ok()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One push waiting its turn.
#[derive(Debug)]
enum Job {
    StationInfo(Box<StationInfo>),
    Status(proto_tcec::model::ConnectorStatusInfo),
    Order(proto_tcec::model::ChargeOrderInfo),
}

/// A bound operator, ready to run.
#[derive(Debug)]
pub struct Operator {
    shared: Arc<Shared>,
    listener: Option<tokio::net::TcpListener>,
    poll_url: Option<String>,
}

/// The pushes waiting at most; the network waits for room beyond this (back-pressure).
const QUEUE: usize = 16_384;
/// Refusals kept in the summary.
const MAX_REFUSALS: usize = 20;

impl Operator {
    /// Validates the configuration, builds the network and binds the poll server.
    pub async fn bind(config: Config) -> Result<Self, Error> {
        let secrets = config.validate()?;
        let speed = config.speed();
        let now = wall_now();
        // Simulated time reaches the wall clock when the run ends (an hour, without a limit).
        let span = config.duration.unwrap_or(Duration::from_secs(3600));
        let sim_start = Timestamp::from_micros(
            now.as_micros() - (span.as_secs_f64() * speed * 1e6).min(4e14) as i64,
        );
        let network = Network::new(&config.operator_id, config.stations, config.seed, sim_start);
        let (listener, poll_url) = match config.listen {
            Some(addr) => {
                let l = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| Error::Bind { addr, source })?;
                let local = l
                    .local_addr()
                    .map_err(|source| Error::Bind { addr, source })?;
                (Some(l), Some(format!("http://{local}/evcs/v1/")))
            }
            None => (None, None),
        };
        let summary = Summary {
            operator_id: config.operator_id.clone(),
            platform_url: config.platform_url.clone(),
            speed,
            stations: network.stations.len(),
            equipments: network
                .stations
                .iter()
                .map(|s| s.equipment_infos.len())
                .sum(),
            connectors: network.connectors.len(),
            ..Summary::default()
        };
        let shared = Arc::new(Shared {
            network: Mutex::new(network),
            clock: SimClock {
                real_start: Instant::now(),
                sim_start,
                speed,
            },
            secrets,
            published: format_time(now),
            poll: Mutex::new(PollState::new(config.seed ^ now.as_micros() as u64)),
            summary: Mutex::new(summary),
            config,
        });
        Ok(Self {
            shared,
            listener,
            poll_url,
        })
    }

    /// The base URL of the poll endpoints (`http://127.0.0.1:PORT/evcs/v1/`).
    pub fn poll_url(&self) -> Option<&str> {
        self.poll_url.as_deref()
    }

    /// The stations, as `notification_stationInfo` pushes and `query_stations_info` give them.
    pub fn stations(&self) -> Vec<StationInfo> {
        lock(&self.shared.network).stations.clone()
    }

    /// Runs until `config.duration` passes or `shutdown` completes; then stops changing
    /// connectors, keeps retrying undelivered pushes for `stop_timeout`, and returns the
    /// summary. `progress` is called every `progress_every`.
    pub async fn run<S, P>(self, shutdown: S, mut progress: P) -> Summary
    where
        S: Future<Output = ()>,
        P: FnMut(&Summary),
    {
        let shared = self.shared;
        let config = shared.config.clone();
        let started = Instant::now();
        let (stop_tx, stop_rx) = watch::channel(false);
        let (give_up_tx, give_up_rx) = watch::channel(false);

        let server = self.listener.map(|listener| {
            let app = axum::Router::new()
                .fallback(axum::routing::post(serve::handle))
                .with_state(shared.clone());
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await;
            })
        });

        let (tx, rx) = mpsc::channel::<Job>(QUEUE);
        let pusher = config.platform_url.as_ref().map(|url| {
            let p = Pusher::new(url, shared.secrets.clone(), config.request_timeout);
            tokio::spawn(push_loop(shared.clone(), p, rx, give_up_rx.clone()))
        });
        let tx = pusher.as_ref().map(|_| tx);
        if let Some(tx) = &tx {
            let stations = lock(&shared.network).stations.clone();
            for s in stations {
                lock(&shared.summary).station_info.generated += 1;
                let _ = tx.send(Job::StationInfo(Box::new(s))).await;
            }
        }

        let far = Instant::now() + Duration::from_secs(86_400 * 365);
        let end = config.duration.map_or(far, |d| started + d);
        // One tick per simulated minute.
        let tick = (config.interval / STEP_MINUTES as u32).max(Duration::from_millis(10));
        let mut next_tick = Instant::now();
        let mut next_progress = Instant::now() + config.progress_every;
        tokio::pin!(shutdown);
        let mut stopping = false;
        while !stopping {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep_until(end) => break,
                _ = tokio::time::sleep_until(next_progress) => {
                    let mut s = lock(&shared.summary).clone();
                    s.elapsed_s = started.elapsed().as_secs_f64();
                    progress(&s);
                    next_progress += config.progress_every;
                }
                _ = tokio::time::sleep_until(next_tick) => {
                    next_tick += tick;
                    let changes = lock(&shared.network).step(shared.clock.now());
                    for change in changes {
                        let job = {
                            let mut s = lock(&shared.summary);
                            match change {
                                Change::Status(st) => {
                                    s.status.generated += 1;
                                    Job::Status(st)
                                }
                                Change::Order(o) => {
                                    s.orders.generated += 1;
                                    Job::Order(o)
                                }
                            }
                        };
                        let Some(tx) = &tx else { continue };
                        if stopping {
                            // Produced but never sent: the run ended first.
                            count_pending(&shared, &job);
                            continue;
                        }
                        // Waits for room: the network pauses while the platform is away.
                        let permit = tokio::select! {
                            p = tx.reserve() => p.ok(),
                            _ = &mut shutdown => None,
                            _ = tokio::time::sleep_until(end) => None,
                        };
                        match permit {
                            Some(p) => p.send(job),
                            None => {
                                stopping = true;
                                count_pending(&shared, &job);
                            }
                        }
                    }
                }
            }
        }

        // Stopping: no more changes; give the pusher its time to deliver what is queued.
        let _ = stop_tx.send(true);
        drop(tx);
        if let Some(p) = pusher {
            let deadline = tokio::time::sleep(config.stop_timeout);
            tokio::pin!(deadline);
            let mut p = p;
            tokio::select! {
                _ = &mut p => {}
                _ = &mut deadline => {
                    let _ = give_up_tx.send(true);
                    let _ = p.await;
                }
            }
        }
        if let Some(s) = server {
            let _ = s.await;
        }
        let mut summary = lock(&shared.summary).clone();
        summary.elapsed_s = started.elapsed().as_secs_f64();
        if let Some(url) = self.poll_url {
            let poll = lock(&shared.poll);
            summary.poll = Some(PollSummary {
                url,
                requests: poll.requests.clone(),
                refused: poll.refused,
            });
        }
        summary
    }
}

/// Pushes jobs in order until the queue is closed and empty, or `give_up` turns true (then
/// what is left counts as pending).
async fn push_loop(
    shared: Arc<Shared>,
    mut pusher: Pusher,
    mut rx: mpsc::Receiver<Job>,
    give_up: watch::Receiver<bool>,
) {
    while let Some(job) = rx.recv().await {
        let (endpoint, payload) = match &job {
            Job::StationInfo(s) => (
                "notification_stationInfo",
                encode_json(&NotificationStationInfo {
                    station_info: (**s).clone(),
                }),
            ),
            Job::Status(s) => (
                "notification_stationStatus",
                encode_json(&NotificationStationStatus {
                    connector_status_info: s.clone(),
                }),
            ),
            Job::Order(o) => ("notification_charge_order_info", encode_json(o)),
        };
        let outcome = pusher.push(endpoint, &payload, &give_up).await;
        record(&shared, &pusher, endpoint, &job, outcome);
    }
    // Whatever is still queued after giving up.
    rx.close();
    while let Some(job) = rx.recv().await {
        record(&shared, &pusher, "", &job, Outcome::Abandoned);
    }
    record_troubles(&shared, &pusher);
}

fn count_pending(shared: &Shared, job: &Job) {
    let mut s = lock(&shared.summary);
    match job {
        Job::StationInfo(_) => s.station_info.pending += 1,
        Job::Status(_) => s.status.pending += 1,
        Job::Order(_) => s.orders.pending += 1,
    }
}

fn record_troubles(shared: &Shared, pusher: &Pusher) {
    let t = &pusher.troubles;
    let mut s = lock(&shared.summary);
    s.troubles.token_queries = t.token_queries;
    s.troubles.network_errors = t.network;
    s.troubles.http_errors = t.http_status;
    s.troubles.busy = t.busy;
    s.troubles.token_errors = t.token_errors;
    s.troubles.bad_responses = t.bad_responses;
}

fn record(shared: &Shared, pusher: &Pusher, endpoint: &str, job: &Job, outcome: Outcome) {
    record_troubles(shared, pusher);
    let mut s = lock(&shared.summary);
    let tally = match job {
        Job::StationInfo(_) => &mut s.station_info,
        Job::Status(_) => &mut s.status,
        Job::Order(_) => &mut s.orders,
    };
    match outcome {
        Outcome::Abandoned => tally.pending += 1,
        Outcome::Refused(ret, msg) => {
            tally.refused += 1;
            if s.troubles.refusals.len() < MAX_REFUSALS {
                s.troubles
                    .refusals
                    .push(format!("{endpoint}: Ret {ret} {msg}"));
            }
        }
        Outcome::Delivered(plain) => {
            tally.delivered += 1;
            match job {
                Job::StationInfo(_) => {
                    if decode_json::<NotificationResponse>(&plain)
                        .is_ok_and(|r| r.status.code() == 1)
                    {
                        s.ignored += 1;
                    }
                }
                Job::Status(st) => {
                    if decode_json::<NotificationResponse>(&plain)
                        .is_ok_and(|r| r.status.code() == 1)
                    {
                        s.ignored += 1;
                    }
                    s.last_delivered_status
                        .insert(st.connector_id.clone(), st.status.code());
                }
                Job::Order(o) => {
                    let confirm = decode_json::<ChargeOrderInfoResponse>(&plain)
                        .ok()
                        .map(|r| r.confirm_result.code());
                    let kwh = o.total_power.unwrap_or(0.0);
                    s.delivered_energy_kwh =
                        ((s.delivered_energy_kwh + kwh) * 100.0).round() / 100.0;
                    s.delivered_orders.push(DeliveredOrder {
                        start_charge_seq: o.start_charge_seq.clone(),
                        connector_id: o.connector_id.clone(),
                        start_time: o.start_time.clone(),
                        end_time: o.end_time.clone(),
                        total_power: kwh,
                        total_money: o.total_money.unwrap_or(0.0),
                        confirm_result: confirm,
                    });
                }
            }
        }
    }
}
