//! The WebSocket side of the CSMS: the handshake (identity, subprotocol, HTTP Basic auth) and the
//! per-connection loop that answers the charger's calls and carries the CSMS's own.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::{Listener, ListenerExt};
use base64::Engine;
use proto_ocpp::{Answer, CorrelateError, Correlator, Incoming, Version, negotiate, receive};
use tokio::net::TcpListener;
use tokio::sync::{Notify, OwnedSemaphorePermit, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::handle::{Answered, Ctx, untyped_answer};
use super::metrics::{CallLabel, ReasonLabel, VersionLabel};
use super::{Admission, CallFailure, ChargerInfo, Command, ConnHandle, Csms, now};

/// The longest charge point identity accepted (2.0.1 `identity` is `string[0..48]`).
const MAX_IDENTITY_LEN: usize = 48;

/// Serves the CSMS on `listener` (plain `ws://`, security profiles 0 and 1) until `shutdown`
/// turns true.
pub async fn serve(csms: Arc<Csms>, listener: TcpListener, shutdown: watch::Receiver<bool>) {
    serve_on(
        csms,
        listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        }),
        shutdown,
    )
    .await;
}

pub(crate) async fn serve_on<L>(csms: Arc<Csms>, listener: L, shutdown: watch::Receiver<bool>)
where
    L: Listener,
    L::Addr: std::fmt::Debug,
{
    let app = Router::new()
        .route("/ocpp/{charge_point}", get(upgrade))
        .with_state(AppState {
            csms,
            shutdown: shutdown.clone(),
        });
    let mut stop = shutdown.clone();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            stopped(&mut stop).await;
        })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "the OCPP server stopped");
    }
}

fn refuse(csms: &Csms, reason: &'static str, status: StatusCode, text: &'static str) -> Response {
    csms.options
        .metrics
        .refusals
        .get_or_create(&ReasonLabel { reason })
        .inc();
    (status, text).into_response()
}

/// The password of an `Authorization: Basic` header whose user is `charge_point`; `Err` when the
/// header is there but is not that.
fn basic_password(headers: &HeaderMap, charge_point: &str) -> Result<Option<Vec<u8>>, ()> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ())?;
    let (scheme, encoded) = text.trim().split_once(' ').ok_or(())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| ())?;
    let colon = decoded.iter().position(|&b| b == b':').ok_or(())?;
    if &decoded[..colon] != charge_point.as_bytes() {
        return Err(());
    }
    Ok(Some(decoded[colon + 1..].to_vec()))
}

#[derive(Clone)]
struct AppState {
    csms: Arc<Csms>,
    shutdown: watch::Receiver<bool>,
}

async fn upgrade(
    State(AppState { csms, shutdown }): State<AppState>,
    Path(charge_point): Path<String>,
    headers: HeaderMap,
    mut ws: WebSocketUpgrade,
) -> Response {
    if charge_point.is_empty()
        || charge_point.chars().count() > MAX_IDENTITY_LEN
        || charge_point.chars().any(|c| c.is_control() || c == '/')
    {
        return refuse(
            &csms,
            "identity",
            StatusCode::BAD_REQUEST,
            "bad charge point id",
        );
    }
    // Negotiate on the charger's own spelling, and echo that spelling back.
    let offered: Vec<String> = ws
        .requested_protocols()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let Some(version) = negotiate(offered.iter().map(String::as_str), &csms.options.preference)
    else {
        return refuse(
            &csms,
            "subprotocol",
            StatusCode::BAD_REQUEST,
            "no supported OCPP subprotocol offered (ocpp1.6, ocpp2.0.1)",
        );
    };
    let Some(token) = offered
        .iter()
        .find(|o| Version::from_subprotocol(o) == Some(version))
        .and_then(|o| HeaderValue::from_str(o).ok())
    else {
        return refuse(
            &csms,
            "subprotocol",
            StatusCode::BAD_REQUEST,
            "bad subprotocol",
        );
    };
    let unauthorized = || {
        let mut r = refuse(
            &csms,
            "unauthorized",
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ocpp\""),
        );
        r
    };
    let Ok(password) = basic_password(&headers, &charge_point) else {
        return unauthorized();
    };
    let (site, priority) = match csms.directory.admit(&charge_point, password.as_deref()) {
        Admission::Refused => return unauthorized(),
        Admission::Admitted { site, priority } => (site, priority),
    };
    let Ok(slot) = Arc::clone(&csms.slots).try_acquire_owned() else {
        return refuse(
            &csms,
            "capacity",
            StatusCode::SERVICE_UNAVAILABLE,
            "too many connections",
        );
    };
    ws.set_selected_protocol(token);
    let max = csms.options.max_message_len;
    let ctx = Ctx {
        charge_point,
        version,
        site,
        priority,
    };
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| run(csms, socket, ctx, slot, shutdown))
}

