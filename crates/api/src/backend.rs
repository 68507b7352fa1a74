//! What the API needs from the rest of the platform, as one trait the binary implements.
//!
//! The API crate knows HTTP, JSON, auth and roles; it does not know where samples are stored or how
//! live state is kept. Keeping that behind this trait lets the router be tested with
//! `router(state).oneshot(request)` and keeps `api` free of the gateway and protocol crates.

use std::future::Future;
use std::pin::Pin;

use model::{Timestamp, VehicleInfo, VehicleSample};
use serde::Serialize;

/// A boxed future, so the trait can be used as `Arc<dyn Backend>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who is calling: the role decides what they may see; `org` scopes carmakers and fleets to their
/// own vehicles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub role: Role,
    pub org: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including SQL and registry changes.
    Admin,
    /// Platform operator and regulator: read everything.
    Operator,
    /// A carmaker, fleet or charging operator: read its own `org`'s data.
    Org,
}

/// Filters of `GET /api/v1/vehicles`.
#[derive(Debug, Clone, Default)]
pub struct VehicleFilter {
    pub online: Option<bool>,
    pub category: Option<String>,
    /// Set from the principal for `Role::Org`.
    pub org: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

/// One vehicle with its live state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VehicleStatus {
    pub vin: String,
    pub online: bool,
    pub last_seen: Option<Timestamp>,
    /// Registry entry, when the vehicle is registered.
    pub registry: Option<VehicleInfo>,
    /// The latest sample (column names of `vehicle_samples`).
    pub state: Option<VehicleSample>,
}

/// A page of vehicles and the total matching the filter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: usize,
}

/// One point of a track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrackPoint {
    pub ts: Timestamp,
    pub lon: f64,
    pub lat: f64,
    pub speed_kmh: Option<f64>,
}

/// The result of `POST /api/v1/sql`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// Errors a backend reports; the API maps each kind to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// 404.
    #[error("{0} not found")]
    NotFound(String),
    /// 400: the request is wrong (bad SQL, a write statement, a bad time range…).
    #[error("{0}")]
    BadRequest(String),
    /// 503: overloaded or shutting down.
    #[error("{0}")]
    Unavailable(String),
    /// 500: logged with its detail; the client sees a generic message.
    #[error("{0}")]
    Internal(String),
}

/// The platform as the API sees it. Implemented by the binary over the store and live state.
pub trait Backend: Send + Sync + 'static {
    /// The principal a bearer token belongs to, or `None` for an unknown or revoked token.
    fn authenticate(&self, token: &str) -> Option<Principal>;

    /// Whether the platform is ready to serve (`/healthz`).
    fn ready(&self) -> bool;

    /// Prometheus text exposition of every counter (`/metrics`).
    fn metrics(&self) -> String;

    /// Vehicles with their live state, ordered by VIN.
    fn vehicles(&self, filter: VehicleFilter) -> Result<Page<VehicleStatus>, BackendError>;

    /// One vehicle (registry and latest state); `NotFound` if neither exists.
    fn vehicle(&self, vin: &str) -> Result<VehicleStatus, BackendError>;

    /// A vehicle's samples with `from <= ts < to`, oldest first, at most `limit`.
    fn samples(
        &self,
        vin: String,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<VehicleSample>, BackendError>>;

    /// A vehicle's positions with `from <= ts < to`, oldest first.
    fn track(
        &self,
        vin: String,
        from: Timestamp,
        to: Timestamp,
    ) -> BoxFuture<'_, Result<Vec<TrackPoint>, BackendError>>;

    /// A read-only SQL query over the tables of DESIGN.md §4, scoped to what `principal` may see.
    fn sql(
        &self,
        principal: Principal,
        sql: String,
    ) -> BoxFuture<'_, Result<QueryResult, BackendError>>;

    /// Admin bulk upsert of registry entries (`POST /api/v1/vehicles`); returns how many.
    fn upsert_vehicles(&self, entries: Vec<VehicleInfo>) -> Result<usize, BackendError>;

    /// The current time, for defaults such as "the last 24 hours" of `samples` and `track`.
    /// The API asks the backend instead of reading a clock so that the platform's `Clock` (and a
    /// test's fixed time) decides; the provided method reads the system clock.
    fn now(&self) -> Timestamp {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        Timestamp::from_micros(micros)
    }
}
