//! Bearer-token authentication and the role rules every handler applies.
//!
//! Authentication is a middleware on the whole `/api` and `/metrics` routers rather than an
//! extractor each handler remembers to take: a route added later is authenticated by default.
//! The middleware leaves the `Principal` in the request's extensions for the handler. The live
//! stream alone also takes the token from the query string (`require_token_or_query`).

use axum::extract::{Query, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;

use crate::Shared;
use crate::backend::{Principal, Role, VehicleStatus};
use crate::error::ApiError;

/// Rejects requests without a valid `Authorization: Bearer TOKEN`; records who is calling.
pub(crate) async fn require_token(
    State(backend): State<Shared>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = header_token(&req)?.ok_or(ApiError::MissingToken)?;
    admit(&backend, &mut req, &token)?;
    Ok(next.run(req).await)
}

/// `require_token` that also accepts `?token=TOKEN`, for `/api/v1/stream` only: the browser's
/// `EventSource` cannot set headers. Everywhere else a token in the URL is refused, because URLs
/// end up in logs and histories. When both are sent, the header decides.
pub(crate) async fn require_token_or_query(
    State(backend): State<Shared>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = match header_token(&req)? {
        Some(token) => token,
        None => query_token(&req)?.ok_or(ApiError::MissingToken)?,
    };
    admit(&backend, &mut req, &token)?;
    Ok(next.run(req).await)
}

/// The bearer token of the `Authorization` header: `None` without the header, an error when the
/// header is not a bearer token.
fn header_token(req: &Request) -> Result<Option<String>, ApiError> {
    req.headers()
        .get(header::AUTHORIZATION)
        .map(|value| {
            bearer_token(value.as_bytes())
                .map(str::to_owned)
                .ok_or(ApiError::InvalidToken)
        })
        .transpose()
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The `token` query parameter, `None` when absent or empty.
fn query_token(req: &Request) -> Result<Option<String>, ApiError> {
    let Query(q) = Query::<TokenQuery>::try_from_uri(req.uri())
        .map_err(|e| ApiError::BadRequest(e.body_text()))?;
    Ok(q.token.filter(|t| !t.is_empty()))
}

/// Records the principal of a valid token in the request for the handler.
fn admit(backend: &Shared, req: &mut Request, token: &str) -> Result<(), ApiError> {
    let principal = backend.authenticate(token).ok_or(ApiError::InvalidToken)?;
    req.extensions_mut().insert(principal);
    Ok(())
}

/// The token of an `Authorization` header value; the scheme name is case-insensitive
/// (RFC 7235 §2.1).
fn bearer_token(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Only the admin may change the registry.
pub(crate) fn require_admin(p: &Principal) -> Result<(), ApiError> {
    match p.role {
        Role::Admin => Ok(()),
        Role::Operator | Role::Org => Err(ApiError::Forbidden(
            "this endpoint needs the admin role".into(),
        )),
    }
}

/// The organisation a principal is confined to: `None` for roles that see everything.
pub(crate) fn org_scope(p: &Principal) -> Result<Option<&str>, ApiError> {
    match (p.role, p.org.as_deref()) {
        (Role::Admin | Role::Operator, _) => Ok(None),
        (Role::Org, Some(org)) => Ok(Some(org)),
        // A misissued token: confining it to nothing is safer than letting it see everything.
        (Role::Org, None) => Err(ApiError::Forbidden(
            "this token has the org role but names no organisation".into(),
        )),
    }
}

/// Whether `p` may see this vehicle. A vehicle outside an org's scope must look exactly like one
/// that does not exist, so callers answer both with the same 404.
pub(crate) fn may_see(p: &Principal, vehicle: &VehicleStatus) -> Result<bool, ApiError> {
    Ok(match org_scope(p)? {
        None => true,
        Some(org) => {
            vehicle
                .registry
                .as_ref()
                .and_then(|r| r.owner_org.as_deref())
                == Some(org)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(bearer_token(b"Bearer abc"), Some("abc"));
        assert_eq!(bearer_token(b"bearer  abc "), Some("abc"));
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"Bearer"), None);
        assert_eq!(bearer_token(b"Bearer \xff"), None);
    }
}
