//! The OCPP charger simulator against a small CSMS served here over real WebSockets
//! (tokio-tungstenite), which reads and answers every message with `proto_ocpp`: boot, status,
//! a transaction with meter values, a charging profile that caps the power, a remote stop, a
//! dropped connection whose unanswered call is sent again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use proto_ocpp::{
    CallResult, DateTime, Frame, Request, Response, Version, decode_call, encode_call,
    encode_result, parse, v16, v201,
};
use serde_json::{Value, json};
use sim::ocpp::{Config, Summary, Versions, run};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::Response as HsResponse;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request as HsRequest};

const PASSWORD: &str = "cp-password-0001";

/// What a test CSMS does with a message: frames to send back, or drop the connection.
enum Act {
    Send(Vec<String>),
    Close,
}

trait Script: Send + std::fmt::Debug + 'static {
    fn on_call(&mut self, conn: u32, id: &str, request: Request) -> Act;
    fn on_result(&mut self, conn: u32, id: &str, result: &CallResult) -> Act;
    fn on_error(&mut self, id: &str, code: &str);
    fn done(&self) -> bool;
}

fn now() -> DateTime {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    DateTime::from_timestamp(model::Timestamp::from_micros(micros))
}

/// Serves `/ocpp/{id}` for one charger, checking the subprotocol and the basic auth header.
#[allow(clippy::result_large_err, reason = "tungstenite's callback signature")]
async fn serve<S: Script>(version: Version, script: Arc<Mutex<S>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut conn = 0;
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            conn += 1;
            let script = script.clone();
            tokio::spawn(async move {
                let check =
                    |req: &HsRequest, mut resp: HsResponse| -> Result<HsResponse, ErrorResponse> {
                        assert_eq!(req.uri().path(), "/ocpp/CP-0001");
                        let proto = req.headers()["Sec-WebSocket-Protocol"].to_str().unwrap();
                        assert_eq!(proto, version.subprotocol());
                        let auth = req.headers()["Authorization"].to_str().unwrap();
                        let expected = base64::engine::general_purpose::STANDARD
                            .encode(format!("CP-0001:{PASSWORD}"));
                        assert_eq!(auth, format!("Basic {expected}"));
                        resp.headers_mut().insert(
                            "Sec-WebSocket-Protocol",
                            version.subprotocol().parse().unwrap(),
                        );
                        Ok(resp)
                    };
                let mut ws = tokio_tungstenite::accept_hdr_async(stream, check)
                    .await
                    .unwrap();
                while let Some(Ok(msg)) = ws.next().await {
                    let Message::Text(text) = msg else { continue };
                    let frame = parse(text.as_str(), 65536).unwrap();
                    let act = {
                        let mut s = script.lock().unwrap();
                        match frame {
                            Frame::Call(c) => {
                                let req = decode_call(version, &c.action, Value::Object(c.payload))
                                    .unwrap();
                                s.on_call(conn, &c.unique_id, req)
                            }
                            Frame::CallResult(r) => s.on_result(conn, &r.unique_id.clone(), &r),
                            Frame::CallError(e) => {
                                s.on_error(&e.unique_id, &e.error_code);
                                Act::Send(vec![])
                            }
                        }
                    };
                    match act {
                        Act::Send(frames) => {
                            for f in frames {
                                ws.send(Message::text(f)).await.unwrap();
                            }
                        }
                        Act::Close => {
                            let _ = ws.close(None).await;
                            break;
                        }
                    }
                }
            });
        }
    });
    format!("ws://{addr}")
}

async fn run_until<S: Script>(config: Config, script: Arc<Mutex<S>>) -> Summary {
    let watch = script.clone();
    let done = async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !watch.lock().unwrap().done() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the script did not finish: {:?}",
                watch.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    run(config, done, |_| {}).await.unwrap()
}

fn result16(id: &str, r: impl Into<v16::Response>) -> String {
    encode_result(id, &Response::V16(r.into()))
}

