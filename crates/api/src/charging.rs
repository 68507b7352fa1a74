//! The charging endpoints: stations, connectors, chargers, sessions, analytics, orderly-charging
//! sites and commands to the city's OCPP chargers.
//!
//! ```text
//! GET  /api/v1/stations?operator=&district=               {"items": [StationView], "total"}
//! GET  /api/v1/connectors?status=&operator=&station=      {"items": [ConnectorView], "total"}
//! GET  /api/v1/chargers?operator=&station=                {"items": [ChargerView], "total"}
//! GET  /api/v1/charging-sessions?from=&to=&operator=&station=&limit=
//!                                                         {"items": [ChargingSession], "total"}
//! GET  /api/v1/charging/stats?from=&to=&by=station|district|operator
//!                                                         {"from", "to", "by", "groups": [GroupStats]}
//! GET  /api/v1/charging/completeness?from=&to=&stale_after_secs=
//!                                                         {"from", "to", "stale_before", "operators": [Completeness]}
//! GET  /api/v1/sites                                      orderly charging: limits, shares, power
//! POST /api/v1/chargers/{id}/commands  {"action", "payload"}   admin: one OCPP call, its answer
//! ```
//!
//! An org principal (a charging operator) sees only the operators configured with its
//! organisation. Analytics read the `connector_status` changes from [`STATE_LOOKBACK_DAYS`]
//! before `from`, to know each connector's state when the period begins (see
//! `charging_stats.rs`).

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use model::{ConnectorState, Station, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::auth::{org_scope, require_admin};
use crate::backend::{BackendError, ChargingFilter, Page, Principal};
use crate::charging_stats::{ChargingRows, GroupBy, charging_stats, completeness};
use crate::error::ApiError;
use crate::params::{Params, max_range, parse_count, present, time_range_with};
use crate::vehicles::{LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, body_error};

/// How far before `from` the analytics look for each connector's state at `from`.
pub(crate) const STATE_LOOKBACK_DAYS: i64 = 7;
/// The longest period of one analytics or sessions request (days).
pub(crate) const CHARGING_MAX_RANGE_DAYS: i64 = 92;
/// Without `from`: the 24 hours before `to`.
const DEFAULT_WINDOW_SECS: i64 = 86_400;
/// A connector not heard of for this long is stale (default of `stale_after_secs`).
const DEFAULT_STALE_AFTER_SECS: usize = 3600;
/// The body limit of a charger command.
pub(crate) const COMMAND_BODY_LIMIT: usize = 64 << 10;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    operator: Option<String>,
    station: Option<String>,
    district: Option<String>,
    status: Option<String>,
}

/// An operator, station or district id: 1–64 letters, digits, `-`, `_` or `.` (T/CEC ids are
/// upper-case letters and digits; OCPP sites and charge points are the operator's names).
fn parse_id(name: &str, value: &Option<String>) -> Result<Option<String>, ApiError> {
    let Some(v) = present(value) else {
        return Ok(None);
    };
    let ok = (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        return Err(ApiError::BadRequest(format!(
            "{name}: expected an id of 1–64 letters, digits, '-', '_' or '.', got {v:?}"
        )));
    }
    Ok(Some(v.to_owned()))
}

fn filter(q: &ListQuery, principal: &Principal) -> Result<ChargingFilter, ApiError> {
    let status = present(&q.status)
        .map(|s| {
            ConnectorState::parse(s).ok_or_else(|| {
                let names: Vec<&str> = ConnectorState::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::BadRequest(format!(
                    "status: unknown value {s:?}; expected one of {}",
                    names.join(", ")
                ))
            })
        })
        .transpose()?;
    Ok(ChargingFilter {
        operator: parse_id("operator", &q.operator)?,
        station: parse_id("station", &q.station)?,
        district: parse_id("district", &q.district)?,
        status,
        org: org_scope(principal)?.map(str::to_owned),
    })
}

/// `GET /api/v1/stations`.
pub(crate) async fn stations(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    list(backend, &principal, &q, |b, f| b.stations(f)).await
}

/// `GET /api/v1/connectors`.
pub(crate) async fn connectors(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    list(backend, &principal, &q, |b, f| b.connectors(f)).await
}

/// `GET /api/v1/chargers`.
pub(crate) async fn chargers(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    list(backend, &principal, &q, |b, f| b.chargers(f)).await
}

/// One of the list endpoints: the filter from the query, the backend's rows as a page.
async fn list<T: serde::Serialize + Send + 'static>(
    backend: Shared,
    principal: &Principal,
    q: &ListQuery,
    read: impl FnOnce(&Shared, &ChargingFilter) -> Result<Vec<T>, BackendError> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    let f = filter(q, principal)?;
    let items = blocking(backend, move |b| read(b, &f)).await?;
    Ok(Json(page(items)?))
}

