//! What the API needs from the rest of the platform, as one trait the binary implements.
//!
//! The API crate knows HTTP, JSON, auth and roles; it does not know where samples are stored or how
//! live state is kept. Keeping that behind this trait lets the router be tested with
//! `router(state).oneshot(request)` and keeps `api` free of the gateway and protocol crates.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use model::{
    Alarm, AlarmNotice, AlarmState, Charger, ChargingSession, ConnectorState, ConnectorStatus,
    FleetReport, Station, Timestamp, VehicleInfo, VehicleSample,
};
use serde::Serialize;
use tokio::sync::broadcast;

/// A boxed future, so the trait can be used as `Arc<dyn Backend>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who is calling: the role decides what they may see; `org` scopes carmakers and fleets to their
/// own vehicles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub role: Role,
    pub org: Option<String>,
    /// Who this is, for audit trails such as an alarm's `acked_by`: e.g. `token 7 (operator)`.
    /// Never the token itself.
    pub subject: String,
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
    /// The vehicle's id in `/api/v1/vehicles/{id}`: its VIN, or for a JT/T 808 terminal whose
    /// VIN the registry does not know, its terminal id.
    pub vin: String,
    pub online: bool,
    pub last_seen: Option<Timestamp>,
    /// Registry entry, when the vehicle is registered.
    pub registry: Option<VehicleInfo>,
    /// The latest report, in the columns of its table.
    pub state: Option<VehicleState>,
}

/// A vehicle's latest report: a `vehicle_samples` row (GB/T 32960) or a `fleet_reports` row
/// (JT/T 808), serialized as the row itself, so a GB/T 32960 vehicle's `state` is exactly what
/// it always was. Both tables have `source` (`gbt32960-2016`, `jt808-2013`, …), which tells them
/// apart; `protocol()` says the same in one word.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
// A state is built once per vehicle and request; boxing the larger row would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
pub enum VehicleState {
    Sample(VehicleSample),
    Fleet(FleetReport),
}

impl VehicleState {
    /// `gbt32960` or `jt808`.
    pub fn protocol(&self) -> &'static str {
        match self {
            Self::Sample(_) => "gbt32960",
            Self::Fleet(_) => "jt808",
        }
    }

    /// The table whose columns the state has.
    pub fn table(&self) -> &'static str {
        match self {
            Self::Sample(_) => "vehicle_samples",
            Self::Fleet(_) => "fleet_reports",
        }
    }
}

/// One end of a trip: when, and where when the position was known.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TripEnd {
    pub ts: Timestamp,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

/// One trip of `GET /api/v1/vehicles/{id}/trips`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trip {
    pub start: TripEnd,
    pub end: TripEnd,
    pub distance_km: f64,
    pub duration_secs: i64,
    pub max_speed_kmh: Option<f64>,
    pub avg_speed_kmh: Option<f64>,
    /// `odometer`, `gps`, `mixed` or `none`: what measured the distance.
    pub distance_from: String,
    /// `false` when the data ended while the trip was still going.
    pub complete: bool,
}

/// One Beijing calendar day of `GET /api/v1/vehicles/{id}/mileage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayMileage {
    /// `YYYY-MM-DD` in Beijing time.
    pub date: String,
    pub distance_km: f64,
    /// Trips that started this day.
    pub trips: usize,
    /// `odometer`, `gps`, `mixed` or `none`.
    pub distance_from: String,
}

/// Trips or days of one vehicle and the table they were computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Drive<T> {
    /// `fleet_reports` or `vehicle_samples`; `None` when the vehicle sent nothing in the period.
    pub source: Option<String>,
    pub items: Vec<T>,
}

/// Registered vehicles, and how many of them have a new-energy powertrain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FleetCount {
    pub total: u64,
    pub new_energy: u64,
}

/// One category of the fleet KPI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryCount {
    /// The registry's category; `None` for vehicles registered without one.
    pub category: Option<String>,
    pub registered: FleetCount,
    /// The registered vehicles with data in the period.
    pub active: FleetCount,
}

/// What the fleet KPI is computed from (see [`crate::count_fleet`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetCounts {
    pub categories: Vec<CategoryCount>,
    /// Vehicles and terminals with data in the period that are not in the registry; `None` when
    /// the count is scoped to one organisation (unregistered vehicles have no owner).
    pub active_unregistered: Option<u64>,
}

/// A page of results (vehicles, alarms) and the total matching the filter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: usize,
}

