//! OCPP-J charge points (1.6 and 2.0.1) connecting to a CSMS over WebSocket: each boots
//! (again after Pending/Rejected, at the interval given), reports its connectors, sends
//! heartbeats at the interval the CSMS gave, and serves vehicles that arrive, authorize, charge
//! (meter values every [`Config::meter_interval`], at the power the vehicle takes, capped by
//! any `SetChargingProfile` limit received) and leave. It answers the CSMS's remote start and
//! stop, `ChangeAvailability` and `SetChargingProfile`; other calls get `NotSupported` or
//! `NotImplemented`.
//!
//! Connections are `ws://HOST:PORT/ocpp/{id}` with the version's `Sec-WebSocket-Protocol` and,
//! given a password, HTTP Basic authentication (security profile 1). A dropped connection is
//! opened again with back-off; calls not yet answered are sent again, in order: a message
//! counts as delivered only once its CALLRESULT arrived.
//!
//! Sessions are short so that tests see them: by default a session lasts 4 to 18 meter
//! intervals ([`Config::session_intervals`]).
//! Every byte sent and parsed goes through `proto_ocpp`.

mod charger;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use model::Timestamp;
pub use proto_ocpp::Version;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::SimError;
use charger::{Charger, Ended};

/// Which OCPP version each charger speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    Only(Version),
    /// Odd charger numbers 1.6, even ones 2.0.1.
    Mixed,
}

impl Versions {
    pub fn for_number(self, n: usize) -> Version {
        match self {
            Self::Only(v) => v,
            Self::Mixed if n % 2 == 1 => Version::V16,
            Self::Mixed => Version::V201,
        }
    }
}

/// What to simulate and where.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ws://HOST:PORT`; charger `id` connects to `{server}/ocpp/{id}`.
    pub server: String,
    pub chargers: usize,
    /// The first charger's number: ids are `CP-0001`, `CP-0002`, …
    pub first_charger: usize,
    pub versions: Versions,
    /// HTTP Basic password of every charger; `None`: no authentication header.
    pub password: Option<String>,
    /// Connectors (EVSEs) per charger.
    pub connectors: u32,
    pub meter_interval: Duration,
    /// A session lasts between these many meter intervals (unless the battery fills first
    /// or the CSMS stops it).
    pub session_intervals: (f64, f64),
    /// Mean time a connector stays free before the next vehicle; `None`: vehicles come only
    /// by remote start.
    pub arrival_mean: Option<Duration>,
    pub duration: Option<Duration>,
    pub seed: u64,
    /// How long the CSMS may take to answer; after that the connection is dropped and the call
    /// sent again on the next.
    pub reply_timeout: Duration,
    /// Once stopping, how long chargers have to end their sessions and deliver what is queued.
    pub stop_timeout: Duration,
    /// The longest wait between two connection attempts.
    pub max_backoff: Duration,
    pub max_message_len: usize,
    pub progress_every: Duration,
}

impl Config {
    pub fn new(server: impl Into<String>, chargers: usize) -> Self {
        Self {
            server: server.into(),
            chargers,
            first_charger: 1,
            versions: Versions::Only(Version::V16),
            password: None,
            connectors: 2,
            meter_interval: Duration::from_secs(10),
            session_intervals: (4.0, 18.0),
            arrival_mean: Some(Duration::from_secs(60)),
            duration: None,
            seed: 1,
            reply_timeout: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(10),
            max_backoff: Duration::from_secs(5),
            max_message_len: proto_ocpp::DEFAULT_MAX_MESSAGE_LEN,
            progress_every: Duration::from_secs(5),
        }
    }

    /// The id of charger `n`.
    pub fn charger_id(n: usize) -> String {
        format!("CP-{n:04}")
    }

    fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        if self.chargers == 0
            || self.first_charger == 0
            || self.first_charger + self.chargers > 10_000
        {
            return bad(format!(
                "chargers {}–{} must lie within 1–9999",
                self.first_charger,
                self.first_charger + self.chargers.saturating_sub(1)
            ));
        }
        if !self.server.starts_with("ws://") && !self.server.starts_with("wss://") {
            return bad(format!("{:?} is not a ws:// URL", self.server));
        }
        if self.server.starts_with("wss://") {
            return bad("wss:// is not supported by the simulator (no TLS built in)".into());
        }
        if self.connectors == 0 || self.connectors > 8 {
            return bad("connectors per charger must be 1 to 8".into());
        }
        if self.meter_interval < Duration::from_millis(10) || self.reply_timeout.is_zero() {
            return bad("the meter interval must be at least 10 ms".into());
        }
        let (lo, hi) = self.session_intervals;
        if !(lo >= 1.0 && hi >= lo && hi < 1e6) {
            return bad(format!(
                "session length {lo}–{hi} meter intervals is not sensible"
            ));
        }
        Ok(())
    }

    fn url(&self, id: &str) -> String {
        format!("{}/ocpp/{id}", self.server.trim_end_matches('/'))
    }
}

