//! The CSMS: the city's own chargers speak OCPP-J 1.6 or 2.0.1 to it over WebSocket at
//! `ws://host:port/ocpp/{chargePointId}`.
//!
//! - Transport: [`serve`] plain `ws://` (security profile 1), [`serve_tls`] `wss://` with the
//!   server's certificate (profile 2, `tls.rs`).
//! - Handshake (`server.rs`): the subprotocol is negotiated with [`proto_ocpp::negotiate`]
//!   (nothing in common, or no offer: HTTP 400); security profile 1, HTTP Basic auth
//!   `chargePointId:password`, is checked by [`ChargerDirectory::admit`] (refused: 401). A second
//!   connection with the same id replaces the first, which is closed.
//! - Calls from chargers (`handle.rs`): those carrying data are stored as one
//!   [`pipeline::SourceProtocol::Ocpp`] record ([`proto_ocpp::Stored`]) and answered only once it
//!   is durable; a bus failure is answered with CALLERROR `InternalError`, never a CALLRESULT.
//! - The CSMS's own calls ([`Csms::call`]): one outstanding per connection, timed out.
//! - Orderly charging ([`orderly`]): the CSMS tracks each site's active sessions (the starts and
//!   stops it saw; after a restart they are rebuilt as chargers report meter values or
//!   transaction events of running transactions) and on every change shares the site's limit
//!   among them, sending `SetChargingProfile` (a `TxProfile` in W, one period) to each session
//!   whose share changed: decreases first, then new sessions, then increases, each awaited, so
//!   the limits the chargers hold never add up to more than the site's limit.

mod commands;
mod directory;
mod handle;
mod metrics;
pub mod orderly;
mod server;
mod tls;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::Timestamp;
use pipeline::Pipeline;
use proto_ocpp::{
    DEFAULT_MAX_MESSAGE_LEN, DEFAULT_PREFERENCE, ErrorCode, Request, Response, Version,
};
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};

pub use commands::{ChargerCommand, CommandOutcome, OPERATOR_ID_TAG};
pub use directory::{Admission, ChargerDirectory, MemoryCharger, MemoryDirectory};
pub use metrics::OcppMetrics;
pub use server::serve;
pub use tls::{TlsError, serve_tls, tls_acceptor};

use orderly::ActiveSession;

/// Limits and settings of the CSMS.
#[derive(Debug, Clone)]
pub struct CsmsOptions {
    /// Subprotocols in the server's order of preference.
    pub preference: Vec<Version>,
    /// The largest message accepted, in bytes.
    pub max_message_len: usize,
    /// The heartbeat interval given in `BootNotification` answers, in seconds.
    pub heartbeat_interval_secs: i32,
    /// How long a charger may take to answer the CSMS's call.
    pub call_timeout: Duration,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    pub max_connections: usize,
    /// A session's maximum power when the directory does not know the charger's, in kW.
    pub default_session_max_kw: f64,
    pub metrics: OcppMetrics,
}

impl Default for CsmsOptions {
    fn default() -> Self {
        Self {
            preference: DEFAULT_PREFERENCE.to_vec(),
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            heartbeat_interval_secs: 300,
            call_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(900),
            max_connections: 10_000,
            default_session_max_kw: 22.0,
            metrics: OcppMetrics::default(),
        }
    }
}

/// A connected charger, for the API.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargerInfo {
    pub charge_point: String,
    pub version: Version,
    pub site: String,
    pub connected_since: Timestamp,
}

/// Why a call of the CSMS got no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallFailure {
    #[error("charger {0} is not connected")]
    NotConnected(String),
    #[error("charger speaks {connection}, the call is {request}")]
    WrongVersion {
        request: Version,
        connection: Version,
    },
    #[error("no answer within the timeout")]
    Timeout,
    #[error("the connection closed before the answer")]
    Closed,
    #[error("the charger answered with CALLERROR {code}: {description}")]
    Error {
        /// As sent; `ErrorCode::parse` reads it.
        code: String,
        description: String,
    },
    #[error("the answer does not decode: {0}")]
    BadAnswer(String),
    /// The command cannot be expressed for this charger (e.g. a 1.6 transaction id that is not
    /// an integer, an id tag too long).
    #[error("invalid command: {0}")]
    Invalid(String),
}