/// Filters of `GET /api/v1/alarms`. `from` and `to` select the alarms whose life overlaps
/// `[from, to)`: still open at `from` or closed after it, and opened before `to`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// The VIN, terminal id or charger id (`alarms.entity_id`).
    pub entity: Option<String>,
    pub kind: Option<String>,
    /// Alarms whose level is at least this (1–4).
    pub min_level: Option<u8>,
    pub state: Option<AlarmStateFilter>,
    /// Set from the principal for `Role::Org`.
    pub org: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

impl AlarmFilter {
    /// Whether `alarm` passes every filter but paging: the meaning of the filter in one place,
    /// for backends that filter in memory and for tests.
    pub fn matches(&self, alarm: &Alarm) -> bool {
        self.from
            .is_none_or(|from| alarm.closed_at.is_none_or(|closed| closed > from))
            && self.to.is_none_or(|to| alarm.opened_at < to)
            && self.entity.as_ref().is_none_or(|e| *e == alarm.entity_id)
            && self.kind.as_ref().is_none_or(|k| *k == alarm.kind)
            && self.min_level.is_none_or(|min| alarm.level >= min)
            && self.state.is_none_or(|s| s.matches(alarm.state))
            && self
                .org
                .as_ref()
                .is_none_or(|o| alarm.org.as_ref() == Some(o))
    }
}

/// The `state` filter of `GET /api/v1/alarms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmStateFilter {
    /// Not closed, acknowledged or not.
    Open,
    /// Open and nobody has acknowledged it yet (`AlarmState::Open`).
    Unacked,
    /// Open and acknowledged (`AlarmState::Acknowledged`).
    Acknowledged,
    /// Closed, acknowledged or not.
    Closed,
}

impl AlarmStateFilter {
    pub const ALL: [Self; 4] = [Self::Open, Self::Unacked, Self::Acknowledged, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Unacked => "unacked",
            Self::Acknowledged => "acknowledged",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The alarm states this filter selects.
    pub fn states(self) -> &'static [AlarmState] {
        match self {
            Self::Open => &[AlarmState::Open, AlarmState::Acknowledged],
            Self::Unacked => &[AlarmState::Open],
            Self::Acknowledged => &[AlarmState::Acknowledged],
            Self::Closed => &[AlarmState::Closed],
        }
    }

    pub fn matches(self, state: AlarmState) -> bool {
        self.states().contains(&state)
    }
}

/// A live event for `GET /api/v1/stream`, sent by the backend on a `tokio::sync::broadcast`
/// channel. The payloads are behind `Arc` because every subscriber receives a clone.
#[derive(Debug, Clone)]
pub enum StreamEvent {
    /// A live sample (column names of `vehicle_samples`); `org` is the owner organisation when
    /// known, for scoping: org principals receive only their own organisation's samples.
    Sample {
        org: Option<String>,
        sample: Arc<VehicleSample>,
    },
    /// A live JT/T 808 location report (column names of `fleet_reports`), sent as a `sample`
    /// event; its entity is the VIN when known, else the terminal id.
    Fleet {
        org: Option<String>,
        report: Arc<model::FleetReport>,
    },
    /// A change in an alarm's life; scoped by `notice.alarm.org`.
    Alarm(Arc<AlarmNotice>),
    /// A charging connector changed state (a `connector_status` row); `org` is the operator's
    /// organisation when configured.
    Connector {
        org: Option<String>,
        status: Arc<model::ConnectorStatus>,
    },
}

/// Filters of the charging endpoints. `org` is set from the principal for `Role::Org`: such a
/// principal sees only the operators configured with its organisation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChargingFilter {
    pub operator: Option<String>,
    pub station: Option<String>,
    pub district: Option<String>,
    pub status: Option<ConnectorState>,
    pub org: Option<String>,
}

/// One station of `GET /api/v1/stations`: the `stations` row, its organisation and how many of
/// its connectors are in each state now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StationView {
    #[serde(flatten)]
    pub station: Station,
    pub org: Option<String>,
    pub updated_at: Timestamp,
    /// State name → connectors in that state.
    pub connector_states: std::collections::BTreeMap<String, usize>,
}

/// One connector of `GET /api/v1/connectors`: its latest state (a `connector_status` row, `ts`
/// being when it was last reported) and the session in progress on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectorView {
    #[serde(flatten)]
    pub status: ConnectorStatus,
    pub session_id: Option<String>,
}

