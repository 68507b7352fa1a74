//! The T/CEC 102 server operators push to: `POST /evcs/{version}/{interface}`.
//!
//! Every answer is HTTP 200 with a response envelope; what went wrong is its `Ret` (the
//! standard's way). A refusal is signed with the peer's secrets when the envelope names a
//! configured operator, and unsigned otherwise (we have no key to sign with). Its `Msg` is the
//! standard's text and a fixed reason — never text the peer sent, so a signed refusal cannot be
//! made to carry chosen bytes. The full reason goes to the log with the operator.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::post;
use model::Timestamp;
use pipeline::{IngestRecord, Pipeline, SourceProtocol};
use proto_tcec::charging::{decode_charge_status, interface};
use proto_tcec::codes::{ConfirmResult, NotificationStatus, SuccStat, TokenFailReason};
use proto_tcec::model::{
    ChargeOrderInfo, ChargeOrderInfoResponse, ChargeStatusResponse, NotificationResponse,
    NotificationStationInfo, NotificationStationStatus, QueryTokenRequest, QueryTokenResponse,
};
use proto_tcec::{
    Error, Origin, ReplayGuard, Request, Response, Ret, Stored, decode_json, encode_json,
    encode_stored,
};

use super::{Peer, TcecMetrics, TokenStore, system_now};

/// Limits and lifetimes of the server.
#[derive(Debug, Clone)]
pub struct TcecOptions {
    /// Seconds an `AccessToken` stays valid (`TokenAvailableTime`; the usual 7200).
    pub token_ttl_secs: u32,
    /// `TimeStamp`s further than this from our clock are refused (±5 minutes).
    pub replay_window_secs: u32,
    /// Requests remembered inside the window before the server answers busy.
    pub replay_max_entries: usize,
    /// Largest request body (1 MiB); larger ones get HTTP 413.
    pub max_body_bytes: usize,
    /// The clock (the system clock; tests move it).
    pub clock: fn() -> Timestamp,
    /// Counters; register them with [`TcecMetrics::register`].
    pub metrics: TcecMetrics,
}

impl Default for TcecOptions {
    fn default() -> Self {
        Self {
            token_ttl_secs: 7200,
            replay_window_secs: ReplayGuard::DEFAULT_WINDOW_SECS,
            replay_max_entries: ReplayGuard::DEFAULT_MAX_ENTRIES,
            max_body_bytes: 1 << 20,
            clock: system_now,
            metrics: TcecMetrics::default(),
        }
    }
}

/// The server's state: the configured peers, the token store, the replay guard, the pipeline.
pub struct TcecServer {
    peers: HashMap<String, Peer>,
    tokens: Arc<dyn TokenStore>,
    pipeline: Pipeline,
    guard: Mutex<ReplayGuard>,
    options: TcecOptions,
}

impl std::fmt::Debug for TcecServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcecServer")
            .field("peers", &self.peers.keys().collect::<Vec<_>>())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The routes: `POST /evcs/{version}/{interface}` (any version segment: `v1`, `v20160701`,
/// `V1.0` are all in use), Shanghai's `/shevcs/{version}/{interface}`, and both with a
/// trailing slash, under a body limit. Interface names match without regard to ASCII case.
pub fn router(server: Arc<TcecServer>) -> Router {
    let limit = server.options.max_body_bytes;
    Router::new()
        .route("/evcs/{version}/{interface}", post(handle))
        .route("/evcs/{version}/{interface}/", post(handle))
        .route("/shevcs/{version}/{interface}", post(handle))
        .route("/shevcs/{version}/{interface}/", post(handle))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(server)
}

async fn handle(
    State(server): State<Arc<TcecServer>>,
    Path((_version, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("Bearer")
                .then(|| token.trim())
                .filter(|t| !t.is_empty())
        });
    let answer = server.answer(&name, bearer, &body).await;
    (
        [(CONTENT_TYPE, "application/json;charset=utf-8")],
        answer.to_json(),
    )
        .into_response()
}

/// A reason label for each way opening an envelope can fail.
fn reason_of(e: &Error) -> &'static str {
    match e {
        Error::Envelope { .. } => "bad_envelope",
        Error::Field { .. } => "bad_field",
        Error::UnknownOperator(_) => "unknown_operator",
        Error::BadSignature => "bad_signature",
        Error::Decrypt(_) => "decrypt",
        Error::StaleTimestamp { .. } => "stale_timestamp",
        Error::ReplayedSeq { .. } => "replayed_seq",
        Error::ReplayGuardFull(_) => "replay_guard_full",
        Error::Json { .. } => "bad_data",
    }
}

/// Equal in time independent of where the first difference is.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// A fresh `AccessToken`: 32 random bytes as 64 hex digits.
fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// At most 64 characters of a name the peer chose, for the log.
fn for_log(s: &str) -> &str {
    s.char_indices().nth(64).map_or(s, |(i, _)| &s[..i])
}