impl CallFailure {
    /// The CALLERROR code, when the charger answered with one that either version defines.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            CallFailure::Error { code, .. } => ErrorCode::parse(code),
            _ => None,
        }
    }
}

/// One active session of a site's schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledSession {
    pub charge_point: String,
    /// 1.6 connector or 2.0.1 EVSE.
    pub connector: i32,
    pub transaction_id: String,
    /// The limit the charger last accepted, in kW; `None` before its first profile.
    pub kw: Option<f64>,
}

/// A site's orderly-charging state, for the API.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteSchedule {
    pub site: String,
    pub limit_kw: Option<f64>,
    pub sessions: Vec<ScheduledSession>,
    /// The sum of the accepted limits.
    pub total_kw: f64,
}

/// A transaction id of either version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TxId {
    V16(i32),
    V201(String),
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxId::V16(n) => write!(f, "{n}"),
            TxId::V201(s) => f.write_str(s),
        }
    }
}

/// A session the CSMS tracks for orderly charging.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) charge_point: String,
    pub(crate) connector: i32,
    pub(crate) tx: TxId,
    pub(crate) priority: i32,
    pub(crate) max_kw: f64,
    pub(crate) profile_id: i32,
    /// The limit the charger last accepted, kW.
    pub(crate) sent_kw: Option<f64>,
}

/// What the CSMS may ask a connection to do.
pub(crate) enum Command {
    Call {
        request: Request,
        reply: oneshot::Sender<Result<Response, CallFailure>>,
    },
}

#[derive(Clone)]
pub(crate) struct ConnHandle {
    pub(crate) conn_no: u64,
    pub(crate) info: ChargerInfo,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) kick: Arc<Notify>,
}

/// The charging station management system. Shared by every connection; cheap to call from the
/// API.
pub struct Csms {
    pub(crate) directory: Arc<dyn ChargerDirectory>,
    pub(crate) pipeline: Pipeline,
    pub(crate) options: CsmsOptions,
    pub(crate) slots: Arc<Semaphore>,
    conns: Mutex<HashMap<String, ConnHandle>>,
    pub(crate) next_conn: AtomicU64,
    /// Distinguishes this process's call ids from an earlier one's (some chargers take a
    /// repeated unique id for a retransmission).
    pub(crate) id_epoch: u32,
    sites: Mutex<HashMap<String, Vec<Session>>>,
    site_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    next_profile_id: AtomicI32,
}

impl fmt::Debug for Csms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Csms")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

pub(crate) fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_micros(d.as_micros() as i64)
}

impl Csms {
    pub fn new(
        directory: Arc<dyn ChargerDirectory>,
        pipeline: Pipeline,
        options: CsmsOptions,
    ) -> Arc<Self> {
        Arc::new(Self {
            directory,
            pipeline,
            slots: Arc::new(Semaphore::new(options.max_connections)),
            options,
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            id_epoch: (now().as_secs() & 0xff_ffff) as u32,
            sites: Mutex::new(HashMap::new()),
            site_locks: Mutex::new(HashMap::new()),
            next_profile_id: AtomicI32::new(1),
        })
    }

    pub fn metrics(&self) -> &OcppMetrics {
        &self.options.metrics
    }

    /// The chargers connected now, by id.
    pub fn connected(&self) -> Vec<ChargerInfo> {
        let mut v: Vec<ChargerInfo> = self
            .conns
            .lock()
            .expect("conns lock")
            .values()
            .map(|h| h.info.clone())
            .collect();
        v.sort_by(|a, b| a.charge_point.cmp(&b.charge_point));
        v
    }

