//! `/api/v1/alarms`: the alarm list and acknowledging an alarm.
//!
//! Every role may read alarms; an org principal sees only its own organisation's. Acknowledging
//! is open to every role too, because the carmaker or fleet that owns a vehicle is the one who
//! acts on its alarm; an org may only acknowledge its own alarms, and anyone else's answers
//! exactly like an unknown id.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use model::Alarm;
use serde::Deserialize;

use crate::Shared;
use crate::auth::org_scope;
use crate::backend::{AlarmFilter, AlarmStateFilter, BackendError, Page, Principal};
use crate::error::ApiError;
use crate::params::{
    Params, parse_count, parse_entity, parse_in_range, parse_name, parse_time, present,
};
use crate::vehicles::{LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, body_error};

/// The most characters an acknowledgement comment may have.
pub(crate) const COMMENT_MAX_CHARS: usize = 1000;

/// The body limit of `POST /api/v1/alarms/{id}/ack`: room for a comment of
/// [`COMMENT_MAX_CHARS`] characters even if every one is written as a JSON `\uXXXX` escape.
pub(crate) const ACK_BODY_LIMIT: usize = 16 << 10;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    from: Option<String>,
    to: Option<String>,
    entity: Option<String>,
    kind: Option<String>,
    min_level: Option<String>,
    state: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

/// `GET /api/v1/alarms`: `{"items": [Alarm…], "total"}`, newest opened first.
pub(crate) async fn list(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<Alarm>>, ApiError> {
    let from = parse_time("from", &q.from)?;
    let to = parse_time("to", &q.to)?;
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(ApiError::BadRequest(format!(
            "from ({from}) must be before to ({to})"
        )));
    }
    let state = present(&q.state)
        .map(|s| {
            AlarmStateFilter::parse(s).ok_or_else(|| {
                let expected: Vec<&str> =
                    AlarmStateFilter::ALL.iter().map(|f| f.as_str()).collect();
                ApiError::BadRequest(format!(
                    "state: unknown value {s:?}; expected one of {}",
                    expected.join(", ")
                ))
            })
        })
        .transpose()?;
    let filter = AlarmFilter {
        from,
        to,
        entity: parse_entity("entity", &q.entity)?,
        kind: parse_name("kind", &q.kind)?,
        min_level: parse_in_range("min_level", &q.min_level, 1, 4)?,
        state,
        org: org_scope(&principal)?.map(str::to_owned),
        limit: parse_count("limit", &q.limit, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)?,
        offset: parse_count("offset", &q.offset, 0, usize::MAX)?,
    };
    // The alarms live in the catalog database; keep its reads off the async workers.
    let page = blocking(backend, move |b| b.alarms(filter)).await?;
    Ok(Json(page))
}

/// The `{id}` path segment: an alarm id, a positive integer.
#[derive(Debug)]
pub(crate) struct AlarmId(i64);

impl<S: Send + Sync> FromRequestParts<S> for AlarmId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        match id.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Self(n)),
            _ => Err(ApiError::BadRequest(format!(
                "id: expected an alarm id (a positive integer), got {id:?}"
            ))),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AckRequest {
    comment: Option<String>,
}

/// `POST /api/v1/alarms/{id}/ack` with an optional body `{"comment": "…"}`: the alarm as it is
/// after the acknowledgement. 404 for an unknown id (or another org's alarm), 409 when it is
/// already acknowledged.
pub(crate) async fn ack(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    AlarmId(id): AlarmId,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Alarm>, ApiError> {
    let body = body.map_err(|e| body_error(e, ACK_BODY_LIMIT))?;
    let comment = parse_ack(&body).map_err(ApiError::BadRequest)?;
    let scope = org_scope(&principal)?.map(str::to_owned);
    let by = principal.subject;
    let not_found = move || ApiError::NotFound(format!("alarm {id} not found"));
    let acked = blocking(backend, move |b| {
        if let Some(org) = scope {
            // Another organisation's alarm must look exactly like one that does not exist.
            let alarm = b.alarm(id)?;
            if alarm.org.as_deref() != Some(org.as_str()) {
                return Err(BackendError::NotFound(String::new()));
            }
        }
        b.ack_alarm(id, by, comment)
    })
    .await;
    match acked {
        Ok(alarm) => Ok(Json(alarm)),
        Err(ApiError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(e),
    }
}

/// The comment of an acknowledgement body; an empty body, `{}` and an empty comment all mean
/// no comment.
fn parse_ack(body: &[u8]) -> Result<Option<String>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let req: Option<AckRequest> = serde_json::from_slice(body)
        .map_err(|e| format!("body: expected nothing or {{\"comment\": \"…\"}}: {e}"))?;
    let Some(comment) = req.unwrap_or_default().comment else {
        return Ok(None);
    };
    if comment.trim().is_empty() {
        return Ok(None);
    }
    let n = comment.chars().count();
    if n > COMMENT_MAX_CHARS {
        return Err(format!(
            "comment: at most {COMMENT_MAX_CHARS} characters, got {n}"
        ));
    }
    // Comments end up on dashboards and in exports: line breaks and tabs are text, other
    // control characters are not.
    if comment
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(
            "comment: control characters other than line breaks and tabs are not \
                    allowed"
                .to_owned(),
        );
    }
    Ok(Some(comment))
}

/// Runs a backend call that may wait for the catalog database on the blocking pool.
async fn blocking<T: Send + 'static>(
    backend: Shared,
    f: impl FnOnce(&Shared) -> Result<T, BackendError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || f(&backend))
        .await
        .map_err(|e| ApiError::Internal(format!("alarm task failed: {e}")))?
        .map_err(ApiError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_bodies() {
        assert_eq!(parse_ack(b""), Ok(None));
        assert_eq!(parse_ack(b" \n"), Ok(None));
        assert_eq!(parse_ack(b"null"), Ok(None));
        assert_eq!(parse_ack(b"{}"), Ok(None));
        assert_eq!(parse_ack(br#"{"comment": null}"#), Ok(None));
        assert_eq!(parse_ack(br#"{"comment": "  "}"#), Ok(None));
        assert_eq!(
            parse_ack(br#"{"comment": "called the driver\nall fine"}"#),
            Ok(Some("called the driver\nall fine".to_owned()))
        );
        let exactly = format!(r#"{{"comment": "{}"}}"#, "电".repeat(COMMENT_MAX_CHARS));
        assert!(parse_ack(exactly.as_bytes()).unwrap().is_some());
        let e = parse_ack(br#"{"note": "x"}"#).unwrap_err();
        assert!(e.contains("unknown field `note`"), "{e}");
        let e = parse_ack(br#"{"comment": "bell\u0007"}"#).unwrap_err();
        assert!(e.starts_with("comment: control characters"), "{e}");
        let e = parse_ack(b"comment=x").unwrap_err();
        assert!(e.starts_with("body: expected nothing or"), "{e}");
    }

    #[test]
    fn the_body_limit_holds_the_longest_comment_escaped() {
        let escaped = format!(
            r#"{{"comment": "{}"}}"#,
            "\\u00e9".repeat(COMMENT_MAX_CHARS)
        );
        assert!(escaped.len() < ACK_BODY_LIMIT);
        assert!(parse_ack(escaped.as_bytes()).unwrap().is_some());
    }
}
