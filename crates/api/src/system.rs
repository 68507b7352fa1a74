//! Endpoints for machines watching the platform: `/healthz` and `/metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::Shared;
use crate::error::ApiError;

/// 200 `{"status":"ok"}` when the platform is ready; 503 in the error format otherwise.
/// Unauthenticated: load balancers and orchestrators probe it without credentials, and it
/// reveals nothing but readiness.
pub(crate) async fn healthz(State(backend): State<Shared>) -> Result<Json<Value>, ApiError> {
    if backend.ready() {
        Ok(Json(json!({ "status": "ok" })))
    } else {
        Err(ApiError::Unavailable("not ready".into()))
    }
}

/// Prometheus text exposition (format 0.0.4); any valid token may read it.
pub(crate) async fn metrics(State(backend): State<Shared>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        backend.metrics(),
    )
}
