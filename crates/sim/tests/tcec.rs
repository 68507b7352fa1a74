//! The T/CEC 102 operator simulator against a small supervision platform served here (axum,
//! real sockets), which opens every envelope with `proto_tcec`; and the operator's own poll
//! endpoints queried with sealed requests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use model::Timestamp;
use proto_tcec::codes::{ConfirmResult, NotificationStatus, SuccStat};
use proto_tcec::model::{
    ChargeOrderInfo, ChargeOrderInfoResponse, NotificationResponse, NotificationStationStatus,
    QueryStationStatusRequest, QueryStationStatusResponse, QueryStationsInfoRequest,
    QueryStationsInfoResponse, QueryTokenRequest, QueryTokenResponse, StationInfo,
};
use proto_tcec::{PeerSecrets, ReplayGuard, Request, Response, Ret, decode_json, encode_json};
use sim::tcec::{self, Config, Operator};

fn now() -> Timestamp {
    Timestamp::from_micros(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64,
    )
}

fn secrets(operator_id: &str) -> PeerSecrets {
    PeerSecrets::new(
        operator_id,
        tcec::DEFAULT_OPERATOR_SECRET,
        tcec::DEFAULT_DATA_SECRET,
        tcec::DEFAULT_DATA_SECRET_IV,
        tcec::DEFAULT_SIG_SECRET,
    )
    .unwrap()
}

/// What the test platform stored (only what it answered `Ret` 0).
#[derive(Default)]
struct Platform {
    guard: Option<ReplayGuard>,
    tokens_issued: u32,
    token: String,
    stations: Vec<StationInfo>,
    statuses: Vec<NotificationStationStatus>,
    orders: Vec<ChargeOrderInfo>,
    status_calls: u32,
    bad_envelopes: u32,
}

type Shared = Arc<Mutex<Platform>>;

fn sealed(ret: Ret, payload: Option<Vec<u8>>) -> axum::response::Response {
    let resp = Response::seal(
        &secrets(tcec::DEFAULT_OPERATOR_ID),
        ret,
        ret.default_msg(),
        payload.as_deref(),
    );
    (StatusCode::OK, resp.to_json()).into_response()
}