    /// Sends `request` to the charger and waits for its answer (at most
    /// [`CsmsOptions::call_timeout`] once sent; calls to one charger go one at a time).
    pub async fn call(
        &self,
        charge_point: &str,
        request: Request,
    ) -> Result<Response, CallFailure> {
        let handle = self
            .conns
            .lock()
            .expect("conns lock")
            .get(charge_point)
            .cloned()
            .ok_or_else(|| CallFailure::NotConnected(charge_point.to_owned()))?;
        if request.version() != handle.info.version {
            return Err(CallFailure::WrongVersion {
                request: request.version(),
                connection: handle.info.version,
            });
        }
        let (reply, answer) = oneshot::channel();
        handle
            .commands
            .send(Command::Call { request, reply })
            .await
            .map_err(|_| CallFailure::Closed)?;
        answer.await.unwrap_or(Err(CallFailure::Closed))
    }

    /// The site's limit, active sessions and the limits their chargers hold.
    pub fn site_schedule(&self, site: &str) -> SiteSchedule {
        let sessions: Vec<ScheduledSession> = self
            .sites
            .lock()
            .expect("sites lock")
            .get(site)
            .map(|v| {
                v.iter()
                    .map(|s| ScheduledSession {
                        charge_point: s.charge_point.clone(),
                        connector: s.connector,
                        transaction_id: s.tx.to_string(),
                        kw: s.sent_kw,
                    })
                    .collect()
            })
            .unwrap_or_default();
        SiteSchedule {
            site: site.to_owned(),
            limit_kw: self.directory.site_limit(site, now()),
            total_kw: sessions.iter().filter_map(|s| s.kw).sum(),
            sessions,
        }
    }

    /// Shares the site's limit again now: for a limit that changed (a new configuration, a
    /// time-of-use period, a demand-response event). Starts and stops do this by themselves.
    pub async fn rebalance_site(self: &Arc<Self>, site: &str) {
        Arc::clone(self).rebalance(site.to_owned()).await;
    }

    /// Registers a new connection, closing the one it replaces.
    pub(crate) fn register(&self, handle: ConnHandle) {
        let old = self
            .conns
            .lock()
            .expect("conns lock")
            .insert(handle.info.charge_point.clone(), handle);
        if let Some(old) = old {
            old.kick.notify_one();
        }
    }

    /// Forgets a connection unless a newer one has replaced it.
    pub(crate) fn unregister(&self, charge_point: &str, conn_no: u64) {
        let mut conns = self.conns.lock().expect("conns lock");
        if conns
            .get(charge_point)
            .is_some_and(|h| h.conn_no == conn_no)
        {
            conns.remove(charge_point);
        }
    }

    /// The connector of a tracked session.
    pub(crate) fn session_connector(&self, site: &str, cp: &str, tx: &TxId) -> Option<i32> {
        self.sites
            .lock()
            .expect("sites lock")
            .get(site)?
            .iter()
            .find(|s| s.charge_point == cp && &s.tx == tx)
            .map(|s| s.connector)
    }

    /// Tracks a session; false if it was already tracked.
    pub(crate) fn track(
        &self,
        site: &str,
        cp: &str,
        connector: i32,
        tx: TxId,
        priority: i32,
    ) -> bool {
        let max_kw = self
            .directory
            .charger_max_kw(cp)
            .unwrap_or(self.options.default_session_max_kw);
        let mut sites = self.sites.lock().expect("sites lock");
        let sessions = sites.entry(site.to_owned()).or_default();
        if sessions.iter().any(|s| s.charge_point == cp && s.tx == tx) {
            return false;
        }
        // A charger runs one transaction per connector: an older one there has ended unseen.
        sessions.retain(|s| !(s.charge_point == cp && s.connector == connector));
        let profile_id = match tx {
            TxId::V16(n) => n,
            TxId::V201(_) => self.next_profile_id.fetch_add(1, Ordering::Relaxed),
        };
        sessions.push(Session {
            charge_point: cp.to_owned(),
            connector,
            tx,
            priority,
            max_kw,
            profile_id,
            sent_kw: None,
        });
        true
    }

