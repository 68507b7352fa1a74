//! The T/CEC 102 server over a real socket and the real write-ahead log: tokens, pushes answered
//! `Ret=0` only once durable, and every refusal (signature, replay, token, the OCR-corrupted
//! vector, unknown interface, bus failure, oversized body) storing nothing.

use std::sync::Arc;

use gateway::tcec::{MemoryTokenStore, Peer, TcecOptions, TcecServer, TokenStore, router};
use model::Timestamp;
use pipeline::{
    Bus, BusError, Committed, IngestRecord, OnDurable, Pipeline, PipelineOptions, SourceProtocol,
    WalBus,
};
use proto_tcec::model::QueryTokenResponse;
use proto_tcec::{Origin, PeerSecrets, Request, Response, Ret, decode_json, decode_stored};
use serde_json::{Value, json};
use store::wal::{Wal, WalOptions, read_records};
use tokio::sync::mpsc::UnboundedReceiver;

const OP: &str = "MA01H3BQ2";
const SAMPLE_OP: &str = "123456789";
const VECTOR_4: &str = r#"{"ConnectorStatusInfo":{"ConnectorID":"MA01H3BQ2000101","Status":3,"ParkStatus":50,"LockStatus":10}}"#;

/// The synthetic keys of vectors 4–8 (shared/vectors/tcec102.md).
fn operator() -> PeerSecrets {
    PeerSecrets::new(
        OP,
        "OperatorSecret16",
        "AbCdEfGh12345678",
        "8765432112345678",
        "SigSecretKey0001",
    )
    .unwrap()
}

/// The standard's sample keys (vector 1).
fn sample() -> PeerSecrets {
    let k = "1234567890abcdef";
    PeerSecrets::new(SAMPLE_OP, k, k, k, k).unwrap()
}

fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Timestamp::from_micros(d.as_micros() as i64)
}

struct Harness {
    base: String,
    dir: tempfile::TempDir,
    tokens: Arc<MemoryTokenStore>,
    server: Arc<TcecServer>,
    _applied: UnboundedReceiver<Committed>,
    seq: std::sync::atomic::AtomicU16,
}

