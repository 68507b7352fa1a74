//! The OCPP CSMS over real WebSockets and the real write-ahead log: conformance against an
//! independent implementation (the Python `ocpp` package, 1.6 and 2.0.1), handshake refusals,
//! CALLERRORs, replacement on reconnect, durability before answers, the CSMS's own calls, and
//! orderly charging of a site's sessions under its limit.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gateway::ocpp::{Admission, CallFailure, ChargerDirectory, MemoryCharger, MemoryDirectory};
use gateway::{Csms, CsmsOptions, OcppMetrics};
use model::{ChargingEvent, Timestamp};
use pipeline::{
    Bus, BusError, Committed, OnDurable, Pipeline, PipelineOptions, SourceProtocol, WalBus,
};
use proto_ocpp::{
    CiString, Frame, Request, Response, Version, decode_stored, parse, to_events, v16, v201,
};
use serde_json::{Value, json};
use store::wal::{Wal, WalOptions};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio::sync::{oneshot, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single step may take before the test gives up (a failure, never a pass).
const PATIENCE: Duration = Duration::from_secs(30);

struct Server {
    addr: std::net::SocketAddr,
    csms: Arc<Csms>,
    metrics: OcppMetrics,
    applied: UnboundedReceiver<Committed>,
    _shutdown: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

fn charger(password: &str, site: &str) -> MemoryCharger {
    MemoryCharger {
        password: Some(password.as_bytes().to_vec()),
        site: site.into(),
        priority: 0,
        max_kw: None,
    }
}

async fn start_with(
    directory: Arc<dyn ChargerDirectory>,
    bus: Option<Arc<dyn Bus>>,
    options: CsmsOptions,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let bus = bus.unwrap_or_else(|| {
        let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
        Arc::new(WalBus(Arc::new(wal)))
    });
    let (pipeline, applied) = Pipeline::new(bus, PipelineOptions::default());
    let metrics = options.metrics.clone();
    let csms = Csms::new(directory, pipeline, options);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = watch::channel(false);
    tokio::spawn(gateway::ocpp::serve(Arc::clone(&csms), listener, rx));
    Server {
        addr,
        csms,
        metrics,
        applied,
        _shutdown: tx,
        _dir: dir,
    }
}

async fn start(directory: Arc<MemoryDirectory>) -> Server {
    start_with(directory, None, CsmsOptions::default()).await
}

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(
    server: &Server,
    id: &str,
    password: Option<&str>,
    subprotocol: Option<&str>,
) -> Result<Ws, tungstenite::Error> {
    let url = format!("ws://{}/ocpp/{id}", server.addr);
    let mut req = url.into_client_request().unwrap();
    if let Some(p) = subprotocol {
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", p.parse().unwrap());
    }
    if let Some(pw) = password {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{pw}"));
        req.headers_mut()
            .insert("Authorization", format!("Basic {token}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

fn http_status(r: Result<Ws, tungstenite::Error>) -> u16 {
    match r {
        Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected an HTTP refusal, the handshake succeeded"),
    }
}

/// The next text message, or `None` when the connection closes.
async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next()).await.ok()?? {
            Ok(Message::Text(t)) => return Some(t.to_string()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// Sends a CALL and returns the answer frame as JSON.
async fn call(ws: &mut Ws, id: &str, action: &str, payload: Value) -> Value {
    send(ws, &json!([2, id, action, payload]).to_string()).await;
    let text = next_text(ws).await.expect("an answer");
    serde_json::from_str(&text).unwrap()
}

fn boot16() -> Value {
    json!({"chargePointVendor": "Haihe", "chargePointModel": "AC22"})
}

// ---- conformance with the Python `ocpp` package ----------------------------------------------

fn python() -> String {
    std::env::var("HAIHE_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Fails (never skips) when the independent implementation is not installed.
fn require_python_ocpp() {
    let out = std::process::Command::new(python())
        .args(["-c", "import ocpp, websockets; print(ocpp.__file__)"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python()));
    assert!(
        out.status.success(),
        "the Python `ocpp` and `websockets` packages are required (set HAIHE_PYTHON to a Python \
         that has ocpp==2.1.0 and websockets): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Lines of a running script's standard output, and its exit status at the end.
struct Script {
    lines: mpsc::UnboundedReceiver<String>,
    done: oneshot::Receiver<(std::process::ExitStatus, String)>,
}

fn run_script(name: &str, url: &str, id: &str, password: &str) -> Script {
    let path = format!("{}/tests/ocpp/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut child = std::process::Command::new(python())
        .args([path.as_str(), url, id, password])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::unbounded_channel();
    let (done_tx, done) = oneshot::channel();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
        // What the script explains its failure with: read to the end so it never blocks on a
        // full pipe, keep the first lines.
        let mut err = Vec::new();
        for line in std::io::BufReader::new(&mut stderr)
            .lines()
            .map_while(Result::ok)
        {
            if err.len() < 200 {
                err.push(line);
            }
        }
        let err = err.join("\n");
        let status = child.wait().unwrap();
        let _ = done_tx.send((status, err));
    });
    Script { lines, done }
}

async fn ready(script: &mut Script) -> String {
    loop {
        let line = tokio::time::timeout(PATIENCE, script.lines.recv())
            .await
            .expect("the script said READY in time");
        let Some(line) = line else {
            let (status, err) = (&mut script.done).await.unwrap();
            panic!("the script ended ({status}) before READY: {err}");
        };
        if let Some(tx) = line.strip_prefix("READY ") {
            return tx.to_owned();
        }
    }
}

/// The actions of the next `n` committed OCPP records, checked to be in WAL order.
async fn committed(server: &mut Server, n: usize) -> Vec<proto_ocpp::Stored> {
    let mut out = Vec::new();
    let mut last = None;
    while out.len() < n {
        let c = tokio::time::timeout(PATIENCE, server.applied.recv())
            .await
            .expect("records committed in time")
            .unwrap();
        assert!(last < Some(c.position), "WAL positions increase");
        last = Some(c.position);
        assert_eq!(c.record.protocol, SourceProtocol::Ocpp);
        out.push(decode_stored(&c.record.payload).unwrap());
    }
    assert!(
        server.applied.try_recv().is_err(),
        "no more records than expected"
    );
    out
}

fn action_of(s: &proto_ocpp::Stored) -> String {
    match parse(&s.text, usize::MAX).unwrap() {
        Frame::Call(c) => c.action,
        other => panic!("stored a non-call {other:?}"),
    }
}

fn accepted(r: &Response) -> bool {
    match r {
        Response::V16(v16::Response::SetChargingProfile(r)) => {
            r.status == v16::ChargingProfileStatus::Accepted
        }
        Response::V16(v16::Response::RemoteStopTransaction(r)) => {
            r.status == v16::RemoteStartStopStatus::Accepted
        }
        Response::V201(v201::Response::SetChargingProfile(r)) => {
            r.status == v201::ChargingProfileStatus::Accepted
        }
        Response::V201(v201::Response::RequestStopTransaction(r)) => {
            r.status == v201::RequestStartStopStatus::Accepted
        }
        _ => false,
    }
}

fn profile16(tx: i32, watts: f64) -> Request {
    Request::V16(v16::Request::SetChargingProfile(
        v16::SetChargingProfileRequest {
            connector_id: 1,
            cs_charging_profiles: v16::ChargingProfile::constant_watts(
                100,
                v16::ChargingProfilePurpose::TxProfile,
                Some(tx),
                watts,
            ),
        },
    ))
}

fn profile201(tx: &str, watts: f64) -> Request {
    Request::V201(v201::Request::SetChargingProfile(
        v201::SetChargingProfileRequest {
            evse_id: 1,
            charging_profile: v201::ChargingProfile::constant_watts(
                100,
                v201::ChargingProfilePurpose::TxProfile,
                CiString::new(tx),
                watts,
            ),
        },
    ))
}

async fn conformance(version: Version) {
    require_python_ocpp();
    let (id, password, script) = match version {
        Version::V16 => ("PY-16", "py16-password-0001", "charge_point_16.py"),
        Version::V201 => ("PY-201", "py201-password-0001", "charge_point_201.py"),
    };
    let directory = Arc::new(MemoryDirectory::new(false));
    directory.add_charger(id, charger(password, "yard"));
    let mut server = start(directory).await;
    let url = format!("ws://{}/ocpp/{id}", server.addr);
    let mut script = run_script(script, &url, id, password);

    let tx = ready(&mut script).await;
    let (profile, stop) = match version {
        Version::V16 => {
            let tx: i32 = tx.parse().unwrap();
            (
                profile16(tx, 11000.0),
                Request::V16(v16::Request::RemoteStopTransaction(
                    v16::RemoteStopTransactionRequest { transaction_id: tx },
                )),
            )
        }
        Version::V201 => (
            profile201(&tx, 11000.0),
            Request::V201(v201::Request::RequestStopTransaction(
                v201::RequestStopTransactionRequest {
                    transaction_id: CiString::new(tx.clone()).unwrap(),
                },
            )),
        ),
    };
    let answer = server.csms.call(id, profile).await.unwrap();
    assert!(accepted(&answer), "{answer:?}");
    let answer = server.csms.call(id, stop).await.unwrap();
    assert!(accepted(&answer), "{answer:?}");

    let (status, err) = tokio::time::timeout(Duration::from_secs(90), script.done)
        .await
        .expect("the script ended")
        .unwrap();
    assert!(status.success(), "the charge point saw deviations: {err}");

    // Every data-carrying call is in the WAL, in order; Heartbeat and Authorize are not.
    let want: &[&str] = match version {
        Version::V16 => &[
            "BootNotification",
            "StatusNotification",
            "StatusNotification",
            "StartTransaction",
            "StatusNotification",
            "MeterValues",
            "StopTransaction",
            "StatusNotification",
        ],
        Version::V201 => &[
            "BootNotification",
            "StatusNotification",
            "StatusNotification",
            "TransactionEvent",
            "TransactionEvent",
            "MeterValues",
            "TransactionEvent",
            "StatusNotification",
        ],
    };
    let records = committed(&mut server, want.len()).await;
    let got: Vec<String> = records.iter().map(action_of).collect();
    assert_eq!(got, want);
    for r in &records {
        assert_eq!(
            (r.charge_point.as_str(), r.station_id.as_str()),
            (id, "yard")
        );
        assert_eq!(r.version, version);
    }
    // The records say what the charger did, in the shared model.
    let events: Vec<ChargingEvent> = records
        .iter()
        .flat_map(|r| to_events(r, Timestamp::from_secs(0)))
        .collect();
    let started = events
        .iter()
        .find_map(|e| match e {
            ChargingEvent::SessionStarted {
                session_id,
                connector_id,
                ..
            } => Some((session_id.clone(), connector_id.clone())),
            _ => None,
        })
        .expect("a session start");
    assert_eq!(started, (tx.clone(), format!("{id}-1")));
    assert!(events.iter().any(
        |e| matches!(e, ChargingEvent::SessionEnded { session_id, stop_reason: Some(r), .. } if *session_id == tx && r == "Remote")
    ));
    assert!(events.iter().any(
        |e| matches!(e, ChargingEvent::Meter { session_id: Some(s), energy_wh: Some(_), .. } if *s == tx)
    ));
    if version == Version::V16 {
        assert_eq!(records[3].transaction_id, Some(tx.parse().unwrap()));
        // The stop names no connector; the CSMS stored the one it knew.
        assert_eq!(records[6].connector, Some(1));
    }
    assert_eq!(server.metrics.calls("Heartbeat", "accepted"), 1);
    assert_eq!(server.metrics.calls("Authorize", "accepted"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_ocpp16_with_python_ocpp() {
    conformance(Version::V16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_ocpp201_with_python_ocpp() {
    conformance(Version::V201).await;
}

// ---- handshake ---------------------------------------------------------------------------------

#[tokio::test]
async fn wrong_or_missing_password_is_401() {
    let directory = Arc::new(MemoryDirectory::new(false));
    directory.add_charger("CP-1", charger("right-password-01", "s"));
    let server = start(directory).await;
    let c = |pw| connect(&server, "CP-1", pw, Some("ocpp1.6"));
    assert_eq!(http_status(c(Some("wrong-password-01")).await), 401);
    assert_eq!(http_status(c(None).await), 401);
    // Unknown charger.
    assert_eq!(
        http_status(connect(&server, "CP-X", Some("x"), Some("ocpp1.6")).await),
        401
    );
    assert_eq!(server.metrics.refusals("unauthorized"), 3);
    assert!(c(Some("right-password-01")).await.is_ok());
}

#[tokio::test]
async fn unknown_or_missing_subprotocol_is_400() {
    let directory = Arc::new(MemoryDirectory::new(true));
    let server = start(directory).await;
    assert_eq!(
        http_status(connect(&server, "CP-1", None, Some("ocpp1.5")).await),
        400
    );
    assert_eq!(http_status(connect(&server, "CP-1", None, None).await), 400);
    assert_eq!(server.metrics.refusals("subprotocol"), 2);
    // Both offered: the server's preference (2.0.1) wins; a charger's odd case is echoed.
    let _both = connect(&server, "CP-1", None, Some("ocpp1.6, ocpp2.0.1"))
        .await
        .unwrap();
    let info = server.csms.connected();
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].version, Version::V201);
    assert!(
        connect(&server, "CP-2", None, Some("OCPP1.6"))
            .await
            .is_ok()
    );
}

// ---- errors ---------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_and_unknown_calls_get_the_versions_callerror() {
    let directory = Arc::new(MemoryDirectory::new(true));
    let server = start(directory).await;
    let mut ws = connect(&server, "CP-1", None, Some("ocpp1.6"))
        .await
        .unwrap();
    // Not an object where the payload goes: 1.6 spells it FormationViolation.
    let r = call(&mut ws, "m1", "Heartbeat", json!([])).await;
    assert_eq!(r[0], 4);
    assert_eq!(
        (r[1].as_str(), r[2].as_str()),
        (Some("m1"), Some("FormationViolation"))
    );
    // Not JSON at all: no id to answer, so no answer; the connection carries on.
    send(&mut ws, "[2,\"m2\",\"Heartbeat\",{").await;
    let r = call(&mut ws, "m3", "FooBar", json!({})).await;
    assert_eq!(
        (r[1].as_str(), r[2].as_str()),
        (Some("m3"), Some("NotImplemented"))
    );
    let r = call(&mut ws, "m4", "Authorize", json!({})).await;
    assert_eq!(r[2], "OccurenceConstraintViolation");
    let r = call(&mut ws, "m5", "DataTransfer", json!({"vendorId": "x"})).await;
    assert_eq!(r, json!([3, "m5", {"status": "UnknownVendorId"}]));
    let r = call(&mut ws, "m6", "Heartbeat", json!({})).await;
    assert_eq!((r[0].as_i64(), r[1].as_str()), (Some(3), Some("m6")));
    assert!(r[2]["currentTime"].is_string());
    // Too large.
    let big = "x".repeat(proto_ocpp::DEFAULT_MAX_MESSAGE_LEN);
    send(
        &mut ws,
        &json!([2, "m7", "DataTransfer", {"vendorId": big}]).to_string(),
    )
    .await;
    assert_eq!(
        next_text(&mut ws).await,
        None,
        "an oversized message closes the connection"
    );

    let mut ws = connect(&server, "CP-2", None, Some("ocpp2.0.1"))
        .await
        .unwrap();
    let r = call(&mut ws, "n1", "Heartbeat", json!([])).await;
    assert_eq!(r[2], "FormatViolation");
    let r = call(&mut ws, "n2", "StartTransaction", json!({})).await;
    assert_eq!(r[2], "NotImplemented");
    assert!(server.metrics.calls("other", "refused") >= 2);
    assert_eq!(server.metrics.calls("Authorize", "refused"), 1);
}

/// A bus that loses every record: what a failing disk looks like from the CSMS.
struct FailingBus;

impl Bus for FailingBus {
    fn append(&self, _payload: Vec<u8>, on_durable: OnDurable) -> Result<u64, BusError> {
        on_durable(Err(BusError("disk on fire".into())));
        Ok(0)
    }
    fn truncate_before(&self, _position: u64) -> Result<(), BusError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_bus_failure_is_an_internal_error_never_a_result() {
    let directory = Arc::new(MemoryDirectory::new(true));
    let server = start_with(
        directory,
        Some(Arc::new(FailingBus)),
        CsmsOptions::default(),
    )
    .await;
    let mut ws = connect(&server, "CP-1", None, Some("ocpp1.6"))
        .await
        .unwrap();
    let r = call(&mut ws, "b1", "BootNotification", boot16()).await;
    assert_eq!(
        (r[0].as_i64(), r[2].as_str()),
        (Some(4), Some("InternalError"))
    );
    let r = call(
        &mut ws,
        "b2",
        "StartTransaction",
        json!({"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2026-11-27T08:00:00Z"}),
    )
    .await;
    assert_eq!(r[2], "InternalError");
    // Nothing to store: still answered.
    let r = call(&mut ws, "b3", "Heartbeat", json!({})).await;
    assert_eq!(r[0], 3);
    assert_eq!(
        server.metrics.calls("BootNotification", "internal_error"),
        1
    );
}

// ---- connections and the CSMS's calls ---------------------------------------------------------

#[tokio::test]
async fn a_reconnect_replaces_the_first_connection() {
    let directory = Arc::new(MemoryDirectory::new(false));
    directory.add_charger("CP-1", charger("password-cp-0001", "s"));
    let server = start(directory).await;
    let mut first = connect(&server, "CP-1", Some("password-cp-0001"), Some("ocpp1.6"))
        .await
        .unwrap();
    let r = call(&mut first, "1", "BootNotification", boot16()).await;
    assert_eq!(r[2]["status"], "Accepted");
    let since = server.csms.connected()[0].connected_since;
    let mut second = connect(&server, "CP-1", Some("password-cp-0001"), Some("ocpp1.6"))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut first).await,
        None,
        "the first connection is closed"
    );
    let r = call(&mut second, "2", "Heartbeat", json!({})).await;
    assert_eq!(r[0], 3);
    let info = server.csms.connected();
    assert_eq!(info.len(), 1);
    assert!(info[0].connected_since >= since);
    // The CSMS's calls go to the new connection.
    let csms = Arc::clone(&server.csms);
    let call_task = tokio::spawn(async move {
        csms.call(
            "CP-1",
            Request::V16(v16::Request::ChangeAvailability(
                v16::ChangeAvailabilityRequest {
                    connector_id: 0,
                    kind: v16::AvailabilityType::Inoperative,
                },
            )),
        )
        .await
    });
    let text = next_text(&mut second).await.unwrap();
    let Frame::Call(c) = parse(&text, usize::MAX).unwrap() else {
        panic!("{text}")
    };
    assert_eq!(c.action, "ChangeAvailability");
    assert_eq!(
        Value::Object(c.payload),
        json!({"connectorId": 0, "type": "Inoperative"})
    );
    send(
        &mut second,
        &json!([3, c.unique_id, {"status": "Scheduled"}]).to_string(),
    )
    .await;
    let answer = call_task.await.unwrap().unwrap();
    assert_eq!(
        answer,
        Response::V16(v16::Response::ChangeAvailability(
            v16::ChangeAvailabilityResponse {
                status: v16::AvailabilityStatus::Scheduled
            }
        ))
    );
    drop(second);
    // Calls to a charger that is not connected, or of the other version, fail at once.
    let r = server
        .csms
        .call("CP-9", profile16(1, 1000.0))
        .await
        .unwrap_err();
    assert_eq!(r, CallFailure::NotConnected("CP-9".into()));
}

#[tokio::test]
async fn csms_calls_time_out_and_report_callerrors() {
    let directory = Arc::new(MemoryDirectory::new(true));
    let options = CsmsOptions {
        call_timeout: Duration::from_secs(1),
        ..CsmsOptions::default()
    };
    let server = start_with(directory, None, options).await;
    let mut ws = connect(&server, "CP-1", None, Some("ocpp2.0.1"))
        .await
        .unwrap();
    let stop = || {
        Request::V201(v201::Request::RequestStopTransaction(
            v201::RequestStopTransactionRequest {
                transaction_id: CiString::new("T").unwrap(),
            },
        ))
    };
    assert!(matches!(
        server.csms.call("CP-1", profile16(1, 1.0)).await,
        Err(CallFailure::WrongVersion { .. })
    ));
    // The charger reads the call but never answers.
    let csms = Arc::clone(&server.csms);
    let t = tokio::spawn(async move { csms.call("CP-1", stop()).await });
    let first = next_text(&mut ws).await.unwrap();
    assert_eq!(t.await.unwrap(), Err(CallFailure::Timeout));
    // A late answer is dropped; the next call is answered with a CALLERROR.
    let Frame::Call(c) = parse(&first, usize::MAX).unwrap() else {
        panic!()
    };
    send(
        &mut ws,
        &json!([3, c.unique_id, {"status": "Accepted"}]).to_string(),
    )
    .await;
    let csms = Arc::clone(&server.csms);
    let t = tokio::spawn(async move { csms.call("CP-1", stop()).await });
    let text = next_text(&mut ws).await.unwrap();
    let Frame::Call(c2) = parse(&text, usize::MAX).unwrap() else {
        panic!()
    };
    assert_ne!(c2.unique_id, c.unique_id);
    send(
        &mut ws,
        &json!([4, c2.unique_id, "NotSupported", "no", {}]).to_string(),
    )
    .await;
    let err = t.await.unwrap().unwrap_err();
    assert_eq!(err.error_code(), Some(proto_ocpp::ErrorCode::NotSupported));
}

// ---- orderly charging -------------------------------------------------------------------------

const SITE_LIMIT_W: f64 = 60_000.0;

/// What the simulated chargers hold: the last accepted limit of each running transaction.
#[derive(Default)]
struct Ledger {
    limits: HashMap<String, f64>,
    running: HashMap<String, String>,
    violations: Vec<String>,
    profiles: usize,
}

/// A simulated charger: answers the CSMS's SetChargingProfile for its running transaction
/// (Rejected otherwise, as a real charger does), and makes calls for the test.
struct SimCharger {
    id: String,
    version: Version,
    calls: mpsc::Sender<(Value, oneshot::Sender<Value>)>,
}

impl SimCharger {
    async fn connect(
        server: &Server,
        id: &str,
        version: Version,
        ledger: Arc<Mutex<Ledger>>,
    ) -> Self {
        let mut ws = connect(
            server,
            id,
            Some(&format!("{id}-password")),
            Some(version.subprotocol()),
        )
        .await
        .unwrap();
        let (calls, mut rx) = mpsc::channel::<(Value, oneshot::Sender<Value>)>(4);
        let me = id.to_owned();
        tokio::spawn(async move {
            let mut waiting: HashMap<String, (Value, oneshot::Sender<Value>)> = HashMap::new();
            loop {
                tokio::select! {
                    c = rx.recv() => {
                        let Some((frame, reply)) = c else { break };
                        ws.send(Message::text(frame.to_string())).await.unwrap();
                        waiting.insert(frame[1].as_str().unwrap().to_owned(), (frame, reply));
                    }
                    m = ws.next() => {
                        let Some(Ok(Message::Text(t))) = m else { break };
                        let v: Value = serde_json::from_str(t.as_str()).unwrap();
                        match v[0].as_i64() {
                            Some(2) => {
                                let status = on_profile(&me, &v[2], &v[3], &ledger);
                                let answer = json!([3, v[1], {"status": status}]);
                                ws.send(Message::text(answer.to_string())).await.unwrap();
                            }
                            _ => {
                                let Some((call, w)) = waiting.remove(v[1].as_str().unwrap()) else {
                                    continue;
                                };
                                // The transaction runs from the answer on, before anything the
                                // CSMS sends after it.
                                let tx = match call[2].as_str() {
                                    Some("StartTransaction") => Some(v[2]["transactionId"].to_string()),
                                    Some("TransactionEvent") if call[3]["eventType"] == "Started" => {
                                        call[3]["transactionInfo"]["transactionId"].as_str().map(str::to_owned)
                                    }
                                    _ => None,
                                };
                                if let Some(tx) = tx {
                                    ledger.lock().unwrap().running.insert(me.clone(), tx);
                                }
                                let _ = w.send(v);
                            }
                        }
                    }
                }
            }
        });
        let c = Self {
            id: id.to_owned(),
            version,
            calls,
        };
        let boot = match version {
            Version::V16 => boot16(),
            Version::V201 => {
                json!({"chargingStation": {"model": "DC", "vendorName": "Haihe"}, "reason": "PowerUp"})
            }
        };
        let r = c.call("BootNotification", boot).await;
        assert_eq!(r[2]["status"], "Accepted");
        c
    }

    async fn call(&self, action: &str, payload: Value) -> Value {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_string();
        let (tx, rx) = oneshot::channel();
        self.calls
            .send((json!([2, id, action, payload]), tx))
            .await
            .unwrap();
        let r = tokio::time::timeout(PATIENCE, rx).await.unwrap().unwrap();
        assert_eq!(r[0], 3, "{action} answered {r}");
        r
    }

    /// Starts a transaction and returns its id.
    async fn start(&self, ledger: &Mutex<Ledger>) -> String {
        let tx = match self.version {
            Version::V16 => {
                let r = self
                    .call(
                        "StartTransaction",
                        json!({"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2026-11-27T08:00:00Z"}),
                    )
                    .await;
                r[2]["transactionId"].as_i64().unwrap().to_string()
            }
            Version::V201 => {
                let tx = format!("T-{}", self.id);
                self.call(
                    "TransactionEvent",
                    json!({"eventType": "Started", "timestamp": "2026-11-27T08:00:00Z", "triggerReason": "Authorized",
                           "seqNo": 0, "transactionInfo": {"transactionId": tx, "chargingState": "Charging"},
                           "evse": {"id": 1, "connectorId": 1}}),
                )
                .await;
                tx
            }
        };
        assert_eq!(
            ledger.lock().unwrap().running.get(&self.id),
            Some(&tx),
            "the charger runs the transaction"
        );
        tx
    }

    async fn stop(&self, tx: &str, ledger: &Mutex<Ledger>) {
        {
            // The charger stops drawing power first, then tells the CSMS.
            let mut l = ledger.lock().unwrap();
            l.running.remove(&self.id);
            l.limits.remove(&self.id);
        }
        match self.version {
            Version::V16 => {
                self.call(
                    "StopTransaction",
                    json!({"transactionId": tx.parse::<i32>().unwrap(), "meterStop": 10, "timestamp": "2026-11-27T09:00:00Z"}),
                )
                .await;
            }
            Version::V201 => {
                self.call(
                    "TransactionEvent",
                    json!({"eventType": "Ended", "timestamp": "2026-11-27T09:00:00Z", "triggerReason": "StopAuthorized",
                           "seqNo": 1, "transactionInfo": {"transactionId": tx, "stoppedReason": "Local"}}),
                )
                .await;
            }
        }
    }
}

/// A charger's answer to the CSMS's call, keeping the ledger of limits held.
fn on_profile(cp: &str, action: &Value, payload: &Value, ledger: &Mutex<Ledger>) -> &'static str {
    if action != "SetChargingProfile" {
        return "Rejected";
    }
    let (tx, schedule) = if payload.get("csChargingProfiles").is_some() {
        let p = &payload["csChargingProfiles"];
        (p["transactionId"].to_string(), &p["chargingSchedule"])
    } else {
        let p = &payload["chargingProfile"];
        (
            p["transactionId"].as_str().unwrap_or("").to_owned(),
            &p["chargingSchedule"][0],
        )
    };
    let mut l = ledger.lock().unwrap();
    if l.running.get(cp) != Some(&tx) {
        return "Rejected";
    }
    if schedule["chargingRateUnit"] != "W" || !payload.to_string().contains("\"TxProfile\"") {
        l.violations
            .push(format!("{cp}: not a TxProfile in W: {payload}"));
    }
    let limit = schedule["chargingSchedulePeriod"][0]["limit"]
        .as_f64()
        .unwrap();
    l.limits.insert(cp.to_owned(), limit);
    l.profiles += 1;
    let sum: f64 = l.limits.values().sum();
    if sum > SITE_LIMIT_W + 1e-6 {
        l.violations.push(format!(
            "after {cp} got {limit} W the chargers hold {sum} W"
        ));
    }
    "Accepted"
}

/// Polls the site's schedule until every session holds `kw` (a failure after the deadline).
async fn wait_for_shares(csms: &Csms, sessions: usize, kw: f64) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let s = csms.site_schedule("depot");
        if s.sessions.len() == sessions && s.sessions.iter().all(|x| x.kw == Some(kw)) {
            assert!(s.total_kw <= 60.0 + 1e-9);
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the schedule never reached {sessions} × {kw} kW: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orderly_charging_shares_the_site_limit() {
    let directory = Arc::new(MemoryDirectory::new(false));
    for i in 1..=7 {
        let id = format!("OC-{i}");
        directory.add_charger(&id, charger(&format!("{id}-password"), "depot"));
    }
    directory.set_site_limit("depot", Some(60.0));
    let server = start(Arc::clone(&directory)).await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut chargers = Vec::new();
    let mut txs = Vec::new();
    for i in 1..=6 {
        // Both versions share one site.
        let version = if i % 2 == 0 {
            Version::V201
        } else {
            Version::V16
        };
        let c =
            SimCharger::connect(&server, &format!("OC-{i}"), version, Arc::clone(&ledger)).await;
        txs.push(c.start(&ledger).await);
        chargers.push(c);
    }
    wait_for_shares(&server.csms, 6, 10.0).await;
    let schedule = server.csms.site_schedule("depot");
    assert_eq!(schedule.limit_kw, Some(60.0));
    assert_eq!(
        schedule
            .sessions
            .iter()
            .map(|s| s.charge_point.as_str())
            .collect::<HashSet<_>>()
            .len(),
        6
    );

    for (c, tx) in chargers.iter().zip(&txs).take(3) {
        c.stop(tx, &ledger).await;
    }
    wait_for_shares(&server.csms, 3, 20.0).await;

    let late = SimCharger::connect(&server, "OC-7", Version::V16, Arc::clone(&ledger)).await;
    late.start(&ledger).await;
    wait_for_shares(&server.csms, 4, 15.0).await;

    // A lower limit (a demand-response event) cuts every share.
    directory.set_site_limit("depot", Some(30.0));
    server.csms.rebalance_site("depot").await;
    wait_for_shares(&server.csms, 4, 7.5).await;
    directory.set_site_limit("depot", Some(60.0));
    server.csms.rebalance_site("depot").await;
    wait_for_shares(&server.csms, 4, 15.0).await;

    let l = ledger.lock().unwrap();
    assert!(l.violations.is_empty(), "{:#?}", l.violations);
    let mut held: Vec<(String, f64)> = l.limits.iter().map(|(k, v)| (k.clone(), *v)).collect();
    held.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        held,
        ["OC-4", "OC-5", "OC-6", "OC-7"]
            .map(|c| (c.to_owned(), 15_000.0))
            .to_vec()
    );
    // 6 first shares (some sent twice as sessions joined), 3 raises, 3 cuts and one new, 4
    // cuts and 4 raises.
    assert!(l.profiles >= 21, "{}", l.profiles);
}

#[tokio::test]
async fn admission_is_the_directorys() {
    let directory = MemoryDirectory::new(false);
    directory.add_charger("A", charger("pw", "site-a"));
    assert_eq!(
        directory.admit("A", Some(b"pw")),
        Admission::Admitted {
            site: "site-a".into(),
            priority: 0
        }
    );
    assert_eq!(directory.admit("A", Some(b"no")), Admission::Refused);
    assert_eq!(
        MemoryDirectory::new(true).admit("Z", None),
        Admission::Admitted {
            site: "open".into(),
            priority: 0
        }
    );
}

// ---- security profile 2 ----------------------------------------------------------------------

/// A self-signed P-256 certificate for `localhost` and 127.0.0.1, valid until 2126, made for this
/// test with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days
/// 36500 -subj /CN=haihe-ocpp-test -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -addext
/// basicConstraints=critical,CA:FALSE`.
const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBpDCCAUqgAwIBAgIUNDU6s+blGPUoaX6nfXcd7fol2x0wCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPaGFpaGUtb2NwcC10ZXN0MCAXDTI2MTEyNzE3MDcyMFoYDzIx
MjYxMTAzMTcwNzIwWjAaMRgwFgYDVQQDDA9oYWloZS1vY3BwLXRlc3QwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAARbGFkTgmxO452uytddy4mGKDpR8uRv7ViqOsBU
+CDooAp8JlwZCdUqzjHNZ05hd+BkslIx410G/wVUtu3qxlQ/o2wwajAdBgNVHQ4E
FgQU4TNL9C8rNbNuOaoSpkbMbfx32IowHwYDVR0jBBgwFoAU4TNL9C8rNbNuOaoS
pkbMbfx32IowGgYDVR0RBBMwEYIJbG9jYWxob3N0hwR/AAABMAwGA1UdEwEB/wQC
MAAwCgYIKoZIzj0EAwIDSAAwRQIhAP7V+mZtVcE1G5GSdiRrKzpPPTkwD2KhBv+V
NbN1eZJ+AiBmrtHAuxMixxQYEhzJW+WJICUhexCwc8l2QCw9OZog6w==
-----END CERTIFICATE-----
";
const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQggfzJJOB9lYqJu7DP
9bJavayfWyuYmuZOx3LPh11NOKWhRANCAARbGFkTgmxO452uytddy4mGKDpR8uRv
7ViqOsBU+CDooAp8JlwZCdUqzjHNZ05hd+BkslIx410G/wVUtu3qxlQ/
-----END PRIVATE KEY-----
";

#[tokio::test]
async fn security_profile_2_tls_with_basic_auth() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};

    assert!(matches!(
        gateway::ocpp::tls_acceptor(b"", TEST_KEY.as_bytes()),
        Err(gateway::ocpp::TlsError::NoCertificate)
    ));
    assert!(gateway::ocpp::tls_acceptor(TEST_CERT.as_bytes(), b"junk").is_err());
    let acceptor = gateway::ocpp::tls_acceptor(TEST_CERT.as_bytes(), TEST_KEY.as_bytes()).unwrap();

    let directory = Arc::new(MemoryDirectory::new(false));
    directory.add_charger("CP-TLS", charger("tls-password-0001", "s"));
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let (pipeline, mut applied) =
        Pipeline::new(Arc::new(WalBus(Arc::new(wal))), PipelineOptions::default());
    let csms = Csms::new(directory, pipeline, CsmsOptions::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_stop, rx) = watch::channel(false);
    tokio::spawn(gateway::ocpp::serve_tls(
        Arc::clone(&csms),
        listener,
        acceptor,
        rx,
    ));

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(TEST_CERT.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let open = |password: &'static str| {
        let connector = connector.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let tls = connector
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .unwrap();
            let mut req = format!("wss://localhost:{}/ocpp/CP-TLS", addr.port())
                .into_client_request()
                .unwrap();
            use base64::Engine;
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("CP-TLS:{password}"));
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
            req.headers_mut()
                .insert("Authorization", format!("Basic {token}").parse().unwrap());
            tokio_tungstenite::client_async(req, tls)
                .await
                .map(|(ws, _)| ws)
        }
    };
    match open("wrong-password-01").await {
        Err(tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    let mut ws = open("tls-password-0001").await.unwrap();
    ws.send(Message::text(
        json!([2, "t1", "BootNotification", boot16()]).to_string(),
    ))
    .await
    .unwrap();
    let answer = loop {
        match tokio::time::timeout(PATIENCE, ws.next()).await.unwrap() {
            Some(Ok(Message::Text(t))) => break serde_json::from_str::<Value>(t.as_str()).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(answer[2]["status"], "Accepted");
    let c = applied.recv().await.unwrap();
    assert_eq!(
        action_of(&decode_stored(&c.record.payload).unwrap()),
        "BootNotification"
    );
    assert_eq!(csms.connected().len(), 1);
}

// ---- operator commands ------------------------------------------------------------------------

/// Runs `command` against a raw client, checks the CALL it became, answers `status`.
async fn command_round(
    server: &Server,
    ws: &mut Ws,
    cp: &str,
    command: gateway::ocpp::ChargerCommand,
    want_action: &str,
    want_payload: Value,
    status: &str,
) -> Result<gateway::ocpp::CommandOutcome, CallFailure> {
    let csms = Arc::clone(&server.csms);
    let cp = cp.to_owned();
    let t = tokio::spawn(async move { csms.command(&cp, command).await });
    let text = next_text(ws).await.unwrap();
    let Frame::Call(c) = parse(&text, usize::MAX).unwrap() else {
        panic!("{text}")
    };
    assert_eq!(c.action, want_action);
    let mut payload = Value::Object(c.payload);
    // Ids the CSMS chooses are checked for presence only.
    if let Some(id) = payload.get_mut("remoteStartId") {
        assert!(id.as_i64().unwrap() > 0);
        *id = json!(0);
    }
    assert_eq!(payload, want_payload);
    send(ws, &json!([3, c.unique_id, {"status": status}]).to_string()).await;
    t.await.unwrap()
}

#[tokio::test]
async fn operator_commands_in_each_version() {
    use gateway::ocpp::ChargerCommand as C;
    let directory = Arc::new(MemoryDirectory::new(true));
    let server = start(directory).await;
    let mut a = connect(&server, "A16", None, Some("ocpp1.6"))
        .await
        .unwrap();
    let mut b = connect(&server, "B201", None, Some("ocpp2.0.1"))
        .await
        .unwrap();
    assert_eq!(server.csms.version_of("A16"), Some(Version::V16));

    let start = C::RemoteStart {
        connector: Some(1),
        id_tag: "OP".into(),
    };
    let r = command_round(
        &server,
        &mut a,
        "A16",
        start.clone(),
        "RemoteStartTransaction",
        json!({"connectorId": 1, "idTag": "OP"}),
        "Accepted",
    )
    .await
    .unwrap();
    assert!(r.accepted);
    let r = command_round(
        &server,
        &mut b,
        "B201",
        start,
        "RequestStartTransaction",
        json!({"evseId": 1, "remoteStartId": 0, "idToken": {"idToken": "OP", "type": "Central"}}),
        "Rejected",
    )
    .await
    .unwrap();
    assert_eq!((r.accepted, r.status.as_str()), (false, "Rejected"));

    let stop = |tx: &str| C::RemoteStop {
        transaction_id: tx.into(),
    };
    let r = command_round(
        &server,
        &mut a,
        "A16",
        stop("7"),
        "RemoteStopTransaction",
        json!({"transactionId": 7}),
        "Accepted",
    )
    .await
    .unwrap();
    assert!(r.accepted);
    assert!(matches!(
        server.csms.command("A16", stop("T-1")).await,
        Err(CallFailure::Invalid(_))
    ));
    command_round(
        &server,
        &mut b,
        "B201",
        stop("T-1"),
        "RequestStopTransaction",
        json!({"transactionId": "T-1"}),
        "Accepted",
    )
    .await
    .unwrap();

    let off = C::ChangeAvailability {
        connector: None,
        operative: false,
    };
    let r = command_round(
        &server,
        &mut a,
        "A16",
        off.clone(),
        "ChangeAvailability",
        json!({"connectorId": 0, "type": "Inoperative"}),
        "Scheduled",
    )
    .await
    .unwrap();
    assert!(r.accepted);
    command_round(
        &server,
        &mut b,
        "B201",
        off,
        "ChangeAvailability",
        json!({"operationalStatus": "Inoperative"}),
        "Accepted",
    )
    .await
    .unwrap();

    let cap = C::LimitCharger { kw: 7.4 };
    command_round(&server, &mut a, "A16", cap.clone(), "SetChargingProfile",
        json!({"connectorId": 0, "csChargingProfiles": {"chargingProfileId": 900000001, "stackLevel": 0,
            "chargingProfilePurpose": "ChargePointMaxProfile", "chargingProfileKind": "Relative",
            "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}]}}}),
        "Accepted").await.unwrap();
    command_round(&server, &mut b, "B201", cap, "SetChargingProfile",
        json!({"evseId": 0, "chargingProfile": {"id": 900000001, "stackLevel": 0,
            "chargingProfilePurpose": "ChargingStationMaxProfile", "chargingProfileKind": "Relative",
            "chargingSchedule": [{"id": 1, "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}]}]}}),
        "Accepted").await.unwrap();
    assert!(matches!(
        server
            .csms
            .command("A16", C::LimitCharger { kw: f64::NAN })
            .await,
        Err(CallFailure::Invalid(_))
    ));
    assert!(matches!(
        server
            .csms
            .command("nobody", C::LimitCharger { kw: 1.0 })
            .await,
        Err(CallFailure::NotConnected(_))
    ));
}

#[tokio::test]
async fn shutdown_closes_connections_and_stops_serving() {
    let directory = Arc::new(MemoryDirectory::new(true));
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let (pipeline, _applied) =
        Pipeline::new(Arc::new(WalBus(Arc::new(wal))), PipelineOptions::default());
    let csms = Csms::new(directory, pipeline, CsmsOptions::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = watch::channel(false);
    let served = tokio::spawn(gateway::ocpp::serve(Arc::clone(&csms), listener, rx));
    let mut req = format!("ws://{addr}/ocpp/CP-1")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(csms.connected().len(), 1);
    stop.send_replace(true);
    assert_eq!(next_text(&mut ws).await, None);
    tokio::time::timeout(PATIENCE, served)
        .await
        .expect("serve returns after shutdown")
        .unwrap();
    assert!(csms.connected().is_empty());
}