fn result201(id: &str, r: impl Into<v201::Response>) -> String {
    encode_result(id, &Response::V201(r.into()))
}

// ---- OCPP 1.6 -----------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Csms16 {
    statuses: Vec<(u32, u32, v16::ChargePointStatus)>,
    statuses_answered: u64,
    heartbeats: u64,
    dropped_once: bool,
    authorized: u32,
    /// (transaction id, power W, energy Wh) of each MeterValues.
    meters: Vec<(i32, f64, i64)>,
    starts: Vec<v16::StartTransactionRequest>,
    stops: Vec<v16::StopTransactionRequest>,
    profile_id: Option<String>,
    profile_accepted: bool,
    meters_after_profile: u32,
    stop_sent: bool,
    reset_error: Option<String>,
}

impl Script for Csms16 {
    fn on_call(&mut self, conn: u32, id: &str, request: Request) -> Act {
        let Request::V16(request) = request else {
            panic!("a 2.0.1 call on a 1.6 connection")
        };
        let mut out = Vec::new();
        match request {
            v16::Request::BootNotification(b) => {
                assert_eq!(b.charge_point_vendor.as_str(), "TJ-EVSE");
                out.push(result16(
                    id,
                    v16::BootNotificationResponse {
                        status: v16::RegistrationStatus::Accepted,
                        current_time: now(),
                        interval: 1,
                    },
                ));
            }
            v16::Request::StatusNotification(s) => {
                self.statuses.push((conn, s.connector_id, s.status));
                if !self.dropped_once {
                    // Lose the connection before answering: the charger must send it again.
                    self.dropped_once = true;
                    return Act::Close;
                }
                self.statuses_answered += 1;
                out.push(result16(id, v16::StatusNotificationResponse {}));
                if self.statuses_answered == 1 {
                    // An action the charger does not know.
                    out.push(r#"[2,"reset-1","Reset",{"type":"Soft"}]"#.to_owned());
                }
            }
            v16::Request::Heartbeat(_) => {
                self.heartbeats += 1;
                out.push(result16(
                    id,
                    v16::HeartbeatResponse {
                        current_time: now(),
                    },
                ));
            }
            v16::Request::Authorize(_) => {
                self.authorized += 1;
                out.push(result16(
                    id,
                    v16::AuthorizeResponse {
                        id_tag_info: v16::IdTagInfo {
                            expiry_date: None,
                            parent_id_tag: None,
                            status: v16::AuthorizationStatus::Accepted,
                        },
                    },
                ));
            }
            v16::Request::StartTransaction(s) => {
                let tx = 100 + self.starts.len() as i32;
                self.starts.push(s);
                out.push(result16(
                    id,
                    v16::StartTransactionResponse {
                        id_tag_info: v16::IdTagInfo {
                            expiry_date: None,
                            parent_id_tag: None,
                            status: v16::AuthorizationStatus::Accepted,
                        },
                        transaction_id: tx,
                    },
                ));
            }
            v16::Request::MeterValues(m) => {
                let tx = m.transaction_id.unwrap();
                let value = |want: proto_ocpp::Measurand| {
                    m.meter_value[0]
                        .sampled_value
                        .iter()
                        .find(|v| v.measurand == Some(want))
                        .and_then(|v| v.number())
                        .unwrap()
                };
                let power = value(proto_ocpp::Measurand::PowerActiveImport);
                let wh = value(proto_ocpp::Measurand::EnergyActiveImportRegister) as i64;
                self.meters.push((tx, power, wh));
                out.push(result16(id, v16::MeterValuesResponse {}));
                if tx == 100 {
                    if self.profile_accepted {
                        self.meters_after_profile += 1;
                    }
                    let seen = self.meters.iter().filter(|m| m.0 == 100).count();
                    if seen == 2 && self.profile_id.is_none() {
                        // Cap the transaction at 2 kW.
                        let req = Request::V16(v16::Request::SetChargingProfile(
                            serde_json::from_value(json!({
                                "connectorId": 1,
                                "csChargingProfiles": {
                                    "chargingProfileId": 1, "transactionId": 100,
                                    "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
                                    "chargingProfileKind": "Relative",
                                    "chargingSchedule": {"chargingRateUnit": "W",
                                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 2000.0}]}
                                }
                            }))
                            .unwrap(),
                        ));
                        self.profile_id = Some("p-1".into());
                        out.push(encode_call("p-1", &req));
                    }
                    if self.meters_after_profile >= 3 && !self.stop_sent {
                        self.stop_sent = true;
                        let req = Request::V16(v16::Request::RemoteStopTransaction(
                            v16::RemoteStopTransactionRequest {
                                transaction_id: 100,
                            },
                        ));
                        out.push(encode_call("stop-1", &req));
                    }
                }
            }
            v16::Request::StopTransaction(s) => {
                self.stops.push(s);
                out.push(result16(
                    id,
                    v16::StopTransactionResponse { id_tag_info: None },
                ));
            }
            other => panic!("unexpected call {}", other.action()),
        }
        Act::Send(out)
    }

    fn on_result(&mut self, _conn: u32, id: &str, result: &CallResult) -> Act {
        if id == "p-1" {
            assert_eq!(result.payload["status"], "Accepted");
            self.profile_accepted = true;
        }
        if id == "stop-1" {
            assert_eq!(result.payload["status"], "Accepted");
        }
        Act::Send(vec![])
    }

    fn on_error(&mut self, id: &str, code: &str) {
        assert_eq!(id, "reset-1");
        self.reset_error = Some(code.to_owned());
    }

    fn done(&self) -> bool {
        self.stops.iter().any(|s| s.transaction_id == 100) && self.reset_error.is_some()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocpp16_boot_status_transaction_profile_remote_stop() {
    let script = Arc::new(Mutex::new(Csms16::default()));
    let url = serve(Version::V16, script.clone()).await;
    let mut config = Config::new(url, 1);
    config.versions = Versions::Only(Version::V16);
    config.password = Some(PASSWORD.into());
    config.connectors = 1;
    config.meter_interval = Duration::from_millis(100);
    config.arrival_mean = Some(Duration::from_millis(100));
    // Sessions that only the CSMS ends.
    config.session_intervals = (100_000.0, 100_000.0);
    let summary = run_until(config, script.clone()).await;
    let s = script.lock().unwrap();

    // The status lost with the first connection came again on the second.
    assert_eq!(s.statuses[0], (1, 1, v16::ChargePointStatus::Available));
    assert!(
        s.statuses
            .iter()
            .any(|x| x.0 == 2 && x.2 == v16::ChargePointStatus::Available)
    );
    assert_eq!(s.reset_error.as_deref(), Some("NotImplemented"));
    let c = &summary.per_charger[0];
    assert_eq!(c.boots_accepted, 1);
    assert!(c.connections >= 2);
    // Delivered means answered: the charger's counts are the CSMS's.
    assert_eq!(c.status_delivered, s.statuses_answered);
    assert_eq!(c.heartbeats_delivered, s.heartbeats);

    // Authorize, StartTransaction, meter values, a cap, a remote stop.
    assert!(s.authorized >= 1);
    let start = &s.starts[0];
    let stop = s.stops.iter().find(|x| x.transaction_id == 100).unwrap();
    assert_eq!(stop.reason, Some(v16::Reason::Remote));
    let meters: Vec<_> = s.meters.iter().filter(|m| m.0 == 100).collect();
    assert!(meters[0].1 > 2000.0, "before the profile: {:?}", meters[0]);
    let last = meters.last().unwrap();
    assert!(last.1 <= 2000.0, "after the profile: {last:?}");
    assert!(
        meters.windows(2).all(|w| w[0].2 <= w[1].2),
        "the register only grows"
    );
    assert!(i64::from(stop.meter_stop) >= last.2 && last.2 >= i64::from(start.meter_start));

    let tx = c
        .transactions
        .iter()
        .find(|t| t.transaction_id.as_deref() == Some("100"))
        .unwrap();
    assert_eq!(tx.meter_start, i64::from(start.meter_start));
    assert_eq!(tx.meter_stop, Some(i64::from(stop.meter_stop)));
    assert_eq!(tx.stop_reason.as_deref(), Some("Remote"));
    assert!(tx.started_delivered && tx.stopped_delivered);
    assert_eq!(tx.limits_w, vec![2000.0]);
    assert_eq!(c.profiles.len(), 1);
    assert_eq!(c.profiles[0].transaction_id.as_deref(), Some("100"));
    assert_eq!(c.calls_received["Reset"], 1);
}

// ---- OCPP 2.0.1 ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Csms201 {
    booted: bool,
    start_sent: bool,
    /// (event type, seqNo, power W) of each TransactionEvent.
    events: Vec<(v201::TransactionEventType, i32, Option<f64>)>,
    started: Option<v201::TransactionEventRequest>,
    ended: Option<v201::TransactionEventRequest>,
    profile_accepted: bool,
    updates_after_profile: u32,
    profile_sent: bool,
    stop_sent: bool,
    availability: Option<String>,
    unavailable_seen: bool,
}