impl TcecServer {
    pub fn new(
        peers: Vec<Peer>,
        tokens: Arc<dyn TokenStore>,
        pipeline: Pipeline,
        options: TcecOptions,
    ) -> Self {
        let guard = ReplayGuard::new(options.replay_window_secs, options.replay_max_entries);
        Self {
            peers: peers
                .into_iter()
                .map(|p| (p.secrets.operator_id().to_owned(), p))
                .collect(),
            tokens,
            pipeline,
            guard: Mutex::new(guard),
            options,
        }
    }

    pub fn metrics(&self) -> &TcecMetrics {
        &self.options.metrics
    }

    /// The answer to one request on `name` with this bearer token and body: everything but
    /// HTTP. A push is answered `Ret=0` only after its record is durable.
    pub async fn answer(&self, name: &str, bearer: Option<&str>, body: &[u8]) -> Response {
        let now = (self.options.clock)();
        let req = match Request::parse(body) {
            Ok(r) => r,
            Err(e) => return self.refuse(None, "", name, &e, "bad_envelope", e.ret()),
        };
        let op = req.operator_id.as_str();
        let peer = self.peers.get(op);
        if name.eq_ignore_ascii_case(interface::QUERY_TOKEN) {
            return self.query_token(&req, peer, now);
        }
        let Some(token) = bearer else {
            return self.refuse(
                peer,
                op,
                name,
                &"no bearer token",
                "token_missing",
                Ret::TokenError,
            );
        };
        match self.tokens.operator_of(token, now) {
            Ok(Some(owner)) if owner == op => {}
            Ok(Some(owner)) => {
                let why = format!("token belongs to {owner:?}");
                return self.refuse(
                    peer,
                    op,
                    name,
                    &why,
                    "token_operator_mismatch",
                    Ret::TokenError,
                );
            }
            Ok(None) => {
                return self.refuse(
                    peer,
                    op,
                    name,
                    &"unknown or expired token",
                    "token_invalid",
                    Ret::TokenError,
                );
            }
            Err(e) => {
                return self.refuse(peer, op, name, &e, "token_store_error", Ret::SystemError);
            }
        }
        let Some(peer) = peer else {
            // A token of an operator that is no longer configured.
            return self.refuse(
                None,
                op,
                name,
                &"operator not configured",
                "unknown_operator",
                Ret::TokenError,
            );
        };
        let plaintext = match self.open(name, &req, peer, now) {
            Ok(p) => p,
            Err(refusal) => return refusal,
        };
        let Some(canonical) = interface::canonical_push(name) else {
            return self.refuse(
                Some(peer),
                op,
                name,
                &"not an interface of this platform",
                "unknown_interface",
                Ret::BadData,
            );
        };
        let ack = match ack_for(canonical, &plaintext) {
            Ok(ack) => ack,
            Err(e) => return self.refuse(Some(peer), op, name, &e, "bad_data", Ret::BadData),
        };
        let stored = Stored {
            operator_id: req.operator_id.clone(),
            interface: canonical.to_owned(),
            origin: Origin::Push,
            data: plaintext,
        };
        let record = IngestRecord {
            protocol: SourceProtocol::Tcec,
            received_at: now,
            org: peer.org.clone(),
            payload: encode_stored(&stored),
        };
        let durable = match self.pipeline.submit(record).await {
            Ok(seq) => self.pipeline.wait_durable(seq).await,
            Err(e) => Err(e),
        };
        if let Err(e) = durable {
            return self.refuse(Some(peer), op, name, &e, "bus_error", Ret::SystemError);
        }
        self.options.metrics.accept(canonical);
        Response::seal(&peer.secrets, Ret::Ok, Ret::Ok.default_msg(), Some(&ack))
    }

    /// Verifies (signature before decryption) and passes the replay guard.
    fn open(
        &self,
        name: &str,
        req: &Request,
        peer: &Peer,
        now: Timestamp,
    ) -> Result<Vec<u8>, Response> {
        let opened = {
            let mut guard = self.guard.lock().unwrap_or_else(PoisonError::into_inner);
            req.open(&peer.secrets, &mut guard, now)
        };
        opened.map_err(|e| {
            self.refuse(
                Some(peer),
                &req.operator_id,
                name,
                &e,
                reason_of(&e),
                e.ret(),
            )
        })
    }

