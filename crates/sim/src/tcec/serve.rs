//! The operator's own T/CEC 102 endpoints, which the supervision platform polls:
//! `query_token`, `query_stations_info` (paged), `query_station_status` and
//! `query_station_stats`, every answer sealed and every request's signature checked.
//!
//! The caller's `OperatorID` is whatever it sends (the platform's own id); its requests must be
//! signed and encrypted with this operator's secrets, and `query_token` must carry this
//! operator's `OperatorSecret`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::IntoResponse;
use model::Timestamp;
use proto_tcec::codes::{SuccStat, TokenFailReason};
use proto_tcec::model::{
    ConnectorStatsInfo, EquipmentStatsInfo, QueryStationStatsRequest, QueryStationStatsResponse,
    QueryStationStatusRequest, QueryStationStatusResponse, QueryStationsInfoRequest,
    QueryStationsInfoResponse, QueryTokenRequest, QueryTokenResponse, StationStats,
    StationStatusInfo,
};
use proto_tcec::{
    Error as TcecError, PeerSecrets, ReplayGuard, Request, Response, Ret, decode_json, encode_json,
};

use super::{Shared, wall_now};
use crate::rng::Rng;

/// How long a token this operator issues stays valid, seconds.
const TOKEN_SECS: u32 = 7200;
/// Tokens remembered at most (the oldest go first); a peer cannot grow this without bound.
const MAX_TOKENS: usize = 1024;
/// Station ids per `query_station_status` call (T/CEC 102.4 §4.7).
const MAX_STATION_IDS: usize = 50;

/// What the poll server keeps between requests.
#[derive(Debug)]
pub(crate) struct PollState {
    guard: ReplayGuard,
    /// token → expiry (Unix seconds).
    tokens: HashMap<String, i64>,
    rng: Rng,
    pub(crate) requests: std::collections::BTreeMap<String, u64>,
    pub(crate) refused: u64,
}

impl PollState {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            guard: ReplayGuard::default(),
            tokens: HashMap::new(),
            rng: Rng::new(seed),
            requests: Default::default(),
            refused: 0,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn reply(resp: &Response) -> axum::response::Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        resp.to_json(),
    )
        .into_response()
}

/// The one handler: the endpoint is the last segment of the path, whatever the prefix
/// (`/evcs/v1/`, `/evcs/v20160701/`, …).
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let endpoint = uri
        .path()
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_owned();
    let ours = shared.secrets.clone();
    let refuse = |shared: &Shared, secrets: &PeerSecrets, e: &TcecError| {
        lock(&shared.poll).refused += 1;
        reply(&Response::refusal(secrets, e))
    };
    let req = match Request::parse(&body) {
        Ok(r) => r,
        Err(e) => return refuse(&shared, &ours, &e),
    };
    let Some(secrets) = shared.secrets_for(&req.operator_id) else {
        return refuse(
            &shared,
            &ours,
            &TcecError::UnknownOperator(req.operator_id.clone()),
        );
    };
    let now = wall_now();
    let plain = {
        let mut poll = lock(&shared.poll);
        *poll.requests.entry(endpoint.clone()).or_default() += 1;
        req.open(&secrets, &mut poll.guard, now)
    };
    let plain = match plain {
        Ok(p) => p,
        Err(e) => return refuse(&shared, &secrets, &e),
    };
    if endpoint != "query_token" && !token_ok(&shared, &headers, now) {
        lock(&shared.poll).refused += 1;
        return reply(&Response::seal(
            &secrets,
            Ret::TokenError,
            Ret::TokenError.default_msg(),
            None,
        ));
    }
    let answer = match endpoint.as_str() {
        "query_token" => query_token(&shared, &req.operator_id, &plain, now),
        "query_stations_info" => query_stations_info(&shared, &plain),
        "query_station_status" => query_station_status(&shared, &plain),
        "query_station_stats" => query_station_stats(&shared, &plain),
        _ => {
            lock(&shared.poll).refused += 1;
            return (StatusCode::NOT_FOUND, format!("no endpoint {endpoint:?}")).into_response();
        }
    };
    match answer {
        Ok(payload) => reply(&Response::seal(
            &secrets,
            Ret::Ok,
            Ret::Ok.default_msg(),
            Some(&payload),
        )),
        Err(e) => refuse(&shared, &secrets, &e),
    }
}

fn token_ok(shared: &Shared, headers: &HeaderMap, now: Timestamp) -> bool {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    lock(&shared.poll)
        .tokens
        .get(token.trim())
        .is_some_and(|&expiry| expiry > now.as_secs())
}

