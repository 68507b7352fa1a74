//! The T/CEC 102 poller against a small operator platform on a real socket: token, every page of
//! `query_stations_info` (after one HTTP 500), `query_station_status` (after one token refusal),
//! `query_station_stats`; every answer read back from the real write-ahead log.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use gateway::tcec::{Peer, Poller, PollerOptions, TcecMetrics};
use model::{ChargingEvent, ConnectorState, Timestamp};
use pipeline::{IngestRecord, Pipeline, PipelineOptions, WalBus};
use proto_tcec::model::{
    QueryStationStatsRequest, QueryStationStatusRequest, QueryStationsInfoRequest,
    QueryTokenRequest,
};
use proto_tcec::{
    Origin, PeerSecrets, ReplayGuard, Request, Response, Ret, Stored, decode_json, decode_stored,
    to_events,
};
use serde_json::json;
use store::wal::{Wal, WalOptions, read_records};

const OPERATOR: &str = "MA01H3BQ2";
const CITY: &str = "CITY00001";

fn keys(operator_id: &str) -> PeerSecrets {
    PeerSecrets::new(
        operator_id,
        "OperatorSecret16",
        "AbCdEfGh12345678",
        "8765432112345678",
        "SigSecretKey0001",
    )
    .unwrap()
}

fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Timestamp::from_micros(d.as_micros() as i64)
}

/// The operator platform: it opens our requests (signed as CITY00001) and answers sealed.
struct Operator {
    secrets: PeerSecrets,
    guard: Mutex<ReplayGuard>,
    stations: Vec<String>,
    token: Mutex<Option<String>>,
    tokens_issued: AtomicU32,
    info_calls: AtomicU32,
    status_calls: AtomicU32,
    problems: Mutex<Vec<String>>,
}

impl Operator {
    fn problem(&self, p: String) -> axum::response::Response {
        self.problems.lock().unwrap().push(p.clone());
        (StatusCode::BAD_REQUEST, p).into_response()
    }

    fn answer(&self, ret: Ret, data: Option<serde_json::Value>) -> axum::response::Response {
        let data = data.map(|d| d.to_string());
        Response::seal(&self.secrets, ret, "", data.as_deref().map(str::as_bytes))
            .to_json()
            .into_response()
    }
}