pub(crate) fn wall_now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    Timestamp::from_micros(micros)
}

/// One session as the charger saw it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TxRecord {
    pub connector: u32,
    pub id_tag: String,
    /// 1.6: the id the CSMS assigned (absent until `StartTransaction` was answered); 2.0.1:
    /// the station's own id.
    pub transaction_id: Option<String>,
    pub remote_start: bool,
    pub remote_start_id: Option<i32>,
    /// Wh.
    pub meter_start: i64,
    /// Wh; absent while the session runs.
    pub meter_stop: Option<i64>,
    pub start: String,
    pub stop: Option<String>,
    /// In 1.6 spelling (`Local`, `Remote`, `EVDisconnected`, `DeAuthorized`).
    pub stop_reason: Option<String>,
    /// The CSMS answered `StartTransaction` / `TransactionEvent(Started)`.
    pub started_delivered: bool,
    /// The CSMS answered `StopTransaction` / `TransactionEvent(Ended)`.
    pub stopped_delivered: bool,
    pub meter_values_delivered: u64,
    /// The highest power sent in a meter value, W.
    pub max_power_w: f64,
    /// Limits applied to this session by profiles, W, in order.
    pub limits_w: Vec<f64>,
}

/// One charging profile accepted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProfileRecord {
    /// 0: the whole charger.
    pub connector: u32,
    pub purpose: String,
    pub limit_w: f64,
    pub transaction_id: Option<String>,
    pub received: String,
}

/// What one charger did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChargerSummary {
    pub id: String,
    pub version: String,
    pub rated_kw: f64,
    pub connections: u64,
    pub connect_failures: u64,
    pub boots_sent: u64,
    pub boots_accepted: u64,
    pub boots_refused: u64,
    pub status_delivered: u64,
    pub heartbeats_delivered: u64,
    pub calls_sent: u64,
    pub calls_answered: u64,
    pub call_errors: u64,
    pub timeouts: u64,
    pub malformed: u64,
    pub authorize_refused: u64,
    /// Calls dropped: queue full, or a 1.6 transaction without an id.
    pub dropped: u64,
    /// Calls not delivered when the run ended.
    pub pending: u64,
    /// Calls from the CSMS, by action.
    pub calls_received: BTreeMap<String, u64>,
    pub profiles: Vec<ProfileRecord>,
    pub transactions: Vec<TxRecord>,
    /// Each connector's last status (1.6 names).
    pub statuses: Vec<String>,
}

/// The run's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub server: String,
    pub elapsed_s: f64,
    pub chargers: usize,
    pub booted: usize,
    pub connections: u64,
    pub connect_failures: u64,
    pub transactions: u64,
    pub transactions_started_delivered: u64,
    pub transactions_stopped_delivered: u64,
    pub meter_values_delivered: u64,
    pub pending: u64,
    pub per_charger: Vec<ChargerSummary>,
}

impl Summary {
    fn add(&mut self, c: ChargerSummary) {
        if c.boots_accepted > 0 {
            self.booted += 1;
        }
        self.connections += c.connections;
        self.connect_failures += c.connect_failures;
        self.transactions += c.transactions.len() as u64;
        for t in &c.transactions {
            self.transactions_started_delivered += u64::from(t.started_delivered);
            self.transactions_stopped_delivered += u64::from(t.stopped_delivered);
            self.meter_values_delivered += t.meter_values_delivered;
        }
        self.pending += c.pending;
        self.per_charger.push(c);
    }
}

/// Progress while running.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    pub elapsed_s: f64,
    pub chargers: usize,
    pub online: usize,
    pub finished: usize,
}

