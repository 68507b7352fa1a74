//! `/api/v1/vehicles`: the vehicle list, one vehicle, and the admin's bulk registry upload.

use std::collections::HashMap;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use model::VehicleInfo;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::Shared;
use crate::auth::{may_see, org_scope, require_admin};
use crate::backend::{Page, Principal, VehicleFilter, VehicleStatus};
use crate::error::ApiError;
use crate::params::{Params, VinPath, check_vin, parse_bool, parse_count, present};

/// DESIGN.md §4 `vehicles.category`. Adding a category is adding a line here.
pub const CATEGORIES: &[&str] = &[
    "private",
    "taxi",
    "bus",
    "sanitation",
    "logistics",
    "postal",
    "heavy_truck",
    "test",
];

/// DESIGN.md §4 `vehicles.powertrain`.
pub const POWERTRAINS: &[&str] = &["bev", "phev", "fcev", "methanol_hybrid", "ice"];

pub(crate) const LIST_DEFAULT_LIMIT: usize = 100;
pub(crate) const LIST_MAX_LIMIT: usize = 10_000;

/// The body limit of `POST /api/v1/vehicles`: about 100 000 registry entries.
pub(crate) const UPSERT_BODY_LIMIT: usize = 16 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    online: Option<String>,
    category: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

pub(crate) async fn list(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<VehicleStatus>>, ApiError> {
    let category = present(&q.category)
        .map(|c| {
            one_of(c, CATEGORIES)
                .map(|()| c.to_owned())
                .map_err(|m| ApiError::BadRequest(format!("category: {m}")))
        })
        .transpose()?;
    let filter = VehicleFilter {
        online: parse_bool("online", &q.online)?,
        category,
        org: org_scope(&principal)?.map(str::to_owned),
        limit: parse_count("limit", &q.limit, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)?,
        offset: parse_count("offset", &q.offset, 0, usize::MAX)?,
    };
    Ok(Json(backend.vehicles(filter)?))
}

pub(crate) async fn get_one(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    VinPath(vin): VinPath,
) -> Result<Json<VehicleStatus>, ApiError> {
    Ok(Json(visible_vehicle(&backend, &principal, &vin)?))
}

/// The vehicle if it exists and `principal` may see it; one and the same 404 otherwise.
pub(crate) fn visible_vehicle(
    backend: &Shared,
    principal: &Principal,
    vin: &str,
) -> Result<VehicleStatus, ApiError> {
    let not_found = || ApiError::NotFound(format!("vehicle {vin} not found"));
    let vehicle = match backend.vehicle(vin) {
        Ok(v) => v,
        Err(crate::BackendError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if may_see(principal, &vehicle)? {
        Ok(vehicle)
    } else {
        Err(not_found())
    }
}

/// Ensures an org-scoped principal may see `vin` before its history is read; roles that see
/// everything skip the lookup.
pub(crate) fn check_visible(
    backend: &Shared,
    principal: &Principal,
    vin: &str,
) -> Result<(), ApiError> {
    if org_scope(principal)?.is_some() {
        visible_vehicle(backend, principal, vin)?;
    }
    Ok(())
}

pub(crate) async fn upsert(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&principal)?;
    let body = body.map_err(|e| body_error(e, UPSERT_BODY_LIMIT))?;
    let entries = parse_registry(&body).map_err(ApiError::BadRequest)?;
    // The catalog write waits for an fsync; keep it off the async workers.
    let n = tokio::task::spawn_blocking(move || backend.upsert_vehicles(entries))
        .await
        .map_err(|e| ApiError::Internal(format!("registry upsert task failed: {e}")))??;
    Ok(Json(json!({ "upserted": n })))
}

/// A body that could not be read: too large (413) or broken off (400).
pub(crate) fn body_error(e: BytesRejection, limit: usize) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(format!("request body is larger than {}", size(limit)))
    } else {
        ApiError::BadRequest(format!(
            "could not read the request body: {}",
            e.body_text()
        ))
    }
}