    fn query_token(&self, req: &Request, peer: Option<&Peer>, now: Timestamp) -> Response {
        let op = req.operator_id.as_str();
        let name = interface::QUERY_TOKEN;
        let Some(peer) = peer else {
            return self.refuse(
                None,
                op,
                name,
                &"operator not configured",
                "unknown_operator",
                Ret::BadRequest,
            );
        };
        let plaintext = match self.open(name, req, peer, now) {
            Ok(p) => p,
            Err(refusal) => return refusal,
        };
        let asked: QueryTokenRequest = match decode_json(&plaintext) {
            Ok(q) => q,
            Err(e) => return self.refuse(Some(peer), op, name, &e, "bad_data", Ret::BadData),
        };
        let failure = if asked.operator_id != op {
            Some((TokenFailReason::UnknownOperator, "token_operator_mismatch"))
        } else if !same_secret(&asked.operator_secret, peer.secrets.operator_secret()) {
            Some((TokenFailReason::WrongSecret, "wrong_operator_secret"))
        } else {
            None
        };
        let ttl = self.options.token_ttl_secs;
        let answer = match failure {
            Some((reason, label)) => {
                tracing::warn!(operator = op, reason = label, "T/CEC query_token refused");
                self.options.metrics.refuse(label);
                QueryTokenResponse {
                    operator_id: op.to_owned(),
                    succ_stat: SuccStat::Failure,
                    access_token: String::new(),
                    token_available_time: Some(0),
                    fail_reason: Some(reason),
                }
            }
            None => {
                let token = match new_token() {
                    Ok(t) => t,
                    Err(e) => {
                        return self.refuse(
                            Some(peer),
                            op,
                            name,
                            &e,
                            "random_error",
                            Ret::SystemError,
                        );
                    }
                };
                let expires = Timestamp::from_micros(
                    now.as_micros()
                        .saturating_add(i64::from(ttl).saturating_mul(1_000_000)),
                );
                if let Err(e) = self.tokens.store(op, &token, expires) {
                    return self.refuse(
                        Some(peer),
                        op,
                        name,
                        &e,
                        "token_store_error",
                        Ret::SystemError,
                    );
                }
                tracing::info!(operator = op, ttl_secs = ttl, "T/CEC token issued");
                self.options.metrics.accept(interface::QUERY_TOKEN);
                QueryTokenResponse {
                    operator_id: op.to_owned(),
                    succ_stat: SuccStat::Success,
                    access_token: token,
                    token_available_time: Some(ttl),
                    fail_reason: Some(TokenFailReason::None),
                }
            }
        };
        Response::seal(
            &peer.secrets,
            Ret::Ok,
            Ret::Ok.default_msg(),
            Some(&encode_json(&answer)),
        )
    }

    /// Logs and counts a refusal and builds its answer (signed when we know the peer).
    fn refuse(
        &self,
        peer: Option<&Peer>,
        operator: &str,
        name: &str,
        why: &dyn std::fmt::Display,
        reason: &'static str,
        ret: Ret,
    ) -> Response {
        tracing::warn!(
            operator = for_log(operator),
            interface = for_log(name),
            reason,
            ret = ret.code(),
            error = %why,
            "T/CEC request refused"
        );
        self.options.metrics.refuse(reason);
        let msg = format!("{}: {reason}", ret.default_msg());
        match peer {
            Some(p) => Response::seal(&p.secrets, ret, &msg, None),
            None => Response {
                ret,
                msg,
                data: String::new(),
                sig: String::new(),
            },
        }
    }
}

/// Checks that a push reads as its interface's payload and builds the `Data` of the answer the
/// standard owes for it.
fn ack_for(name: &'static str, plaintext: &[u8]) -> Result<Vec<u8>, String> {
    use interface::*;
    let accepted = || {
        encode_json(&NotificationResponse {
            status: NotificationStatus::Accepted,
        })
    };
    match name {
        NOTIFICATION_STATION_INFO => decode_json::<NotificationStationInfo>(plaintext)
            .map(|_| accepted())
            .map_err(|e| e.to_string()),
        NOTIFICATION_STATION_STATUS => decode_json::<NotificationStationStatus>(plaintext)
            .map(|_| accepted())
            .map_err(|e| e.to_string()),
        NOTIFICATION_CHARGE_ORDER_INFO | NOTIFICATION_CHARGE_ORDER_INFO_FOR_BONUS => {
            let o: ChargeOrderInfo = decode_json(plaintext).map_err(|e| e.to_string())?;
            Ok(encode_json(&ChargeOrderInfoResponse {
                start_charge_seq: o.start_charge_seq,
                connector_id: o.connector_id,
                confirm_result: ConfirmResult::Agreed,
            }))
        }
        NOTIFICATION_EQUIP_CHARGE_STATUS | NOTIFICATION_CONNECTOR_CHARGE_STATUS => {
            let s = decode_charge_status(plaintext)
                .ok_or_else(|| "not a ChargeStatus (ConnectorID missing?)".to_owned())?;
            Ok(encode_json(&ChargeStatusResponse {
                start_charge_seq: s.start_charge_seq.unwrap_or_default(),
                succ_stat: SuccStat::Success,
            }))
        }
        // Supervision additions (BMS, alarms, events): kept as sent, once they are JSON.
        _ => serde_json::from_slice::<serde_json::Value>(plaintext)
            .map(|_| accepted())
            .map_err(|e| format!("not JSON: {e}")),
    }
}