async fn start_with(bus: Option<Arc<dyn Bus>>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let bus = match bus {
        Some(b) => b,
        None => {
            let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
            Arc::new(WalBus(Arc::new(wal)))
        }
    };
    let (pipeline, applied) = Pipeline::new(bus, PipelineOptions::default());
    let tokens = Arc::new(MemoryTokenStore::default());
    let peers = vec![
        Peer {
            secrets: operator(),
            org: Some("org-a".into()),
            base_url: None,
            outbound: None,
        },
        Peer {
            secrets: sample(),
            org: None,
            base_url: None,
            outbound: None,
        },
    ];
    let server = Arc::new(TcecServer::new(
        peers,
        tokens.clone(),
        pipeline,
        TcecOptions::default(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(server.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Harness {
        base: format!("http://{addr}/evcs/v1"),
        dir,
        tokens,
        server,
        _applied: applied,
        seq: std::sync::atomic::AtomicU16::new(0),
    }
}

async fn start() -> Harness {
    start_with(None).await
}

/// POSTs `body` to `url`; the HTTP status and the body.
async fn post_raw(url: String, bearer: Option<String>, body: Vec<u8>) -> (u16, Vec<u8>) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut req = agent
            .post(&url)
            .header("Content-Type", "application/json;charset=utf-8");
        if let Some(t) = bearer {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let mut r = req.send(&body[..]).unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_vec().unwrap())
    })
    .await
    .unwrap()
}

impl Harness {
    fn next_seq(&self) -> u16 {
        self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }

    fn seal(&self, secrets: &PeerSecrets, plaintext: &str) -> Request {
        Request::seal(secrets, plaintext.as_bytes(), now(), self.next_seq()).unwrap()
    }

    async fn send(&self, interface: &str, bearer: Option<&str>, request: &Request) -> Response {
        let (status, body) = post_raw(
            format!("{}/{interface}", self.base),
            bearer.map(str::to_owned),
            request.to_json().into_bytes(),
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        Response::parse(&body).unwrap()
    }

    async fn token_for(&self, secrets: &PeerSecrets) -> String {
        let ask = json!({"OperatorID": secrets.operator_id(), "OperatorSecret": secrets.operator_secret()});
        let r = self
            .send("query_token", None, &self.seal(secrets, &ask.to_string()))
            .await;
        assert_eq!(r.ret, Ret::Ok, "{r:?}");
        let t: QueryTokenResponse = decode_json(&r.open(secrets).unwrap()).unwrap();
        assert_eq!(t.succ_stat.code(), 0);
        assert_eq!(t.operator_id, secrets.operator_id());
        assert_eq!(t.token_available_time, Some(7200));
        assert_eq!(t.access_token.len(), 64);
        t.access_token
    }

    fn stored(&self) -> Vec<(IngestRecord, proto_tcec::Stored)> {
        read_records(self.dir.path())
            .unwrap()
            .into_iter()
            .map(|r| {
                let rec = IngestRecord::decode(&r.payload).unwrap();
                assert_eq!(rec.protocol, SourceProtocol::Tcec);
                let s = decode_stored(&rec.payload).unwrap();
                (rec, s)
            })
            .collect()
    }
}

fn opened(r: &Response, secrets: &PeerSecrets) -> Value {
    serde_json::from_slice(&r.open(secrets).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_then_status_push_is_stored_before_ret_0() {
    let h = start().await;
    let op = operator();
    let token = h.token_for(&op).await;
    let before = now();
    let r = h
        .send(
            "notification_stationStatus",
            Some(&token),
            &h.seal(&op, VECTOR_4),
        )
        .await;
    assert_eq!(r.ret, Ret::Ok, "{r:?}");
    assert_eq!(opened(&r, &op), json!({"Status": 0}));
    // Ret=0 came after durability: the record is in the log now.
    let stored = h.stored();
    assert_eq!(stored.len(), 1);
    let (rec, s) = &stored[0];
    assert_eq!(rec.org.as_deref(), Some("org-a"));
    assert!(rec.received_at >= Timestamp::from_secs(before.as_secs() - 1));
    assert_eq!(s.operator_id, OP);
    assert_eq!(s.interface, "notification_stationStatus");
    assert_eq!(s.origin, Origin::Push);
    assert_eq!(s.data, VECTOR_4.as_bytes());
    assert_eq!(h.server.metrics().accepted("notification_stationStatus"), 1);
    assert_eq!(h.server.metrics().accepted("query_token"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_push_gets_the_answer_data_the_standard_owes() {
    let h = start().await;
    let op = operator();
    let token = h.token_for(&op).await;
    let order = json!({
        "StartChargeSeq": "MA01H3BQ2123456789012345678", "ConnectorID": "EQ01-1",
        "StartTime": "2024-03-01 10:00:00", "EndTime": "2024-03-01 11:00:00",
        "TotalPower": 20.5, "TotalMoney": 24.6, "StopReason": 2
    });
    let status = json!({"StartChargeSeq": "MA01H3BQ2123456789012345678", "ConnectorID": "EQ01-1",
        "ConnectorStatus": 3, "TotalPower": 3.5});
    let station = json!({"StationInfo": {"StationID": "ST1", "StationName": "n",
        "EquipmentInfos": [{"EquipmentID": "E1", "ConnectorInfos": [{"ConnectorID": "E1-1"}]}]}});
    for (interface, data, want) in [
        (
            "notification_charge_order_info",
            order,
            json!({"StartChargeSeq": "MA01H3BQ2123456789012345678", "ConnectorID": "EQ01-1", "ConfirmResult": 0}),
        ),
        (
            "notification_equip_charge_status",
            status.clone(),
            json!({"StartChargeSeq": "MA01H3BQ2123456789012345678", "SuccStat": 0}),
        ),
        (
            "notification_connector_charge_status",
            status,
            json!({"StartChargeSeq": "MA01H3BQ2123456789012345678", "SuccStat": 0}),
        ),
        // The case variant some operators use.
        ("notification_stationinfo", station, json!({"Status": 0})),
        (
            "notification_alarmInfo",
            json!({"AlarmInfos": []}),
            json!({"Status": 0}),
        ),
    ] {
        let r = h
            .send(interface, Some(&token), &h.seal(&op, &data.to_string()))
            .await;
        assert_eq!(r.ret, Ret::Ok, "{interface}: {r:?}");
        assert_eq!(opened(&r, &op), want, "{interface}");
    }
    // Shanghai's path family, another version segment and a trailing slash.
    let url = format!(
        "{}/notification_stationStatus/",
        h.base.replace("/evcs/v1", "/shevcs/V1.0")
    );
    let (status, body) = post_raw(url, Some(token), h.seal(&op, VECTOR_4).to_json().into()).await;
    assert_eq!(status, 200);
    assert_eq!(Response::parse(&body).unwrap().ret, Ret::Ok);
    let names: Vec<String> = h.stored().into_iter().map(|(_, s)| s.interface).collect();
    assert_eq!(
        names,
        [
            "notification_charge_order_info",
            "notification_equip_charge_status",
            "notification_connector_charge_status",
            "notification_stationInfo",
            "notification_alarmInfo",
            "notification_stationStatus"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signature_is_refused_and_nothing_is_stored() {
    let h = start().await;
    let op = operator();
    let token = h.token_for(&op).await;
    let mut req = h.seal(&op, VECTOR_4);
    let flipped = if req.sig.starts_with('A') { "B" } else { "A" };
    req.sig.replace_range(0..1, flipped);
    let r = h
        .send("notification_stationStatus", Some(&token), &req)
        .await;
    assert_eq!(r.ret, Ret::SignatureError, "{r:?}");
    // The refusal is signed by us with the peer's secrets.
    assert_eq!(r.open(&op).unwrap(), b"");
    // Data changed under a valid-looking envelope: the signature catches it too.
    let mut req = h.seal(&op, VECTOR_4);
    req.data = h
        .seal(
            &op,
            r#"{"ConnectorStatusInfo":{"ConnectorID":"X","Status":255}}"#,
        )
        .data;
    let r = h
        .send("notification_stationStatus", Some(&token), &req)
        .await;
    assert_eq!(r.ret, Ret::SignatureError);
    assert!(h.stored().is_empty());
    assert_eq!(h.server.metrics().refused("bad_signature"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_request_is_refused() {
    let h = start().await;
    let op = operator();
    let token = h.token_for(&op).await;
    let req = h.seal(&op, VECTOR_4);
    let first = h
        .send("notification_stationStatus", Some(&token), &req)
        .await;
    assert_eq!(first.ret, Ret::Ok);
    let again = h
        .send("notification_stationStatus", Some(&token), &req)
        .await;
    assert_eq!(again.ret, Ret::BadRequest, "{again:?}");
    assert!(again.msg.contains("replayed_seq"), "{}", again.msg);
    // An old TimeStamp, properly signed, is refused as well.
    let old = Request::seal(
        &op,
        VECTOR_4.as_bytes(),
        Timestamp::from_secs(now().as_secs() - 3600),
        77,
    )
    .unwrap();
    let stale = h
        .send("notification_stationStatus", Some(&token), &old)
        .await;
    assert_eq!(stale.ret, Ret::BadRequest);
    assert_eq!(h.stored().len(), 1);
    assert_eq!(h.server.metrics().refused("replayed_seq"), 1);
    assert_eq!(h.server.metrics().refused("stale_timestamp"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_wrong_expired_and_foreign_tokens_get_4002() {
    let h = start().await;
    let op = operator();
    let sample_token = h.token_for(&sample()).await;
    h.tokens
        .store(
            OP,
            "expired-token",
            Timestamp::from_secs(now().as_secs() - 1),
        )
        .unwrap();
    for (bearer, reason) in [
        (None, "token_missing"),
        (Some("no-such-token"), "token_invalid"),
        (Some("expired-token"), "token_invalid"),
        (Some(sample_token.as_str()), "token_operator_mismatch"),
    ] {
        let r = h
            .send("notification_stationStatus", bearer, &h.seal(&op, VECTOR_4))
            .await;
        assert_eq!(r.ret, Ret::TokenError, "{bearer:?}: {r:?}");
        assert!(r.msg.contains(reason), "{bearer:?}: {}", r.msg);
    }
    assert!(h.stored().is_empty());
    assert_eq!(h.server.metrics().refused("token_invalid"), 2);

    // A wrong OperatorSecret gets no token: SuccStat 1, FailReason 2.
    let ask = json!({"OperatorID": OP, "OperatorSecret": "WrongSecret00000"});
    let r = h
        .send("query_token", None, &h.seal(&op, &ask.to_string()))
        .await;
    assert_eq!(r.ret, Ret::Ok);
    let v = opened(&r, &op);
    assert_eq!(
        (v["SuccStat"].clone(), v["FailReason"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(v["AccessToken"], json!(""));
    // An operator we do not know cannot even ask.
    let stranger = PeerSecrets::new(
        "STRANGER1",
        "OperatorSecret16",
        "AbCdEfGh12345678",
        "8765432112345678",
        "SigSecretKey0001",
    )
    .unwrap();
    let ask = json!({"OperatorID": "STRANGER1", "OperatorSecret": "OperatorSecret16"});
    let r = h
        .send("query_token", None, &h.seal(&stranger, &ask.to_string()))
        .await;
    assert_eq!(r.ret, Ret::BadRequest);
    assert!(r.sig.is_empty(), "no key to sign with");
}

const V1_DATA: &str = "il7B0BSEjFdzpyKzfOFpvg/Se1CP802RItKYFPfSLRxJ3jf0bVl9hvYOEktPAYW2nd7S8MBcyHYyacHKbISq5iTmDzG+ivnR+SZJv3USNTYVMz9rCQVSxd0cLlqsJauko79NnwQJbzDTyLooYoIwz75qBOH2/xOMirpeEqRJrF/EQjWekJmGk9RtboXePu2rka+Xm51syBPhiXJAq0GfbfaFu9tNqs/e2Vjja/ltE1M0lqvxfXQ6da6HrThsm5id4ClZFIi0acRfrsPLRixS/IQYtksxghvJwbqOsbIsITail9Ayy4tKcogeEZiOO+4Ed264NSKmk7l3wKwJLAFjCFogBx8GE3OBz4pqcAn/ydA=";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ocr_corrupted_vector_is_refused_by_signature() {
    let h = start().await;
    let token = h.token_for(&sample()).await;
    // The 0/O and l/I/1 confusions of the copies circulating in public Go files
    // (shared/vectors/tcec102.md, "Pitfall").
    let mut corrupted = V1_DATA.to_owned();
    for (good, bad) in [
        ("jf0bVl9hv", "jfObV19hv"),
        ("YoIwz75", "Yolwz75"),
        ("ClZFIi0acR", "ClZFliOacR"),
        ("OsbIsITa", "OsblsITa"),
        ("Kmk7l3wK", "Kmk713wK"),
    ] {
        assert!(corrupted.contains(good));
        corrupted = corrupted.replacen(good, bad, 1);
    }
    let vector = |data: &str| Request {
        operator_id: SAMPLE_OP.into(),
        data: data.into(),
        time_stamp: "20160729142400".into(),
        seq: "0001".into(),
        sig: "745166E8C43C84D37FFEC0F529C4136F".into(),
    };
    let r = h
        .send(
            "notification_stationStatus",
            Some(&token),
            &vector(&corrupted),
        )
        .await;
    assert_eq!(r.ret, Ret::SignatureError, "{r:?}");
    // The genuine vector passes the signature and is refused only for its 2016 TimeStamp.
    let r = h
        .send("notification_stationStatus", Some(&token), &vector(V1_DATA))
        .await;
    assert_eq!(r.ret, Ret::BadRequest, "{r:?}");
    assert!(r.msg.contains("stale_timestamp"), "{}", r.msg);
    assert!(h.stored().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_interfaces_unreadable_payloads_and_big_bodies_are_refused() {
    let h = start().await;
    let op = operator();
    let token = h.token_for(&op).await;
    let r = h
        .send("query_stations_info", Some(&token), &h.seal(&op, "{}"))
        .await;
    assert_eq!(r.ret, Ret::BadData, "{r:?}");
    assert!(r.msg.contains("unknown_interface"));
    let r = h
        .send(
            "notification_stationStatus",
            Some(&token),
            &h.seal(&op, r#"{"Something":"else"}"#),
        )
        .await;
    assert_eq!(r.ret, Ret::BadData, "{r:?}");
    // Not an envelope at all.
    let (status, body) = post_raw(
        format!("{}/notification_stationStatus", h.base),
        Some(token.clone()),
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(Response::parse(&body).unwrap().ret, Ret::BadRequest);
    // Over the 1 MiB limit (through the router directly: a socket may be reset before the
    // client has written the whole body).
    let too_big = axum::http::Request::builder()
        .method("POST")
        .uri("/evcs/v1/notification_stationStatus")
        .header("Authorization", format!("Bearer {token}"))
        .body(axum::body::Body::from(vec![b' '; 2 << 20]))
        .unwrap();
    let status = tower::ServiceExt::oneshot(router(h.server.clone()), too_big)
        .await
        .unwrap()
        .status();
    assert_eq!(status, 413);
    assert!(h.stored().is_empty());
    assert_eq!(h.server.metrics().refused("unknown_interface"), 1);
    assert_eq!(h.server.metrics().refused("bad_data"), 1);
    assert_eq!(h.server.metrics().refused("bad_envelope"), 1);
}

/// A bus that takes the record and then loses it (the fsync fails after the append returned):
/// only waiting for durability can notice.
struct BrokenBus;

impl Bus for BrokenBus {
    fn append(&self, _payload: Vec<u8>, on_durable: OnDurable) -> Result<u64, BusError> {
        on_durable(Err(BusError("fsync failed: disk gone".into())));
        Ok(1)
    }

    fn truncate_before(&self, _position: u64) -> Result<(), BusError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_failure_is_a_system_error_never_ret_0() {
    let h = start_with(Some(Arc::new(BrokenBus))).await;
    let op = operator();
    let token = h.token_for(&op).await;
    let r = h
        .send(
            "notification_stationStatus",
            Some(&token),
            &h.seal(&op, VECTOR_4),
        )
        .await;
    assert_eq!(r.ret, Ret::SystemError, "{r:?}");
    assert_eq!(h.server.metrics().refused("bus_error"), 1);
    assert_eq!(h.server.metrics().accepted("notification_stationStatus"), 0);
}