/// One charger of `GET /api/v1/chargers`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChargerView {
    #[serde(flatten)]
    pub charger: Charger,
    pub first_seen: Timestamp,
    /// OCPP chargers: connected to the CSMS now (`null` for T/CEC chargers).
    pub connected: Option<bool>,
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
    /// 409: the request contradicts the current state (an alarm that is already acknowledged).
    #[error("{0}")]
    Conflict(String),
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

    /// One vehicle (registry and latest state) by VIN or terminal id; `NotFound` if neither
    /// exists.
    fn vehicle(&self, vin: &str) -> Result<VehicleStatus, BackendError>;

    /// A vehicle's samples with `from <= ts < to`, oldest first, at most `limit`.
    fn samples(
        &self,
        vin: String,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<VehicleSample>, BackendError>>;

    /// A vehicle's positions with `from <= ts < to`, oldest first (by VIN or terminal id).
    fn track(
        &self,
        vin: String,
        from: Timestamp,
        to: Timestamp,
    ) -> BoxFuture<'_, Result<Vec<TrackPoint>, BackendError>>;

    /// A vehicle's trips (by VIN or terminal id), oldest first, computed from its reports in
    /// `[from, to)`: a trip going on at `from` or `to` is cut there.
    fn trips(
        &self,
        id: String,
        from: Timestamp,
        to: Timestamp,
    ) -> BoxFuture<'_, Result<Drive<Trip>, BackendError>>;

    /// A vehicle's distance per Beijing calendar day of `[from, to)`, oldest first, every day
    /// listed (with nothing driven when there was no data).
    fn mileage(
        &self,
        id: String,
        from: Timestamp,
        to: Timestamp,
    ) -> BoxFuture<'_, Result<Drive<DayMileage>, BackendError>>;

    /// The registry per category, and the registered vehicles with data (any `vehicle_samples` or
    /// `fleet_reports` row) in `[from, to)`, for `GET /api/v1/kpi`; only `org`'s vehicles when
    /// given. Backends build it with [`crate::count_fleet`].
    fn fleet_counts(
        &self,
        from: Timestamp,
        to: Timestamp,
        org: Option<String>,
    ) -> BoxFuture<'_, Result<FleetCounts, BackendError>>;

    /// A read-only SQL query over the tables of DESIGN.md §4, scoped to what `principal` may see.
    fn sql(
        &self,
        principal: Principal,
        sql: String,
    ) -> BoxFuture<'_, Result<QueryResult, BackendError>>;

    /// Admin bulk upsert of registry entries (`POST /api/v1/vehicles`); returns how many.
    fn upsert_vehicles(&self, entries: Vec<VehicleInfo>) -> Result<usize, BackendError>;

    /// Alarms matching `filter` (see [`AlarmFilter::matches`]), newest opened first, and how many
    /// match in all.
    fn alarms(&self, filter: AlarmFilter) -> Result<Page<Alarm>, BackendError>;

    /// One alarm by id; `NotFound` if there is none. The API reads it to check an org principal's
    /// scope before acknowledging.
    fn alarm(&self, id: i64) -> Result<Alarm, BackendError>;

    /// Acknowledges an open alarm on behalf of `by` (the principal's `subject`) and returns it as
    /// it is now. `NotFound` for an unknown id; `Conflict` when it is already acknowledged.
    fn ack_alarm(
        &self,
        id: i64,
        by: String,
        comment: Option<String>,
    ) -> Result<Alarm, BackendError>;

    /// A new receiver of live events for `GET /api/v1/stream`. The channel is bounded: a
    /// subscriber that falls behind loses the oldest events, and the API tells the client how
    /// many.
    fn subscribe(&self) -> broadcast::Receiver<StreamEvent>;

    /// Stations matching `filter` (operator, district, org), ordered by operator and station.
    fn stations(&self, filter: &ChargingFilter) -> Result<Vec<StationView>, BackendError> {
        let _ = filter;
        Err(not_served())
    }

    /// The latest state of every connector matching `filter` (operator, station, status, org).
    fn connectors(&self, filter: &ChargingFilter) -> Result<Vec<ConnectorView>, BackendError> {
        let _ = filter;
        Err(not_served())
    }

    /// Chargers matching `filter` (operator, station, org).
    fn chargers(&self, filter: &ChargingFilter) -> Result<Vec<ChargerView>, BackendError> {
        let _ = filter;
        Err(not_served())
    }

    /// Sessions that ended in `[from, to)` matching `filter`, oldest first, at most `limit`.
    fn charging_sessions(
        &self,
        from: Timestamp,
        to: Timestamp,
        filter: ChargingFilter,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ChargingSession>, BackendError>> {
        let _ = (from, to, filter, limit);
        Box::pin(async { Err(not_served()) })
    }

    /// `connector_status` rows (changes of state) with `from <= ts < to`, oldest first.
    fn connector_changes(
        &self,
        from: Timestamp,
        to: Timestamp,
        filter: ChargingFilter,
    ) -> BoxFuture<'_, Result<Vec<ConnectorStatus>, BackendError>> {
        let _ = (from, to, filter);
        Box::pin(async { Err(not_served()) })
    }

    /// Orderly charging: each site's power limit now, its sessions' shares and its measured
    /// power (`GET /api/v1/sites`).
    fn sites(&self) -> Result<serde_json::Value, BackendError> {
        Err(not_served())
    }

    /// Sends an OCPP call to a connected charger (`POST /api/v1/chargers/{id}/commands`) and
    /// returns the charger's answer payload.
    fn charger_command(
        &self,
        charger: String,
        action: String,
        payload: serde_json::Value,
    ) -> BoxFuture<'_, Result<serde_json::Value, BackendError>> {
        let _ = (charger, action, payload);
        Box::pin(async { Err(not_served()) })
    }

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