async fn platform(
    State(p): State<Shared>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let mut p = p.lock().unwrap();
    let req = Request::parse(&body).unwrap();
    let guard = p.guard.get_or_insert_with(ReplayGuard::default);
    let plain = match req.open(&secrets(tcec::DEFAULT_OPERATOR_ID), guard, now()) {
        Ok(plain) => plain,
        Err(e) => {
            p.bad_envelopes += 1;
            return sealed(e.ret(), None);
        }
    };
    if endpoint == "query_token" {
        let q: QueryTokenRequest = decode_json(&plain).unwrap();
        assert_eq!(q.operator_secret, tcec::DEFAULT_OPERATOR_SECRET);
        p.tokens_issued += 1;
        p.token = format!("token-{}", p.tokens_issued);
        let answer = QueryTokenResponse {
            operator_id: q.operator_id,
            succ_stat: SuccStat::Success,
            access_token: p.token.clone(),
            token_available_time: Some(7200),
            fail_reason: None,
        };
        return sealed(Ret::Ok, Some(encode_json(&answer)));
    }
    let bearer = format!("Bearer {}", p.token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
        return sealed(Ret::TokenError, None);
    }
    let accepted = encode_json(&NotificationResponse {
        status: NotificationStatus::Accepted,
    });
    match endpoint.as_str() {
        "notification_stationInfo" => {
            let v: serde_json::Value = decode_json(&plain).unwrap();
            p.stations
                .push(serde_json::from_value(v["StationInfo"].clone()).unwrap());
            sealed(Ret::Ok, Some(accepted))
        }
        "notification_stationStatus" => {
            p.status_calls += 1;
            match p.status_calls {
                // The token "expires": the operator must fetch a new one and push again.
                1 => {
                    p.token = "expired".into();
                    sealed(Ret::TokenError, None)
                }
                // Trouble the operator must retry through.
                3 | 9 => (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response(),
                6 => sealed(Ret::Busy, None),
                _ => {
                    p.statuses.push(decode_json(&plain).unwrap());
                    sealed(Ret::Ok, Some(accepted))
                }
            }
        }
        "notification_charge_order_info" => {
            let o: ChargeOrderInfo = decode_json(&plain).unwrap();
            let answer = ChargeOrderInfoResponse {
                start_charge_seq: o.start_charge_seq.clone(),
                connector_id: o.connector_id.clone(),
                confirm_result: ConfirmResult::Agreed,
            };
            p.orders.push(o);
            sealed(Ret::Ok, Some(encode_json(&answer)))
        }
        other => panic!("unexpected endpoint {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_arrive_sealed_and_only_ret_zero_counts() {
    let shared: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/evcs/v1/{endpoint}", axum::routing::post(platform))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut config = Config::new(3, Duration::from_millis(100));
    config.platform_url = Some(format!("http://{addr}/evcs/v1/"));
    config.seed = 5;
    let op = Operator::bind(config).await.unwrap();
    let stations = op.stations();
    // Stop once the platform holds a few orders and many statuses (or give up after a minute).
    let watch = shared.clone();
    let enough = async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            {
                let p = watch.lock().unwrap();
                if p.orders.len() >= 3 && p.statuses.len() >= 20 {
                    return;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "no orders in time");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let summary = op.run(enough, |_| {}).await;
    let p = shared.lock().unwrap();

    assert_eq!(p.bad_envelopes, 0);
    assert!(p.tokens_issued >= 2, "4002 must lead to a new token");
    assert_eq!(p.stations, stations);
    assert_eq!(summary.station_info.delivered, 3);
    // What the operator counts as delivered is exactly what the platform answered Ret 0.
    assert_eq!(summary.status.delivered, p.statuses.len() as u64);
    assert_eq!(summary.orders.delivered, p.orders.len() as u64);
    assert_eq!(summary.status.refused + summary.orders.refused, 0);
    assert!(summary.troubles.http_errors >= 1 && summary.troubles.busy >= 1);
    let seqs: Vec<&str> = summary
        .delivered_orders
        .iter()
        .map(|o| o.start_charge_seq.as_str())
        .collect();
    let stored: Vec<&str> = p
        .orders
        .iter()
        .map(|o| o.start_charge_seq.as_str())
        .collect();
    assert_eq!(seqs, stored);
    let connectors: Vec<String> = stations
        .iter()
        .flat_map(|s| &s.equipment_infos)
        .flat_map(|e| &e.connector_infos)
        .map(|c| c.connector_id.clone())
        .collect();
    assert_eq!(summary.connectors, connectors.len());
    for s in &p.statuses {
        assert!(connectors.contains(&s.connector_status_info.connector_id));
    }
    // The last status the platform stored per connector is the summary's.
    for (id, code) in &summary.last_delivered_status {
        let last = p
            .statuses
            .iter()
            .rev()
            .find(|s| &s.connector_status_info.connector_id == id)
            .unwrap();
        assert_eq!(last.connector_status_info.status.code(), *code);
    }
    for o in &p.orders {
        assert!(o.total_power.unwrap() > 0.0);
        assert!(o.start_charge_seq.starts_with(tcec::DEFAULT_OPERATOR_ID));
        assert!(!o.charge_details.is_empty());
    }
}

fn call(url: &str, endpoint: &str, token: Option<&str>, payload: &[u8], seq: u16) -> Response {
    let req = Request::seal(&secrets("HAIHE0001"), payload, now(), seq).unwrap();
    post(url, endpoint, token, req.to_json())
}

fn post(url: &str, endpoint: &str, token: Option<&str>, body: String) -> Response {
    let mut r = ureq::post(format!("{url}{endpoint}"));
    if let Some(t) = token {
        r = r.header("Authorization", format!("Bearer {t}"));
    }
    let mut resp = r.send(body).unwrap();
    Response::parse(&resp.body_mut().read_to_vec().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_endpoints_answer_sealed_pages() {
    let mut config = Config::new(10, Duration::from_secs(1));
    config.listen = Some("127.0.0.1:0".parse().unwrap());
    let op = Operator::bind(config).await.unwrap();
    let url = op.poll_url().unwrap().to_owned();
    let stations = op.stations();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(op.run(
        async move {
            let _ = stop_rx.await;
        },
        |_| {},
    ));

    let (url2, stations2) = (url.clone(), stations.clone());
    tokio::task::spawn_blocking(move || {
        let url = url2;
        let platform = secrets("HAIHE0001");
        // No token yet: 4002.
        let q = encode_json(&QueryStationsInfoRequest {
            last_query_time: None,
            page_no: Some(2),
            page_size: Some(4),
        });
        let r = call(&url, "query_stations_info", None, &q, 1);
        assert_eq!(r.ret, Ret::TokenError);
        r.open(&platform).unwrap();

        let t = encode_json(&QueryTokenRequest {
            operator_id: "HAIHE0001".into(),
            operator_secret: tcec::DEFAULT_OPERATOR_SECRET.into(),
        });
        let r = call(&url, "query_token", None, &t, 2);
        assert_eq!(r.ret, Ret::Ok);
        let token: QueryTokenResponse = decode_json(&r.open(&platform).unwrap()).unwrap();
        assert_eq!(token.succ_stat, SuccStat::Success);
        let token = token.access_token;

        let r = call(&url, "query_stations_info", Some(&token), &q, 3);
        assert_eq!(r.ret, Ret::Ok);
        let page: QueryStationsInfoResponse = decode_json(&r.open(&platform).unwrap()).unwrap();
        assert_eq!((page.page_no, page.page_count, page.item_size), (2, 3, 10));
        assert_eq!(page.station_infos, stations2[4..8].to_vec());
        // The last page holds the rest.
        let q3 = encode_json(&QueryStationsInfoRequest {
            last_query_time: Some(String::new()),
            page_no: Some(3),
            page_size: Some(4),
        });
        let r = call(&url, "query_stations_info", Some(&token), &q3, 4);
        let page: QueryStationsInfoResponse = decode_json(&r.open(&platform).unwrap()).unwrap();
        assert_eq!(page.station_infos, stations2[8..].to_vec());

        let ids = vec![
            stations2[0].station_id.clone(),
            stations2[9].station_id.clone(),
        ];
        let s = encode_json(&QueryStationStatusRequest {
            station_ids: ids.clone(),
        });
        let r = call(&url, "query_station_status", Some(&token), &s, 5);
        let status: QueryStationStatusResponse = decode_json(&r.open(&platform).unwrap()).unwrap();
        assert_eq!(status.total, 2);
        for (info, station) in status
            .station_status_infos
            .iter()
            .zip([&stations2[0], &stations2[9]])
        {
            assert_eq!(info.station_id, station.station_id);
            let n: usize = station
                .equipment_infos
                .iter()
                .map(|e| e.connector_infos.len())
                .sum();
            assert_eq!(info.connector_status_infos.len(), n);
        }

        // A request whose signature does not match is refused with 4001.
        let mut bad = Request::seal(&platform, &s, now(), 6).unwrap();
        bad.sig = "0".repeat(32);
        let r = post(&url, "query_station_status", Some(&token), bad.to_json());
        assert_eq!(r.ret, Ret::SignatureError);
        // A replayed request is refused.
        let req = Request::seal(&platform, &s, now(), 7).unwrap();
        assert_eq!(
            post(&url, "query_station_status", Some(&token), req.to_json()).ret,
            Ret::Ok
        );
        assert_eq!(
            post(&url, "query_station_status", Some(&token), req.to_json()).ret,
            Ret::BadRequest
        );
    })
    .await
    .unwrap();

    stop_tx.send(()).unwrap();
    let summary = run.await.unwrap();
    let poll = summary.poll.unwrap();
    assert_eq!(poll.url, url);
    assert_eq!(poll.requests["query_stations_info"], 3);
    assert_eq!(poll.refused, 3);
}