async fn handle(
    State(op): State<Arc<Operator>>,
    Path(interface): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let req = match Request::parse(&body) {
        Ok(r) => r,
        Err(e) => return op.problem(format!("{interface}: {e}")),
    };
    let opened = req.open(&op.secrets, &mut op.guard.lock().unwrap(), now());
    let plain = match opened {
        Ok(p) => p,
        Err(e) => return op.problem(format!("{interface}: {e}")),
    };
    if interface == "query_token" {
        let ask: QueryTokenRequest = decode_json(&plain).unwrap();
        if ask.operator_id != CITY || ask.operator_secret != "OperatorSecret16" {
            return op.problem(format!("query_token from {ask:?}"));
        }
        let n = op.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
        let token = format!("token-{n}");
        *op.token.lock().unwrap() = Some(token.clone());
        return op.answer(
            Ret::Ok,
            Some(
                json!({"OperatorID": CITY, "SuccStat": 0, "AccessToken": token,
                "TokenAvailableTime": 7200, "FailReason": 0}),
            ),
        );
    }
    let bearer = headers
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    if bearer.is_none() || bearer != *op.token.lock().unwrap() {
        return op.answer(Ret::TokenError, None);
    }
    match interface.as_str() {
        "query_stations_info" => {
            if op.info_calls.fetch_add(1, Ordering::SeqCst) == 0 {
                return (StatusCode::INTERNAL_SERVER_ERROR, "busy").into_response();
            }
            let ask: QueryStationsInfoRequest = decode_json(&plain).unwrap();
            let (page, size) = ask.page();
            let size = size as usize;
            let count = op.stations.len().div_ceil(size);
            let items: Vec<_> = op
                .stations
                .iter()
                .skip((page as usize - 1) * size)
                .take(size)
                .map(|id| {
                    json!({"StationID": id, "OperatorID": OPERATOR, "StationName": format!("站 {id}"),
                        "StationLng": 117.2, "StationLat": 39.08,
                        "EquipmentInfos": [{"EquipmentID": format!("{id}-E"), "Power": 60,
                            "ConnectorInfos": [{"ConnectorID": format!("{id}-E-1"), "Power": 60}]}]})
                })
                .collect();
            op.answer(
                Ret::Ok,
                Some(
                    json!({"PageNo": page, "PageCount": count, "ItemSize": op.stations.len(),
                    "StationInfos": items}),
                ),
            )
        }
        "query_station_status" => {
            // The first call finds the token revoked: the poller must fetch a new one.
            if op.status_calls.fetch_add(1, Ordering::SeqCst) == 0 {
                *op.token.lock().unwrap() = None;
                return op.answer(Ret::TokenError, None);
            }
            let ask: QueryStationStatusRequest = decode_json(&plain).unwrap();
            if ask.station_ids.len() > 50 {
                return op.problem("more than 50 StationIDs".into());
            }
            let infos: Vec<_> = ask
                .station_ids
                .iter()
                .map(|id| {
                    json!({"StationID": id, "ConnectorStatusInfos": [
                        {"ConnectorID": format!("{id}-E-1"), "EquipmentID": format!("{id}-E"), "Status": 3}]})
                })
                .collect();
            op.answer(
                Ret::Ok,
                Some(json!({"Total": infos.len(), "StationStatusInfos": infos})),
            )
        }
        "query_station_stats" => {
            let ask: QueryStationStatsRequest = decode_json(&plain).unwrap();
            op.answer(
                Ret::Ok,
                Some(json!({"StationStats": {"StationID": ask.station_id,
                    "StartTime": ask.start_time, "EndTime": ask.end_time, "StationElectricity": 12.5}})),
            )
        }
        other => op.problem(format!("unexpected interface {other}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_stores_every_station_and_status_through_errors() {
    let operator = Arc::new(Operator {
        secrets: keys(CITY),
        guard: Mutex::new(ReplayGuard::default()),
        stations: (1..=5).map(|i| format!("ST{i}")).collect(),
        token: Mutex::new(None),
        tokens_issued: AtomicU32::new(0),
        info_calls: AtomicU32::new(0),
        status_calls: AtomicU32::new(0),
        problems: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route("/evcs/v1/{interface}", axum::routing::post(handle))
        .with_state(operator.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let (pipeline, _applied) =
        Pipeline::new(Arc::new(WalBus(Arc::new(wal))), PipelineOptions::default());
    let metrics = TcecMetrics::default();
    let options = PollerOptions {
        interval: Duration::from_secs(3600),
        station_info_every: 1,
        stats_every: 1,
        page_size: 2,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        metrics: metrics.clone(),
        ..PollerOptions::default()
    };
    let peers = vec![
        Peer {
            secrets: keys(OPERATOR),
            org: Some("org-a".into()),
            base_url: Some(format!("http://{addr}/evcs/v1/")),
            outbound: None,
        },
        // A peer that only pushes is not polled.
        Peer {
            secrets: keys("PUSHONLY1"),
            org: None,
            base_url: None,
            outbound: None,
        },
    ];
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let handle = Poller::spawn(peers, CITY.into(), pipeline, options, shutdown);

    // Poll the log until one whole round is in it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (stored, stations, statuses, stats) = loop {
        let stored: Vec<(IngestRecord, Stored)> = read_records(dir.path())
            .unwrap()
            .into_iter()
            .map(|r| {
                let rec = IngestRecord::decode(&r.payload).unwrap();
                let s = decode_stored(&rec.payload).unwrap();
                (rec, s)
            })
            .collect();
        let mut stations = BTreeSet::new();
        let mut statuses = BTreeSet::new();
        for (rec, s) in &stored {
            for e in to_events(s, rec.received_at) {
                match e {
                    ChargingEvent::Station(st) => {
                        stations.insert(st.station_id);
                    }
                    ChargingEvent::Status(c) => {
                        assert_eq!(c.status, ConnectorState::Charging);
                        statuses.insert((c.station_id, c.equipment_id, c.connector_id));
                    }
                    _ => {}
                }
            }
        }
        let stats = stored
            .iter()
            .filter(|(_, s)| s.interface == "query_station_stats")
            .count();
        if stations.len() == 5 && statuses.len() == 5 && stats == 5 {
            break (stored, stations, statuses, stats);
        }
        assert!(
            Instant::now() < deadline,
            "after 60 s: {stations:?} {statuses:?} {stats} stats; problems {:?}",
            operator.problems.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .expect("the poller stops on shutdown")
        .unwrap();

    assert_eq!(stats, 5);
    assert_eq!(
        stations.into_iter().collect::<Vec<_>>(),
        ["ST1", "ST2", "ST3", "ST4", "ST5"]
    );
    assert!(statuses.contains(&("ST3".into(), "ST3-E".into(), "ST3-E-1".into())));
    for (rec, s) in &stored {
        assert_eq!(rec.org.as_deref(), Some("org-a"));
        assert_eq!(s.operator_id, OPERATOR);
        assert_eq!(s.origin, Origin::Poll);
    }
    // Three pages, each its own record, in order.
    let pages: Vec<u64> = stored
        .iter()
        .filter(|(_, s)| s.interface == "query_stations_info")
        .map(|(_, s)| {
            serde_json::from_slice::<serde_json::Value>(&s.data).unwrap()["PageNo"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(pages, [1, 2, 3]);
    assert!(operator.problems.lock().unwrap().is_empty());
    assert_eq!(
        operator.info_calls.load(Ordering::SeqCst),
        4,
        "one 500, then 3 pages"
    );
    assert_eq!(
        operator.tokens_issued.load(Ordering::SeqCst),
        2,
        "renewed after 4002"
    );
    assert_eq!(metrics.polls("query_stations_info", "retried"), 1);
    assert_eq!(metrics.polls("query_stations_info", "ok"), 3);
    assert_eq!(metrics.polls("query_station_status", "token_refused"), 1);
    assert_eq!(metrics.polls("query_station_status", "ok"), 1);
    assert_eq!(metrics.polls("query_station_stats", "ok"), 5);
}
