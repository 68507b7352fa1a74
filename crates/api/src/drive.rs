//! One vehicle's driving: `GET /api/v1/vehicles/{id}/trips` and `GET /api/v1/vehicles/{id}/mileage`
//! (daily, Beijing calendar days), for JT/T 808 terminals and GB/T 32960 vehicles alike.
//!
//! ```text
//! trips:   {"vehicle", "from", "to", "source", "trips": [{"start": {"ts", "lon", "lat"}, "end": {…},
//!           "distance_km", "duration_secs", "max_speed_kmh", "avg_speed_kmh", "distance_from",
//!           "complete"}], "total": {"trips", "distance_km", "duration_secs"}}
//! mileage: {"vehicle", "from", "to", "source", "days": [{"date", "distance_km", "trips",
//!           "distance_from"}], "total_km"}
//! ```
//!
//! `source` names the table the figures come from (`fleet_reports`, else `vehicle_samples`;
//! `null` when the vehicle sent nothing in the period). How trips are cut and distances measured
//! is `store::drive`'s business; the API bounds the ranges, scopes by org and rounds the figures
//! (metres, 0.1 km/h).

use axum::Extension;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::backend::{DayMileage, Principal, Trip};
use crate::error::ApiError;
use crate::params::{Params, VinPath, max_range, time_range, time_range_with};
use crate::vehicles::check_visible;

/// The longest range of one `/trips` request (days): like `/track`, it reads every report.
pub(crate) const TRIPS_MAX_RANGE_DAYS: i64 = 31;
/// The longest range of one `/mileage` request (days): a year of daily figures.
pub(crate) const MILEAGE_MAX_RANGE_DAYS: i64 = 366;
/// `/mileage` without `from`: the 30 days before `to`.
pub(crate) const MILEAGE_DEFAULT_WINDOW_SECS: i64 = 30 * 86_400;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

fn round(v: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (v * scale).round() / scale
}

fn km(v: f64) -> f64 {
    round(v, 3)
}

fn kmh(v: Option<f64>) -> Option<f64> {
    v.map(|v| round(v, 1))
}

pub(crate) async fn trips(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    VinPath(id): VinPath,
    Params(q): Params<RangeQuery>,
) -> Result<Json<Value>, ApiError> {
    let (from, to) = time_range(&q.from, &q.to, backend.now())?;
    max_range((from, to), TRIPS_MAX_RANGE_DAYS, "a trips request")?;
    check_visible(&backend, &principal, &id)?;
    let drive = backend.trips(id.clone(), from, to).await?;
    let trips: Vec<Trip> = drive
        .items
        .into_iter()
        .map(|t| Trip {
            distance_km: km(t.distance_km),
            max_speed_kmh: kmh(t.max_speed_kmh),
            avg_speed_kmh: kmh(t.avg_speed_kmh),
            ..t
        })
        .collect();
    let distance: f64 = trips.iter().map(|t| t.distance_km).sum();
    let duration: i64 = trips.iter().map(|t| t.duration_secs).sum();
    Ok(Json(json!({
        "vehicle": id,
        "from": from,
        "to": to,
        "source": drive.source,
        "trips": trips,
        "total": {
            "trips": trips.len(),
            "distance_km": km(distance),
            "duration_secs": duration,
        },
    })))
}

pub(crate) async fn mileage(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    VinPath(id): VinPath,
    Params(q): Params<RangeQuery>,
) -> Result<Json<Value>, ApiError> {
    let (from, to) = time_range_with(&q.from, &q.to, backend.now(), MILEAGE_DEFAULT_WINDOW_SECS)?;
    max_range((from, to), MILEAGE_MAX_RANGE_DAYS, "a mileage request")?;
    check_visible(&backend, &principal, &id)?;
    let drive = backend.mileage(id.clone(), from, to).await?;
    let days: Vec<DayMileage> = drive
        .items
        .into_iter()
        .map(|d| DayMileage {
            distance_km: km(d.distance_km),
            ..d
        })
        .collect();
    let total: f64 = days.iter().map(|d| d.distance_km).sum();
    Ok(Json(json!({
        "vehicle": id,
        "from": from,
        "to": to,
        "source": drive.source,
        "days": days,
        "total_km": km(total),
    })))
}
