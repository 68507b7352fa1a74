//! One vehicle's history: `/samples` (JSON, or CSV on `Accept: text/csv`) and `/track` (GeoJSON).

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use model::{Timestamp, VehicleSample};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::backend::Principal;
use crate::error::ApiError;
use crate::params::{Params, VinPath, parse_count, time_range};
use crate::vehicles::check_visible;

pub(crate) const SAMPLES_DEFAULT_LIMIT: usize = 10_000;
pub(crate) const SAMPLES_MAX_LIMIT: usize = 100_000;

/// The longest time range one `/track` request may cover, and the most points it returns: the
/// backend loads the whole range into memory, so both are bounded.
pub(crate) const TRACK_MAX_RANGE_SECS: i64 = 31 * 86_400;
pub(crate) const TRACK_MAX_POINTS: usize = 100_000;

/// The columns of `vehicle_samples` in `VehicleSample`'s field order: the CSV header. A test
/// checks this against the fields a serialized sample has, so the two cannot drift apart.
pub(crate) const SAMPLE_COLUMNS: [&str; 29] = [
    "vin",
    "ts",
    "received_at",
    "source",
    "reissue",
    "vehicle_status",
    "charging_status",
    "run_mode",
    "speed_kmh",
    "odometer_km",
    "total_voltage_v",
    "total_current_a",
    "soc_pct",
    "insulation_kohm",
    "gear",
    "lon",
    "lat",
    "position_valid",
    "coord_system",
    "max_cell_voltage_v",
    "min_cell_voltage_v",
    "max_temp_c",
    "min_temp_c",
    "alarm_level",
    "alarm_flags",
    "cell_voltages_v",
    "probe_temps_c",
    "motors",
    "quality",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SamplesQuery {
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
}

pub(crate) async fn samples(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    VinPath(vin): VinPath,
    Params(q): Params<SamplesQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (from, to) = time_range(&q.from, &q.to, backend.now())?;
    let limit = parse_count("limit", &q.limit, SAMPLES_DEFAULT_LIMIT, SAMPLES_MAX_LIMIT)?;
    check_visible(&backend, &principal, &vin)?;
    let rows = backend.samples(vin.clone(), from, to, limit).await?;
    if wants_csv(&headers) {
        let body = samples_csv(&rows)?;
        let disposition = format!("inline; filename=\"{vin}-samples.csv\"");
        Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    // The VIN was checked to be letters, digits, `-` and `_`.
                    HeaderValue::from_str(&disposition)
                        .map_err(|e| ApiError::Internal(format!("content-disposition: {e}")))?,
                ),
            ],
            body,
        )
            .into_response())
    } else {
        Ok(Json(rows).into_response())
    }
}

/// Whether the client listed `text/csv` among the media types it accepts.
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let media = range.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("text/csv")
        })
}

/// The samples as CSV: one header row of column names, then one row per sample. NULL is an empty
/// cell; list columns (`cell_voltages_v`, `probe_temps_c`, `motors`) are one cell holding their
/// JSON array, so that a spreadsheet keeps one row per sample.
fn samples_csv(rows: &[VehicleSample]) -> Result<Vec<u8>, ApiError> {
    let internal = |e: &dyn std::fmt::Display| ApiError::Internal(format!("samples CSV: {e}"));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(SAMPLE_COLUMNS).map_err(|e| internal(&e))?;
    let mut cells: Vec<String> = Vec::with_capacity(SAMPLE_COLUMNS.len());
    for row in rows {
        let Value::Object(fields) = serde_json::to_value(row).map_err(|e| internal(&e))? else {
            return Err(internal(&"a sample did not serialize to an object"));
        };
        cells.clear();
        for column in SAMPLE_COLUMNS {
            cells.push(match fields.get(column) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            });
        }
        out.write_record(&cells).map_err(|e| internal(&e))?;
    }
    out.into_inner().map_err(|e| internal(&e))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrackQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A GeoJSON Feature (RFC 7946) whose LineString has the positions as `[lon, lat]`, oldest first,
/// with their times in `properties.timestamps`. A LineString needs two positions, so with fewer
/// the geometry is `null` (a valid Feature); `properties.points` still says how many there were.
pub(crate) async fn track(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    VinPath(vin): VinPath,
    Params(q): Params<TrackQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = time_range(&q.from, &q.to, backend.now())?;
    if to.as_secs() - from.as_secs() > TRACK_MAX_RANGE_SECS {
        return Err(ApiError::BadRequest(format!(
            "a track covers at most {} days; ask for a shorter range",
            TRACK_MAX_RANGE_SECS / 86_400
        )));
    }
    check_visible(&backend, &principal, &vin)?;
    let points = backend.track(vin.clone(), from, to).await?;
    // A non-finite coordinate would print as `null` and break every GeoJSON reader.
    let mut valid = points
        .iter()
        .filter(|p| p.lon.is_finite() && p.lat.is_finite());
    let kept: Vec<_> = valid.by_ref().take(TRACK_MAX_POINTS).collect();
    let truncated = valid.next().is_some();
    let coordinates: Vec<[f64; 2]> = kept.iter().map(|p| [p.lon, p.lat]).collect();
    let timestamps: Vec<Timestamp> = kept.iter().map(|p| p.ts).collect();
    let geometry = if coordinates.len() >= 2 {
        json!({ "type": "LineString", "coordinates": coordinates })
    } else {
        Value::Null
    };
    let feature = json!({
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "vin": vin,
            "from": from,
            "to": to,
            "points": coordinates.len(),
            "truncated": truncated,
            "timestamps": timestamps,
        },
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/geo+json"),
        )],
        Json(feature),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_lists_are_searched_for_csv() {
        let mut h = HeaderMap::new();
        assert!(!wants_csv(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!wants_csv(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json;q=0.5, Text/CSV; charset=utf-8"),
        );
        assert!(wants_csv(&h));
    }
}
