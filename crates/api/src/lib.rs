//! Haihe's HTTP API (axum): REST endpoints of DESIGN.md §5, SQL, metrics, bearer-token auth.
//!
//! `router(backend)` is the whole API as an `axum::Router`; the binary serves it (`serve`) and
//! tests call it with `router(backend).oneshot(request)`. Everything platform-specific is behind
//! the [`Backend`] trait.

mod auth;
mod backend;
mod error;
mod history;
mod limits;
mod params;
mod sql;
mod system;
mod vehicles;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};

pub use backend::*;
pub use limits::Limits;
pub use vehicles::{CATEGORIES, POWERTRAINS};

use crate::error::ApiError;

/// The state every handler shares.
type Shared = Arc<dyn Backend>;

/// The API with default [`Limits`].
pub fn router(backend: Arc<dyn Backend>) -> Router {
    router_with(backend, Limits::default())
}

/// The API with the given limits.
pub fn router_with(backend: Arc<dyn Backend>, limits: Limits) -> Router {
    let gate = limits::Gate::new(limits);

    let api = Router::new()
        .route("/metrics", get(system::metrics))
        .route(
            "/api/v1/vehicles",
            get(vehicles::list)
                .post(vehicles::upsert)
                .layer(DefaultBodyLimit::max(vehicles::UPSERT_BODY_LIMIT)),
        )
        .route("/api/v1/vehicles/{vin}", get(vehicles::get_one))
        .route("/api/v1/vehicles/{vin}/samples", get(history::samples))
        .route("/api/v1/vehicles/{vin}/track", get(history::track))
        .route(
            "/api/v1/sql",
            post(sql::query).layer(DefaultBodyLimit::max(sql::SQL_BODY_LIMIT)),
        )
        // `route_layer`: only matched routes demand a token, so an unknown path is a plain 404
        // and a wrong method a plain 405, whoever asks.
        .route_layer(middleware::from_fn_with_state(
            backend.clone(),
            auth::require_token,
        ))
        .route_layer(middleware::from_fn_with_state(
            gate.clone(),
            limits::limited,
        ));

    let open = Router::new()
        .route("/healthz", get(system::healthz))
        .route_layer(middleware::from_fn_with_state(gate, limits::timed));

    api.merge(open)
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(backend)
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
