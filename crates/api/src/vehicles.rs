//! `/api/v1/vehicles`: the vehicle list (vehicles of every protocol in one list), one vehicle, and
//! the admin's bulk registry upload (validated by `registry.rs`, like `haihe fleet import`).

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
use crate::params::{Params, VinPath, parse_bool, parse_count, present};
use crate::registry::{REGISTRY_FIELDS, check_category, check_registry};

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
            check_category(c)
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
    let (entries, warnings) = parse_registry(&body).map_err(ApiError::BadRequest)?;
    // The catalog write waits for an fsync; keep it off the async workers.
    let n = tokio::task::spawn_blocking(move || backend.upsert_vehicles(entries))
        .await
        .map_err(|e| ApiError::Internal(format!("registry upsert task failed: {e}")))??;
    if warnings.is_empty() {
        Ok(Json(json!({ "upserted": n })))
    } else {
        Ok(Json(json!({ "upserted": n, "warnings": warnings })))
    }
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

/// Parses and validates a registry upload: the entries and the warnings (`entries[i].field:
/// message`), or the error naming the first bad entry and field.
fn parse_registry(body: &[u8]) -> Result<(Vec<VehicleInfo>, Vec<String>), String> {
    let items: Vec<Value> = serde_json::from_slice(body).map_err(|e| {
        format!(
            "body: expected a JSON array of {{\"vin\", \"terminal_id\", \"plate\", \"category\", \
             \"powertrain\", \"owner_org\"}}: {e}"
        )
    })?;
    let at = |i: usize, field: Option<&str>, msg: &str| match field {
        Some(field) => format!("entries[{i}].{field}: {msg}"),
        None => format!("entries[{i}]: {msg}"),
    };
    let mut entries = Vec::with_capacity(items.len());
    let mut shape_error = None;
    for (i, item) in items.iter().enumerate() {
        match parse_entry(item) {
            Ok(entry) => entries.push(entry),
            Err((field, msg)) => {
                shape_error = Some(at(i, field, &msg));
                break;
            }
        }
    }
    // The entries before a malformed one may hold an earlier error: the first bad entry wins.
    let check = check_registry(&entries);
    let position = |i: usize| format!("entries[{i}]");
    if let Some(e) = check.errors.first() {
        return Err(at(e.index, e.field, &e.describe(position)));
    }
    if let Some(error) = shape_error {
        return Err(error);
    }
    let warnings = check
        .warnings
        .iter()
        .map(|w| at(w.index, w.field, &w.describe(position)))
        .collect();
    Ok((entries, warnings))
}

type FieldError = (Option<&'static str>, String);

/// One entry's JSON shape: an object of the registry fields, each a string or null, with a VIN.
fn parse_entry(item: &Value) -> Result<VehicleInfo, FieldError> {
    let Value::Object(obj) = item else {
        return Err((None, format!("expected an object, got {}", kind(item))));
    };
    if let Some(unknown) = obj.keys().find(|k| !REGISTRY_FIELDS.contains(&k.as_str())) {
        return Err((
            None,
            format!(
                "unknown field {unknown:?}; expected {}",
                REGISTRY_FIELDS.join(", ")
            ),
        ));
    }
    let vin = string(obj, "vin")?.ok_or((Some("vin"), "is required".to_owned()))?;
    Ok(VehicleInfo {
        vin,
        terminal_id: string(obj, "terminal_id")?,
        plate: string(obj, "plate")?,
        category: string(obj, "category")?,
        powertrain: string(obj, "powertrain")?,
        owner_org: string(obj, "owner_org")?,
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