/// The outstanding call of the CSMS on this connection.
struct Pending {
    reply: oneshot::Sender<Result<proto_ocpp::Response, CallFailure>>,
    action: &'static str,
    deadline: Instant,
}

fn action_label(action: &str, version: Version) -> &'static str {
    let list = match version {
        Version::V16 => proto_ocpp::v16::ACTIONS,
        Version::V201 => proto_ocpp::v201::ACTIONS,
    };
    list.iter()
        .find(|a| **a == action)
        .copied()
        .unwrap_or("other")
}

async fn run(
    csms: Arc<Csms>,
    mut socket: WebSocket,
    ctx: Ctx,
    _slot: OwnedSemaphorePermit,
    mut shutdown: watch::Receiver<bool>,
) {
    let conn_no = csms
        .next_conn
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (commands, mut command_rx) = mpsc::channel::<Command>(16);
    let kick = Arc::new(Notify::new());
    let since = now();
    csms.register(ConnHandle {
        conn_no,
        info: ChargerInfo {
            charge_point: ctx.charge_point.clone(),
            version: ctx.version,
            site: ctx.site.clone(),
            connected_since: since,
        },
        commands,
        kick: Arc::clone(&kick),
    });
    let metrics = csms.options.metrics.clone();
    let vlabel = VersionLabel {
        version: ctx.version.subprotocol(),
    };
    metrics.connections.get_or_create(&vlabel).inc();
    metrics.connections_active.get_or_create(&vlabel).inc();
    tracing::info!(charge_point = ctx.charge_point, version = %ctx.version, site = ctx.site, "charger connected");

    let timeout_secs = csms.options.call_timeout.as_secs().max(1) as i64;
    let mut correlator = Correlator::new(
        ctx.version,
        &format!("{:x}-{conn_no}-", csms.id_epoch),
        timeout_secs,
    );
    let mut pending: Option<Pending> = None;
    let mut last_read = Instant::now();
    let idle = csms.options.idle_timeout;
    let max_len = csms.options.max_message_len;

    let reason = loop {
        let deadline = pending.as_ref().map_or_else(
            || Instant::now() + Duration::from_secs(3600),
            |p| p.deadline,
        );
        tokio::select! {
            biased;
            _ = kick.notified() => break "replaced by a newer connection",
            _ = stopped(&mut shutdown) => break "shutdown",
            _ = tokio::time::sleep_until(deadline), if pending.is_some() => {
                if let Some(p) = pending.take() {
                    // Forget the call, so a late answer is not taken for the next one.
                    if let Some(o) = correlator.outstanding() {
                        let at = model::Timestamp::from_micros(
                            o.sent_at.as_micros().saturating_add(timeout_secs * 1_000_000),
                        );
                        correlator.poll_timeout(at);
                    }
                    count_csms(&metrics, p.action, "timeout");
                    let _ = p.reply.send(Err(CallFailure::Timeout));
                }
            }
            cmd = command_rx.recv(), if pending.is_none() => {
                let Some(Command::Call { request, reply }) = cmd else { continue };
                let action = request.action();
                match correlator.call(&request, now()) {
                    Ok((_, text)) => {
                        if socket.send(Message::Text(text.into())).await.is_err() {
                            let _ = reply.send(Err(CallFailure::Closed));
                            break "write error";
                        }
                        pending = Some(Pending {
                            reply,
                            action,
                            deadline: Instant::now() + csms.options.call_timeout,
                        });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(CallFailure::BadAnswer(e.to_string())));
                    }
                }
            }
            msg = tokio::time::timeout(idle.saturating_sub(last_read.elapsed()), socket.recv()) => {
                let msg = match msg {
                    Err(_) => break "idle timeout",
                    Ok(None) | Ok(Some(Err(_))) => break "closed by peer",
                    Ok(Some(Ok(m))) => m,
                };
                last_read = Instant::now();
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Close(_) => break "closed by peer",
                    Message::Binary(_) => {
                        metrics.calls.get_or_create(&CallLabel { action: "other", outcome: "binary" }).inc();
                        continue;
                    }
                    // Pings are answered by the WebSocket layer.
                    _ => continue,
                };
                let received_at = now();
                match receive(ctx.version, text.as_str(), max_len) {
                    Incoming::Call { unique_id, request } => {
                        let action = request.action();
                        let Answered { reply, outcome, rebalance } = csms
                            .answer(&ctx, &unique_id, request, text.as_str(), received_at)
                            .await;
                        metrics.calls.get_or_create(&CallLabel { action, outcome }).inc();
                        if socket.send(Message::Text(reply.into())).await.is_err() {
                            break "write error";
                        }
                        if rebalance {
                            tokio::spawn(Arc::clone(&csms).rebalance(ctx.site.clone()));
                        }
                    }
                    Incoming::Refused { unique_id, action, error, reply } => {
                        let (reply, outcome) = match untyped_answer(&action) {
                            Some(payload) if error.code == proto_ocpp::ErrorCode::NotImplemented => (
                                proto_ocpp::Frame::CallResult(proto_ocpp::CallResult {
                                    unique_id,
                                    payload: match payload {
                                        serde_json::Value::Object(m) => m,
                                        _ => serde_json::Map::new(),
                                    },
                                })
                                .encode(),
                                "acknowledged",
                            ),
                            _ => (reply, "refused"),
                        };
                        metrics
                            .calls
                            .get_or_create(&CallLabel { action: action_label(&action, ctx.version), outcome })
                            .inc();
                        if socket.send(Message::Text(reply.into())).await.is_err() {
                            break "write error";
                        }
                    }
                    Incoming::Result(r) => {
                        deliver(&metrics, &mut pending, correlator.on_result(r));
                    }
                    Incoming::Error(e) => {
                        deliver(&metrics, &mut pending, correlator.on_error(e));
                    }
                    Incoming::Malformed { error, reply } => {
                        tracing::debug!(charge_point = ctx.charge_point, %error, "malformed message");
                        metrics.calls.get_or_create(&CallLabel { action: "other", outcome: "malformed" }).inc();
                        if let Some(reply) = reply
                            && socket.send(Message::Text(reply.into())).await.is_err()
                        {
                            break "write error";
                        }
                    }
                }
            }
        }
    };
    tracing::info!(
        charge_point = ctx.charge_point,
        reason,
        "charger disconnected"
    );
    csms.unregister(&ctx.charge_point, conn_no);
    if reason != "closed by peer" {
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code: if reason == "shutdown" { 1001 } else { 1000 },
                reason: reason.into(),
            })))
            .await;
    }
    if let Some(p) = pending.take() {
        let _ = p.reply.send(Err(CallFailure::Closed));
    }
    metrics.connections_active.get_or_create(&vlabel).dec();
}