/// A body limit as people write it: `16 MiB`, `16 KiB`, `100 bytes`.
fn size(bytes: usize) -> String {
    const KIB: usize = 1 << 10;
    const MIB: usize = 1 << 20;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

const FIELDS: [&str; 6] = [
    "vin",
    "terminal_id",
    "plate",
    "category",
    "powertrain",
    "owner_org",
];

/// Parses and validates a registry upload; the error names the first bad entry and field.
fn parse_registry(body: &[u8]) -> Result<Vec<VehicleInfo>, String> {
    let items: Vec<Value> = serde_json::from_slice(body).map_err(|e| {
        format!(
            "body: expected a JSON array of {{\"vin\", \"terminal_id\", \"plate\", \"category\", \
             \"powertrain\", \"owner_org\"}}: {e}"
        )
    })?;
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(items.len());
    let mut entries = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let entry = parse_entry(item).map_err(|(field, msg)| match field {
            Some(field) => format!("entries[{i}].{field}: {msg}"),
            None => format!("entries[{i}]: {msg}"),
        })?;
        if let Some(first) = seen.insert(entry.vin.clone(), i) {
            return Err(format!(
                "entries[{i}].vin: {:?} already appears at entries[{first}]",
                entry.vin
            ));
        }
        entries.push(entry);
    }
    Ok(entries)
}

type FieldError = (Option<&'static str>, String);

fn parse_entry(item: &Value) -> Result<VehicleInfo, FieldError> {
    let Value::Object(obj) = item else {
        return Err((None, format!("expected an object, got {}", kind(item))));
    };
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err((
            None,
            format!("unknown field {unknown:?}; expected {}", FIELDS.join(", ")),
        ));
    }
    let vin = string(obj, "vin")?.ok_or((Some("vin"), "is required".to_owned()))?;
    check_vin(&vin).map_err(|m| (Some("vin"), m))?;

    let terminal_id = string(obj, "terminal_id")?;
    if let Some(t) = &terminal_id
        && (t.is_empty() || t.len() > 20 || !t.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err((
            Some("terminal_id"),
            format!("expected 1–20 digits (the JT/T 808 phone number), got {t:?}"),
        ));
    }
    let plate = string(obj, "plate")?;
    if let Some(p) = &plate {
        text("plate", p, 16)?;
    }
    let category = string(obj, "category")?;
    if let Some(c) = &category {
        one_of(c, CATEGORIES).map_err(|m| (Some("category"), m))?;
    }
    let powertrain = string(obj, "powertrain")?;
    if let Some(p) = &powertrain {
        one_of(p, POWERTRAINS).map_err(|m| (Some("powertrain"), m))?;
    }
    let owner_org = string(obj, "owner_org")?;
    if let Some(o) = &owner_org {
        text("owner_org", o, 64)?;
    }
    Ok(VehicleInfo {
        vin,
        terminal_id,
        plate,
        category,
        powertrain,
        owner_org,
    })
}

/// A field that is a string, or absent/null.
fn string(obj: &Map<String, Value>, field: &'static str) -> Result<Option<String>, FieldError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err((
            Some(field),
            format!("expected a string or null, got {}", kind(other)),
        )),
    }
}

/// Free text that ends up on dashboards and in CSV: non-empty, bounded, no control characters.
fn text(field: &'static str, value: &str, max_chars: usize) -> Result<(), FieldError> {
    let n = value.chars().count();
    if n == 0 || n > max_chars || value.chars().any(char::is_control) {
        return Err((
            Some(field),
            format!("expected 1–{max_chars} characters without control characters, got {value:?}"),
        ));
    }
    Ok(())
}

fn one_of(value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "unknown value {value:?}; expected one of {}",
            allowed.join(", ")
        ))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn body_limits_are_written_in_the_largest_whole_unit() {
        assert_eq!(size(16 << 20), "16 MiB");
        assert_eq!(size(1 << 20), "1 MiB");
        assert_eq!(size(16 << 10), "16 KiB");
        assert_eq!(size(1500), "1500 bytes");
    }
}
