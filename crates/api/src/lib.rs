//! Haihe's HTTP API (axum): REST endpoints of DESIGN.md §5, SQL, alarms, the live event stream
//! (server-sent events), metrics, bearer-token auth, charging (`charging.rs`); and beyond §5, a
//! vehicle's trips and daily mileage (`drive.rs`), the fleet KPI (`kpi.rs`), charging analytics
//! (`charging_stats.rs`), orderly-charging sites and charger commands.
//!
//! `router(backend)` is the whole API as an `axum::Router`; the binary serves it (`serve`) and
//! tests call it with `router(backend).oneshot(request)`. Everything platform-specific is behind
//! the [`Backend`] trait.

mod alarms;
mod auth;
mod backend;
mod charging;
mod charging_stats;
mod dashboard;
mod drive;
mod error;
mod history;
mod kpi;
mod limits;
mod params;
mod registry;
mod sql;
mod stream;
mod system;
mod vehicles;

use std::future::Future;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use axum::{Extension, Router};

pub use backend::*;
pub use charging_stats::{
    ChargingRows, Completeness, GroupBy, GroupStats, charging_stats, completeness,
};
pub use dashboard::{Dashboard, DashboardError, DashboardOptions};
pub use kpi::{
    CHARGER_TARGET, PLAN, PLAN_TARGETS, PLAN_YEARS, PlanTarget, charger_kpi, count_fleet,
};
pub use limits::Limits;
pub use registry::{
    CATEGORIES, EntryIssue, FieldProblem, FieldWarning, NEW_ENERGY_POWERTRAINS, POWERTRAINS,
    REGISTRY_FIELDS, RegistryCheck, check_registry, check_terminal_id, check_vehicle,
    is_new_energy,
};

use crate::error::ApiError;
use crate::stream::StreamSlots;

/// The state every handler shares.
type Shared = Arc<dyn Backend>;

/// The API with default [`Limits`].
pub fn router(backend: Arc<dyn Backend>) -> Router {
    router_with(backend, Limits::default())
}

/// The API with the given limits and the embedded dashboard.
pub fn router_with(backend: Arc<dyn Backend>, limits: Limits) -> Router {
    router_with_dashboard(backend, limits, Dashboard::default())
}

/// The API with the given limits; `dashboard` answers the paths outside the API (see
/// `dashboard.rs`), without a token.
pub fn router_with_dashboard(
    backend: Arc<dyn Backend>,
    limits: Limits,
    dashboard: Dashboard,
) -> Router {
    let gate = limits::Gate::new(limits);
    let slots = StreamSlots(Arc::new(tokio::sync::Semaphore::new(limits.max_streams)));

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
        .route("/api/v1/vehicles/{vin}/trips", get(drive::trips))
        .route("/api/v1/vehicles/{vin}/mileage", get(drive::mileage))
        .route("/api/v1/kpi", get(kpi::kpi))
        .route(
            "/api/v1/sql",
            post(sql::query).layer(DefaultBodyLimit::max(sql::SQL_BODY_LIMIT)),
        )
        .route("/api/v1/stations", get(charging::stations))
        .route("/api/v1/connectors", get(charging::connectors))
        .route("/api/v1/chargers", get(charging::chargers))
        .route(
            "/api/v1/chargers/{id}/commands",
            post(charging::command).layer(DefaultBodyLimit::max(charging::COMMAND_BODY_LIMIT)),
        )
        .route("/api/v1/charging-sessions", get(charging::sessions))
        .route("/api/v1/charging/stats", get(charging::stats))
        .route(
            "/api/v1/charging/completeness",
            get(charging::data_completeness),
        )
        .route("/api/v1/sites", get(charging::sites))
        .route("/api/v1/alarms", get(alarms::list))
        .route(
            "/api/v1/alarms/{id}/ack",
            post(alarms::ack).layer(DefaultBodyLimit::max(alarms::ACK_BODY_LIMIT)),
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

    // The live stream alone also takes `?token=` (see `stream.rs`), so it has its own router.
    let live = Router::new()
        .route(
            "/api/v1/stream",
            get(stream::events).layer(Extension(slots)),
        )
        .route_layer(middleware::from_fn_with_state(
            backend.clone(),
            auth::require_token_or_query,
        ))
        .route_layer(middleware::from_fn_with_state(
            gate.clone(),
            limits::limited,
        ));

    let open = Router::new()
        .route("/healthz", get(system::healthz))
        .route_layer(middleware::from_fn_with_state(gate, limits::timed));

    api.merge(live)
        .merge(open)
        .fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap| {
                std::future::ready(dashboard.respond(&method, uri.path(), &headers))
            },
        )
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(backend)
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in flight
/// and ends the live streams.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    let router = router.layer(Extension(stream::Closing(closing_rx)));
    let signal = async move {
        shutdown.await;
        // The graceful shutdown waits for every response to end, and a live stream never would.
        closing.send_replace(true);
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(signal)
        .await
}