fn count_csms(metrics: &super::OcppMetrics, action: &'static str, outcome: &'static str) {
    metrics
        .csms_calls
        .get_or_create(&CallLabel { action, outcome })
        .inc();
}

/// Hands the charger's answer to the waiting [`Csms::call`].
fn deliver(
    metrics: &super::OcppMetrics,
    pending: &mut Option<Pending>,
    answer: Result<Answer, CorrelateError>,
) {
    let result = match answer {
        Err(CorrelateError::Unknown(id)) => {
            tracing::debug!(unique_id = id, "an answer to no outstanding call; dropped");
            return;
        }
        Err(e) => Err(CallFailure::BadAnswer(e.to_string())),
        Ok(Answer::Result(r)) => Ok(r),
        Ok(Answer::Error { frame, .. }) => Err(CallFailure::Error {
            code: frame.error_code,
            description: frame.description,
        }),
    };
    if let Some(p) = pending.take() {
        let outcome = match &result {
            Ok(_) => "answered",
            Err(CallFailure::Error { .. }) => "error",
            Err(_) => "bad_answer",
        };
        count_csms(metrics, p.action, outcome);
        let _ = p.reply.send(result);
    }
}

/// Resolves once `shutdown` turns true (or its sender is gone).
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await.is_ok();
}