async fn connect(
    config: &Config,
    id: &str,
    version: Version,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    String,
> {
    let mut req = config
        .url(id)
        .into_client_request()
        .map_err(|e| e.to_string())?;
    let headers = req.headers_mut();
    headers.insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(version.subprotocol()),
    );
    if let Some(pw) = &config.password {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{pw}"));
        let value = HeaderValue::from_str(&format!("Basic {token}")).map_err(|e| e.to_string())?;
        headers.insert("Authorization", value);
    }
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(config.max_message_len))
        .max_frame_size(Some(config.max_message_len));
    let connecting = tokio_tungstenite::connect_async_with_config(req, Some(ws_config), true);
    let (ws, _resp) = tokio::time::timeout(config.reply_timeout, connecting)
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

/// One charger from start to end: connect, run, reconnect with back-off.
async fn run_charger(
    mut charger: Charger,
    config: Config,
    mut stop: watch::Receiver<bool>,
    mut give_up: watch::Receiver<bool>,
    online: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> ChargerSummary {
    use std::sync::atomic::Ordering::Relaxed;
    let mut backoff = Duration::from_millis(200);
    loop {
        if *give_up.borrow() || (*stop.borrow() && !charger.booted) {
            break;
        }
        match connect(&config, &charger.id, charger.version).await {
            Ok(mut ws) => {
                charger.summary.connections += 1;
                backoff = Duration::from_millis(200);
                online.fetch_add(1, Relaxed);
                let ended = charger.connection(&mut ws, &mut stop, &mut give_up).await;
                online.fetch_sub(1, Relaxed);
                if ended == Ended::Stopped {
                    break;
                }
            }
            Err(_) => charger.summary.connect_failures += 1,
        }
        // A charger that never booted has nothing to deliver: the stop ends its retries.
        let booted = charger.booted;
        let mut stop_wait = stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = give_up.wait_for(|g| *g) => {}
            _ = stop_wait.wait_for(|s| *s), if !booted => {}
        }
        backoff = (backoff * 2).min(config.max_backoff);
    }
    charger.finish()
}

/// Runs the chargers until `config.duration` passes or `shutdown` completes; then each ends
/// its sessions and delivers what it can within `stop_timeout`. Problems with the CSMS are
/// counted in the summary; only a bad configuration is an error.
pub async fn run<S, P>(config: Config, shutdown: S, mut progress: P) -> Result<Summary, SimError>
where
    S: Future<Output = ()>,
    P: FnMut(&Progress),
{
    config.validate()?;
    let started = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let (give_up_tx, give_up_rx) = watch::channel(false);
    let online = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for n in config.first_charger..config.first_charger + config.chargers {
        let version = config.versions.for_number(n);
        let charger = Charger::new(n, version, config.clone(), Instant::now());
        tasks.spawn(run_charger(
            charger,
            config.clone(),
            stop_rx.clone(),
            give_up_rx.clone(),
            online.clone(),
        ));
    }
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    let end = config.duration.map_or(far, |d| started + d);
    let mut give_up_at: Option<Instant> = None;
    let mut next_progress = Instant::now() + config.progress_every;
    let mut summary = Summary {
        server: config.server.clone(),
        chargers: config.chargers,
        ..Summary::default()
    };
    let mut finished = Vec::new();
    tokio::pin!(shutdown);
    loop {
        let deadline = give_up_at.unwrap_or(end).min(next_progress);
        tokio::select! {
            _ = &mut shutdown, if give_up_at.is_none() => {
                let _ = stop_tx.send(true);
                give_up_at = Some(Instant::now() + config.stop_timeout);
            }
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Ok(c)) => finished.push(c),
                Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Some(Err(_)) => {}
            },
            _ = tokio::time::sleep_until(deadline) => {
                let now = Instant::now();
                if now >= next_progress {
                    progress(&Progress {
                        elapsed_s: started.elapsed().as_secs_f64(),
                        chargers: config.chargers,
                        online: online.load(std::sync::atomic::Ordering::Relaxed),
                        finished: finished.len(),
                    });
                    next_progress = now + config.progress_every;
                }
                match give_up_at {
                    None if now >= end => {
                        let _ = stop_tx.send(true);
                        give_up_at = Some(now + config.stop_timeout);
                    }
                    Some(t) if now >= t => {
                        let _ = give_up_tx.send(true);
                        // Far away: the tasks now finish promptly on their own.
                        give_up_at = Some(far);
                    }
                    _ => {}
                }
            }
        }
    }
    finished.sort_by(|a, b| a.id.cmp(&b.id));
    for c in finished {
        summary.add(c);
    }
    summary.elapsed_s = started.elapsed().as_secs_f64();
    Ok(summary)
}
