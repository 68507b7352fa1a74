//! `POST /api/v1/sql`: read-only SQL over the tables of DESIGN.md §4.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use serde::Deserialize;

use crate::Shared;
use crate::backend::{Principal, QueryResult, Role};
use crate::error::ApiError;
use crate::vehicles::body_error;

/// A query is text, not data: 1 MiB is far beyond any hand-written or generated statement.
pub(crate) const SQL_BODY_LIMIT: usize = 1 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlRequest {
    sql: String,
}

pub(crate) async fn query(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<QueryResult>, ApiError> {
    // Scoping arbitrary SQL to one organisation's rows needs row-level filters in the query
    // engine; until the backend has them, org tokens are refused rather than trusted.
    if principal.role == Role::Org {
        return Err(ApiError::Forbidden(
            "SQL is available to the admin and operator roles only; org-scoped SQL is not \
             supported yet"
                .into(),
        ));
    }
    let body = body.map_err(|e| body_error(e, SQL_BODY_LIMIT))?;
    let req: SqlRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("body: expected {{\"sql\": \"…\"}}: {e}")))?;
    if req.sql.trim().is_empty() {
        return Err(ApiError::BadRequest("sql: the statement is empty".into()));
    }
    Ok(Json(backend.sql(principal, req.sql).await?))
}