    /// Stops tracking a session; false if it was not tracked.
    pub(crate) fn untrack(&self, site: &str, cp: &str, tx: &TxId) -> bool {
        let mut sites = self.sites.lock().expect("sites lock");
        let Some(sessions) = sites.get_mut(site) else {
            return false;
        };
        let before = sessions.len();
        sessions.retain(|s| !(s.charge_point == cp && &s.tx == tx));
        before != sessions.len()
    }

    fn site_lock(&self, site: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(
            self.site_locks
                .lock()
                .expect("site locks")
                .entry(site.to_owned())
                .or_default(),
        )
    }

    /// Shares the site's limit among its sessions again and sends the changed limits. Runs one
    /// at a time per site.
    pub(crate) async fn rebalance(self: Arc<Self>, site: String) {
        let lock = self.site_lock(&site);
        let _guard = lock.lock().await;
        let Some(limit) = self.directory.site_limit(&site, now()) else {
            return;
        };
        let sessions: Vec<Session> = self
            .sites
            .lock()
            .expect("sites lock")
            .get(&site)
            .cloned()
            .unwrap_or_default();
        let inputs: Vec<ActiveSession<usize>> = sessions
            .iter()
            .enumerate()
            .map(|(i, s)| ActiveSession {
                key: i,
                priority: s.priority,
                departure: None,
                max_kw: s.max_kw,
            })
            .collect();
        let shares = orderly::allocate(limit, &inputs);
        let (mut down, mut fresh, mut up) = (Vec::new(), Vec::new(), Vec::new());
        for (i, kw) in shares {
            let s = &sessions[i];
            match s.sent_kw {
                None => fresh.push((s, kw)),
                Some(old) if (old - kw).abs() < 0.0005 => {}
                Some(old) if kw < old => down.push((s, kw)),
                Some(_) => up.push((s, kw)),
            }
        }
        // Lower first, so the limits held never add up to more than the site's.
        for (s, kw) in down {
            if !self.send_profile(&site, s, kw).await {
                tracing::warn!(
                    site,
                    charge_point = s.charge_point,
                    "a lower limit was not accepted; not raising others"
                );
                return;
            }
        }
        for (s, kw) in fresh {
            if !self.send_profile(&site, s, kw).await {
                tracing::warn!(
                    site,
                    charge_point = s.charge_point,
                    "a new session's limit was not accepted; not raising others"
                );
                return;
            }
        }
        for (s, kw) in up {
            self.send_profile(&site, s, kw).await;
        }
    }

    /// Sends one session's limit; true when the charger accepted it.
    async fn send_profile(&self, site: &str, s: &Session, kw: f64) -> bool {
        let watts = (kw * 1000.0).floor().max(0.0);
        let request = handle::tx_profile(s, watts);
        let accepted = match self.call(&s.charge_point, request).await {
            Ok(Response::V16(proto_ocpp::v16::Response::SetChargingProfile(r))) => {
                r.status == proto_ocpp::v16::ChargingProfileStatus::Accepted
            }
            Ok(Response::V201(proto_ocpp::v201::Response::SetChargingProfile(r))) => {
                r.status == proto_ocpp::v201::ChargingProfileStatus::Accepted
            }
            Ok(_) => false,
            Err(e) => {
                tracing::warn!(site, charge_point = s.charge_point, error = %e, "SetChargingProfile failed");
                false
            }
        };
        if accepted {
            let mut sites = self.sites.lock().expect("sites lock");
            if let Some(t) = sites.get_mut(site).and_then(|v| {
                v.iter_mut()
                    .find(|t| t.charge_point == s.charge_point && t.tx == s.tx)
            }) {
                t.sent_kw = Some(watts / 1000.0);
            }
        }
        accepted
    }
}