fn page<T: serde::Serialize>(items: Vec<T>) -> Result<Value, ApiError> {
    let total = items.len();
    serde_json::to_value(Page { items, total })
        .map_err(|e| ApiError::Internal(format!("serializing a page: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionsQuery {
    from: Option<String>,
    to: Option<String>,
    operator: Option<String>,
    station: Option<String>,
    limit: Option<String>,
}

/// `GET /api/v1/charging-sessions`.
pub(crate) async fn sessions(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    Params(q): Params<SessionsQuery>,
) -> Result<Json<Value>, ApiError> {
    let range = time_range_with(&q.from, &q.to, backend.now(), DEFAULT_WINDOW_SECS)?;
    max_range(range, CHARGING_MAX_RANGE_DAYS, "a sessions request")?;
    let f = ChargingFilter {
        operator: parse_id("operator", &q.operator)?,
        station: parse_id("station", &q.station)?,
        org: org_scope(&principal)?.map(str::to_owned),
        ..ChargingFilter::default()
    };
    let limit = parse_count("limit", &q.limit, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)?;
    let items = backend
        .charging_sessions(range.0, range.1, f, limit)
        .await
        .map_err(ApiError::from)?;
    Ok(Json(page(items)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatsQuery {
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
    operator: Option<String>,
    stale_after_secs: Option<String>,
}

/// Everything the analytics read for `[from, to)`.
struct Gathered {
    stations: Vec<Station>,
    latest: Vec<model::ConnectorStatus>,
    changes: Vec<model::ConnectorStatus>,
    sessions: Vec<model::ChargingSession>,
}

impl Gathered {
    fn rows(&self) -> ChargingRows<'_> {
        ChargingRows {
            stations: &self.stations,
            latest: &self.latest,
            changes: &self.changes,
            sessions: &self.sessions,
        }
    }
}

async fn gather(
    backend: &Shared,
    from: Timestamp,
    to: Timestamp,
    f: ChargingFilter,
) -> Result<Gathered, ApiError> {
    let (stations, latest) = {
        let f = f.clone();
        blocking(backend.clone(), move |b| {
            let stations = b.stations(&f)?.into_iter().map(|s| s.station).collect();
            let latest = b.connectors(&f)?.into_iter().map(|c| c.status).collect();
            Ok((stations, latest))
        })
        .await?
    };
    let lookback = Timestamp::from_secs(from.as_secs() - STATE_LOOKBACK_DAYS * 86_400);
    let changes = backend
        .connector_changes(lookback, to, f.clone())
        .await
        .map_err(ApiError::from)?;
    let sessions = backend
        .charging_sessions(from, to, f, usize::MAX)
        .await
        .map_err(ApiError::from)?;
    Ok(Gathered {
        stations,
        latest,
        changes,
        sessions,
    })
}

fn range_and_filter(
    backend: &Shared,
    q: &StatsQuery,
    principal: &Principal,
) -> Result<((Timestamp, Timestamp), ChargingFilter), ApiError> {
    let range = time_range_with(&q.from, &q.to, backend.now(), DEFAULT_WINDOW_SECS)?;
    max_range(range, CHARGING_MAX_RANGE_DAYS, "a charging analysis")?;
    let f = ChargingFilter {
        operator: parse_id("operator", &q.operator)?,
        org: org_scope(principal)?.map(str::to_owned),
        ..ChargingFilter::default()
    };
    Ok((range, f))
}

/// `GET /api/v1/charging/stats`.
pub(crate) async fn stats(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    Params(q): Params<StatsQuery>,
) -> Result<Json<Value>, ApiError> {
    let by = match present(&q.by) {
        None => GroupBy::Station,
        Some(s) => GroupBy::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "by: unknown value {s:?}; expected station, district or operator"
            ))
        })?,
    };
    let ((from, to), f) = range_and_filter(&backend, &q, &principal)?;
    let g = gather(&backend, from, to, f).await?;
    let groups = charging_stats(&g.rows(), from, to, by);
    Ok(Json(json!({
        "from": from, "to": to, "by": by, "groups": groups,
    })))
}

/// `GET /api/v1/charging/completeness`.
pub(crate) async fn data_completeness(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    Params(q): Params<StatsQuery>,
) -> Result<Json<Value>, ApiError> {
    let ((from, to), f) = range_and_filter(&backend, &q, &principal)?;
    let stale_after = parse_count(
        "stale_after_secs",
        &q.stale_after_secs,
        DEFAULT_STALE_AFTER_SECS,
        366 * 86_400,
    )?;
    let now = backend.now();
    let stale_before =
        Timestamp::from_secs(now.as_secs() - i64::try_from(stale_after).unwrap_or(i64::MAX));
    let g = gather(&backend, from, to, f).await?;
    let operators = completeness(&g.rows(), from, to, stale_before);
    Ok(Json(json!({
        "from": from, "to": to, "stale_before": stale_before, "operators": operators,
    })))
}

/// `GET /api/v1/sites`: operators and admins only (the sites are the city's).
pub(crate) async fn sites(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    if org_scope(&principal)?.is_some() {
        return Err(ApiError::Forbidden(
            "orderly-charging sites are visible to operators and admins only".into(),
        ));
    }
    Ok(Json(blocking(backend, |b| b.sites()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Command {
    action: String,
    #[serde(default)]
    payload: Option<Value>,
}

/// `POST /api/v1/chargers/{id}/commands`: admin only.
pub(crate) async fn command(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&principal)?;
    let body = body.map_err(|e| body_error(e, COMMAND_BODY_LIMIT))?;
    let cmd: Command = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "expected {{\"action\": \"…\", \"payload\": {{…}}}}: {e}"
        ))
    })?;
    if cmd.action.is_empty() || cmd.action.len() > 64 {
        return Err(ApiError::BadRequest(
            "action: expected an OCPP action name".into(),
        ));
    }
    tracing::info!(charger = %id, action = %cmd.action, by = %principal.subject, "charger command");
    let answer = backend
        .charger_command(id, cmd.action, cmd.payload.unwrap_or_else(|| json!({})))
        .await
        .map_err(ApiError::from)?;
    Ok(Json(json!({ "response": answer })))
}

async fn blocking<T: Send + 'static>(
    backend: Shared,
    f: impl FnOnce(&Shared) -> Result<T, BackendError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || f(&backend))
        .await
        .map_err(|e| ApiError::Internal(format!("charging task failed: {e}")))?
        .map_err(ApiError::from)
}