impl Script for Csms201 {
    fn on_call(&mut self, _conn: u32, id: &str, request: Request) -> Act {
        let Request::V201(request) = request else {
            panic!("a 1.6 call on a 2.0.1 connection")
        };
        let mut out = Vec::new();
        match request {
            v201::Request::BootNotification(_) => {
                self.booted = true;
                out.push(result201(
                    id,
                    v201::BootNotificationResponse {
                        current_time: now(),
                        interval: 5,
                        status: v201::RegistrationStatus::Accepted,
                        status_info: None,
                    },
                ));
            }
            v201::Request::Heartbeat(_) => out.push(result201(
                id,
                v201::HeartbeatResponse {
                    current_time: now(),
                },
            )),
            v201::Request::StatusNotification(s) => {
                if s.connector_status == v201::ConnectorStatus::Unavailable {
                    self.unavailable_seen = true;
                }
                out.push(result201(id, v201::StatusNotificationResponse {}));
                if !self.start_sent && s.connector_status == v201::ConnectorStatus::Available {
                    self.start_sent = true;
                    let req = serde_json::from_value::<v201::RequestStartTransactionRequest>(
                        json!({"evseId": 1, "remoteStartId": 7,
                               "idToken": {"idToken": "REMOTE0001", "type": "Central"}}),
                    )
                    .unwrap();
                    out.push(encode_call(
                        "start-1",
                        &Request::V201(v201::Request::RequestStartTransaction(req)),
                    ));
                }
            }
            v201::Request::TransactionEvent(t) => {
                let power = t.meter_value.as_ref().and_then(|mv| {
                    mv[0]
                        .sampled_value
                        .iter()
                        .find(|v| v.measurand == Some(proto_ocpp::Measurand::PowerActiveImport))
                        .map(|v| v.scaled())
                });
                self.events.push((t.event_type, t.seq_no, power));
                let tx_id = t.transaction_info.transaction_id.as_str().to_owned();
                out.push(result201(id, v201::TransactionEventResponse::default()));
                match t.event_type {
                    v201::TransactionEventType::Started => self.started = Some(t),
                    v201::TransactionEventType::Updated => {
                        if self.profile_accepted {
                            self.updates_after_profile += 1;
                        }
                        if !self.profile_sent {
                            self.profile_sent = true;
                            // 6 A on one phase: 1380 W.
                            let req = serde_json::from_value::<v201::SetChargingProfileRequest>(
                                json!({"evseId": 1, "chargingProfile": {
                                    "id": 3, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
                                    "chargingProfileKind": "Relative", "transactionId": tx_id,
                                    "chargingSchedule": [{"id": 1, "chargingRateUnit": "A",
                                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0, "numberPhases": 1}]}]}}),
                            )
                            .unwrap();
                            out.push(encode_call(
                                "p-1",
                                &Request::V201(v201::Request::SetChargingProfile(req)),
                            ));
                        }
                        if self.updates_after_profile >= 3 && !self.stop_sent {
                            self.stop_sent = true;
                            let req = v201::RequestStopTransactionRequest {
                                transaction_id: proto_ocpp::CiString::new(tx_id).unwrap(),
                            };
                            out.push(encode_call(
                                "stop-1",
                                &Request::V201(v201::Request::RequestStopTransaction(req)),
                            ));
                        }
                    }
                    v201::TransactionEventType::Ended => {
                        self.ended = Some(t);
                        let req = serde_json::from_value::<v201::ChangeAvailabilityRequest>(
                            json!({"evse": {"id": 1}, "operationalStatus": "Inoperative"}),
                        )
                        .unwrap();
                        out.push(encode_call(
                            "avail-1",
                            &Request::V201(v201::Request::ChangeAvailability(req)),
                        ));
                    }
                }
            }
            other => panic!("unexpected call {}", other.action()),
        }
        Act::Send(out)
    }

    fn on_result(&mut self, _conn: u32, id: &str, result: &CallResult) -> Act {
        match id {
            "p-1" => {
                assert_eq!(result.payload["status"], "Accepted");
                self.profile_accepted = true;
            }
            "start-1" | "stop-1" => assert_eq!(result.payload["status"], "Accepted"),
            "avail-1" => {
                self.availability = result.payload["status"].as_str().map(str::to_owned);
            }
            _ => {}
        }
        Act::Send(vec![])
    }

    fn on_error(&mut self, id: &str, code: &str) {
        panic!("CALLERROR {code} for {id}");
    }

    fn done(&self) -> bool {
        self.ended.is_some() && self.unavailable_seen
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocpp201_remote_start_profile_stop_availability() {
    let script = Arc::new(Mutex::new(Csms201::default()));
    let url = serve(Version::V201, script.clone()).await;
    let mut config = Config::new(url, 1);
    config.versions = Versions::Only(Version::V201);
    config.password = Some(PASSWORD.into());
    config.meter_interval = Duration::from_millis(100);
    config.arrival_mean = None;
    config.session_intervals = (100_000.0, 100_000.0);
    let summary = run_until(config, script.clone()).await;
    let s = script.lock().unwrap();

    let started = s.started.as_ref().unwrap();
    assert_eq!(started.transaction_info.remote_start_id, Some(7));
    assert_eq!(started.trigger_reason, v201::TriggerReason::RemoteStart);
    assert_eq!(started.evse.as_ref().unwrap().id, 1);
    let ended = s.ended.as_ref().unwrap();
    assert_eq!(
        ended.transaction_info.stopped_reason,
        Some(v201::StoppedReason::Remote)
    );
    assert_eq!(
        ended.transaction_info.transaction_id,
        started.transaction_info.transaction_id
    );
    // seqNo counts the transaction's events from 0 without gaps.
    let seqs: Vec<i32> = s.events.iter().map(|e| e.1).collect();
    assert_eq!(seqs, (0..seqs.len() as i32).collect::<Vec<_>>());
    let powers: Vec<f64> = s.events.iter().filter_map(|e| e.2).collect();
    assert!(powers[0] > 1380.0, "{powers:?}");
    assert!(*powers.last().unwrap() <= 1380.0, "{powers:?}");
    // Inoperative while the vehicle is still there: scheduled, then Unavailable.
    assert_eq!(s.availability.as_deref(), Some("Scheduled"));

    let c = &summary.per_charger[0];
    assert_eq!(c.version, "ocpp2.0.1");
    let tx = &c.transactions[0];
    assert_eq!(
        tx.transaction_id.as_deref(),
        Some(started.transaction_info.transaction_id.as_str())
    );
    assert!(tx.remote_start && tx.stopped_delivered);
    assert_eq!(tx.limits_w, vec![1380.0]);
    assert_eq!(c.statuses[1], "Available");
}
