//! The one place where errors become HTTP responses: `{"error": {"code", "message"}}`.
//!
//! Every handler, extractor and middleware returns `ApiError`, so the status, the machine-readable
//! code and the wording are decided here only. Internal errors are logged with their detail and
//! answered with a generic message: paths, SQL engine messages and the like stay in the log.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::backend::BackendError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("missing bearer token: send `Authorization: Bearer TOKEN`")]
    MissingToken,
    #[error("invalid or revoked token")]
    InvalidToken,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    #[error("{0}")]
    Unavailable(String),
    #[error("the server is busy; retry shortly")]
    Busy,
    #[error("the request took longer than {}s; ask for a shorter time range or fewer rows", .0.as_secs())]
    Timeout(Duration),
    /// The detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::MissingToken | Self::InvalidToken => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Unavailable(_) | Self::Busy | Self::Timeout(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Internal(detail) = &self {
            tracing::error!(detail = %detail, "internal error answering an API request");
        }
        let body = json!({ "error": { "code": code, "message": self.to_string() } });
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            // RFC 6750 §3: a 401 names the scheme, and says why a token that was sent failed.
            Self::MissingToken => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"haihe\""),
                );
            }
            Self::InvalidToken => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"haihe\", error=\"invalid_token\""),
                );
            }
            Self::Busy => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            BackendError::BadRequest(m) => Self::BadRequest(m),
            BackendError::Conflict(m) => Self::Conflict(m),
            BackendError::Unavailable(m) => Self::Unavailable(m),
            BackendError::Internal(m) => Self::Internal(m),
        }
    }
}