fn query_token(
    shared: &Shared,
    caller: &str,
    plain: &[u8],
    now: Timestamp,
) -> Result<Vec<u8>, TcecError> {
    let q: QueryTokenRequest = decode_json(plain)?;
    let ok = q.operator_secret == shared.secrets.operator_secret();
    let mut poll = lock(&shared.poll);
    let token = if ok {
        let t = format!("{:016X}{:016X}", poll.rng.next_u64(), poll.rng.next_u64());
        if poll.tokens.len() >= MAX_TOKENS {
            let now_s = now.as_secs();
            poll.tokens.retain(|_, &mut e| e > now_s);
            if poll.tokens.len() >= MAX_TOKENS
                && let Some(oldest) = poll
                    .tokens
                    .iter()
                    .min_by_key(|(_, e)| **e)
                    .map(|(k, _)| k.clone())
            {
                poll.tokens.remove(&oldest);
            }
        }
        poll.tokens
            .insert(t.clone(), now.as_secs() + i64::from(TOKEN_SECS));
        t
    } else {
        String::new()
    };
    Ok(encode_json(&QueryTokenResponse {
        operator_id: caller.to_owned(),
        succ_stat: if ok {
            SuccStat::Success
        } else {
            SuccStat::Failure
        },
        access_token: token,
        token_available_time: Some(if ok { TOKEN_SECS } else { 0 }),
        fail_reason: Some(if ok {
            TokenFailReason::None
        } else {
            TokenFailReason::WrongSecret
        }),
    }))
}

fn query_stations_info(shared: &Shared, plain: &[u8]) -> Result<Vec<u8>, TcecError> {
    let q: QueryStationsInfoRequest = decode_json(plain)?;
    let (page_no, page_size) = q.page();
    // Stations are published once, at the start of the run: an incremental query from after
    // that time has nothing new.
    let changed_since = q
        .last_query_time
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.trim() >= shared.published.as_str())
        .unwrap_or(false);
    let net = lock(&shared.network);
    let all: &[_] = if changed_since { &[] } else { &net.stations };
    let item_size = all.len() as u32;
    let page_count = item_size.div_ceil(page_size);
    let from = (u64::from(page_no - 1) * u64::from(page_size)).min(all.len() as u64) as usize;
    let to = (from + page_size as usize).min(all.len());
    Ok(encode_json(&QueryStationsInfoResponse {
        page_no,
        page_count,
        item_size,
        station_infos: all[from..to].to_vec(),
    }))
}

fn query_station_status(shared: &Shared, plain: &[u8]) -> Result<Vec<u8>, TcecError> {
    let q: QueryStationStatusRequest = decode_json(plain)?;
    if q.station_ids.len() > MAX_STATION_IDS {
        return Err(TcecError::Field {
            field: "StationIDs",
            reason: format!(
                "{} stations asked, at most {MAX_STATION_IDS} per call",
                q.station_ids.len()
            ),
        });
    }
    let now = shared.clock.now();
    let net = lock(&shared.network);
    let mut infos = Vec::new();
    for id in &q.station_ids {
        let Some(n) = net.stations.iter().position(|s| &s.station_id == id) else {
            continue;
        };
        let connector_status_infos = (0..net.connectors.len())
            .filter(|&i| net.connectors[i].station == n)
            .map(|i| net.status_info(i, now))
            .collect();
        infos.push(StationStatusInfo {
            station_id: id.clone(),
            connector_status_infos,
        });
    }
    Ok(encode_json(&QueryStationStatusResponse {
        total: infos.len() as u32,
        station_status_infos: infos,
    }))
}

fn query_station_stats(shared: &Shared, plain: &[u8]) -> Result<Vec<u8>, TcecError> {
    let q: QueryStationStatsRequest = decode_json(plain)?;
    let net = lock(&shared.network);
    let Some(n) = net
        .stations
        .iter()
        .position(|s| s.station_id == q.station_id)
    else {
        return Err(TcecError::Field {
            field: "StationID",
            reason: format!("no station {:?}", q.station_id),
        });
    };
    // Dates compare as text (yyyy-MM-dd).
    let (from, to) = (q.start_time.trim(), q.end_time.trim());
    let mut equipment: Vec<EquipmentStatsInfo> = Vec::new();
    for c in net.connectors.iter().filter(|c| c.station == n) {
        let kwh: f64 = c
            .energy_by_day
            .range(from.to_owned()..=to.to_owned())
            .map(|(_, v)| v)
            .sum();
        let kwh = (kwh * 100.0).round() / 100.0;
        let stats = ConnectorStatsInfo {
            connector_id: c.id.clone(),
            connector_electricity: Some(kwh),
        };
        match equipment
            .iter_mut()
            .find(|e| e.equipment_id == c.equipment_id)
        {
            Some(e) => {
                e.equipment_electricity = Some(e.equipment_electricity.unwrap_or(0.0) + kwh);
                e.connector_stats_infos.push(stats);
            }
            None => equipment.push(EquipmentStatsInfo {
                equipment_id: c.equipment_id.clone(),
                equipment_electricity: Some(kwh),
                connector_stats_infos: vec![stats],
            }),
        }
    }
    for e in &mut equipment {
        e.equipment_electricity = e.equipment_electricity.map(|x| (x * 100.0).round() / 100.0);
    }
    let total: f64 = equipment
        .iter()
        .filter_map(|e| e.equipment_electricity)
        .sum();
    Ok(encode_json(&QueryStationStatsResponse {
        station_stats: StationStats {
            station_id: q.station_id.clone(),
            start_time: Some(q.start_time.clone()),
            end_time: Some(q.end_time.clone()),
            station_electricity: Some((total * 100.0).round() / 100.0),
            equipment_stats_infos: equipment,
        },
    }))
}