/// What a backend without the charging module answers.
fn not_served() -> BackendError {
    BackendError::Unavailable("charging data is not served by this backend".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(opened: i64, closed: Option<i64>, state: AlarmState) -> Alarm {
        Alarm {
            alarm_id: 1,
            entity_id: "LA9A0000000000001".into(),
            kind: "insulation_low".into(),
            level: 2,
            critical: false,
            state,
            opened_at: Timestamp::from_secs(opened),
            acked_at: None,
            acked_by: None,
            ack_comment: None,
            closed_at: closed.map(Timestamp::from_secs),
            source: "rule".into(),
            detail: String::new(),
            org: Some("carmaker-a".into()),
        }
    }

    #[test]
    fn a_time_range_selects_the_alarms_whose_life_overlaps_it() {
        let range = |from: i64, to: i64| AlarmFilter {
            from: Some(Timestamp::from_secs(from)),
            to: Some(Timestamp::from_secs(to)),
            ..AlarmFilter::default()
        };
        let closed = alarm(100, Some(200), AlarmState::Closed);
        assert!(range(150, 160).matches(&closed));
        assert!(range(50, 101).matches(&closed));
        assert!(range(199, 300).matches(&closed));
        assert!(!range(50, 100).matches(&closed), "opened at `to`");
        assert!(!range(200, 300).matches(&closed), "closed at `from`");
        let open = alarm(100, None, AlarmState::Open);
        assert!(range(1_000, 2_000).matches(&open));
        assert!(!range(0, 100).matches(&open));
    }

    #[test]
    fn state_level_and_org_filters() {
        let unacked = alarm(100, None, AlarmState::Open);
        let acked = alarm(100, None, AlarmState::Acknowledged);
        let closed = alarm(100, Some(200), AlarmState::Closed);
        let with = |state| AlarmFilter {
            state: Some(state),
            ..AlarmFilter::default()
        };
        let picked = |f: &AlarmFilter| [&unacked, &acked, &closed].map(|a| f.matches(a));
        assert_eq!(picked(&with(AlarmStateFilter::Open)), [true, true, false]);
        assert_eq!(
            picked(&with(AlarmStateFilter::Unacked)),
            [true, false, false]
        );
        assert_eq!(
            picked(&with(AlarmStateFilter::Acknowledged)),
            [false, true, false]
        );
        assert_eq!(
            picked(&with(AlarmStateFilter::Closed)),
            [false, false, true]
        );
        for f in AlarmStateFilter::ALL {
            assert_eq!(AlarmStateFilter::parse(f.as_str()), Some(f));
        }
        assert_eq!(AlarmStateFilter::parse("Open"), None);

        let level = |min| AlarmFilter {
            min_level: Some(min),
            ..AlarmFilter::default()
        };
        assert!(level(2).matches(&unacked) && !level(3).matches(&unacked));
        let org = |o: &str| AlarmFilter {
            org: Some(o.into()),
            ..AlarmFilter::default()
        };
        assert!(org("carmaker-a").matches(&unacked));
        assert!(!org("fleet-b").matches(&unacked));
        let no_org = Alarm {
            org: None,
            ..unacked
        };
        assert!(
            !org("carmaker-a").matches(&no_org),
            "an org never sees unowned alarms"
        );
        assert!(AlarmFilter::default().matches(&no_org));
    }
}
