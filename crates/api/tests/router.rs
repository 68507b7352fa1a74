//! The API's routes through `router(backend).oneshot(request)`, against a small in-memory
//! `Backend`: auth and roles, org scoping, validation, response shapes, the error format, the
//! live stream read event by event from the response body, vehicles of both protocols in one
//! list, trips, daily mileage and the fleet KPI.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::{
    AlarmFilter, AlarmStateFilter, Backend, BackendError, BoxFuture, CategoryCount, DayMileage,
    Drive, FleetCount, FleetCounts, Limits, Page, Principal, QueryResult, Role, StreamEvent,
    TrackPoint, Trip, TripEnd, VehicleFilter, VehicleState, VehicleStatus, router, router_with,
};
use axum::Router;
use axum::body::{Body, BodyDataStream, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use futures_util::StreamExt;
use model::{
    Alarm, AlarmChangeKind, AlarmNotice, AlarmState, FleetReport, Motor, Timestamp, VehicleInfo,
    VehicleSample, Vin,
};
use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast};
use tower::ServiceExt;

/// 2026-07-07T06:55:15+08:00.
const NOW_SECS: i64 = 1_783_378_515;
const HOUR: i64 = 3600;

const ADMIN: &str = "admin-token";
const OPERATOR: &str = "operator-token";
const ORG_A: &str = "org-a-token";
const ORG_NONE: &str = "org-without-org-token";

const VIN_A: &str = "LA9A0000000000001";
const VIN_B: &str = "LB0B0000000000002";
const VIN_UNREGISTERED: &str = "TEST-03";
/// `vehicle()` fails with an internal error whose detail must not reach the client.
const VIN_BOOM: &str = "BOOM";
/// `samples()` waits until the test releases it.
const VIN_SLOW: &str = "SLOW";
/// A JT/T 808 fleet vehicle whose terminal the registry maps to a VIN (fleet-b's sanitation
/// truck), and a 2019-edition terminal the registry does not know (a 20-digit phone number).
const VIN_FLEET: &str = "LFLEET00000000001";
const TERMINAL_FLEET: &str = "13800000077";
const TERMINAL_UNKNOWN: &str = "20190000000000000099";

/// The capacity of the fake backend's broadcast channel of live events.
const STREAM_CAPACITY: usize = 16;

/// What the router asked of the backend, for the assertions.
#[derive(Debug, Default)]
struct Calls {
    filter: Option<VehicleFilter>,
    samples: Option<(String, Timestamp, Timestamp, usize)>,
    track: Option<(String, Timestamp, Timestamp)>,
    sql: Option<(Principal, String)>,
    upserted: Vec<VehicleInfo>,
    trips: Option<(String, Timestamp, Timestamp)>,
    mileage: Option<(String, Timestamp, Timestamp)>,
    kpi: Option<(Timestamp, Timestamp, Option<String>)>,
    alarm_filter: Option<AlarmFilter>,
    acked: Vec<(i64, String, Option<String>)>,
    subscribed: usize,
}

struct TestBackend {
    ready: AtomicBool,
    vehicles: Vec<VehicleStatus>,
    samples: Vec<VehicleSample>,
    alarms: Mutex<Vec<Alarm>>,
    events: broadcast::Sender<StreamEvent>,
    calls: Mutex<Calls>,
    slow_started: Notify,
    slow_release: Notify,
}

fn registry(vin: &str, org: &str, category: &str) -> VehicleInfo {
    VehicleInfo {
        vin: vin.to_owned(),
        terminal_id: Some("13800000001".to_owned()),
        plate: Some("津AD12345".to_owned()),
        category: Some(category.to_owned()),
        powertrain: Some("bev".to_owned()),
        owner_org: Some(org.to_owned()),
    }
}

fn sample(vin: &str, ts_secs: i64, lon: f64, lat: f64) -> VehicleSample {
    VehicleSample {
        vin: vin.parse::<Vin>().unwrap(),
        ts: Timestamp::from_secs(ts_secs),
        received_at: Timestamp::from_secs(ts_secs + 1),
        source: "gbt32960-2016".to_owned(),
        reissue: false,
        vehicle_status: Some("started".to_owned()),
        charging_status: None,
        run_mode: Some("ev".to_owned()),
        speed_kmh: Some(42.5),
        odometer_km: Some(1234.5),
        total_voltage_v: Some(350.0),
        total_current_a: Some(-12.5),
        soc_pct: Some(80.0),
        insulation_kohm: Some(5000.0),
        gear: Some("D".to_owned()),
        lon: Some(lon),
        lat: Some(lat),
        position_valid: Some(true),
        coord_system: Some("wgs84".to_owned()),
        max_cell_voltage_v: Some(3.71),
        min_cell_voltage_v: Some(3.69),
        max_temp_c: Some(31.0),
        min_temp_c: Some(29.0),
        alarm_level: Some(0),
        alarm_flags: Some(0),
        cell_voltages_v: vec![Some(3.7), None],
        probe_temps_c: vec![Some(30.0)],
        motors: vec![Motor {
            no: Some(1),
            state: Some("driving".to_owned()),
            controller_temp_c: Some(40.0),
            speed_rpm: Some(3000.0),
            torque_nm: Some(120.0),
            temp_c: Some(55.0),
            controller_voltage_v: Some(350.0),
            controller_current_a: Some(20.0),
        }],
        quality: model::quality::CELL_VOLTAGES,
    }
}

fn fleet_report(terminal: &str, vin: Option<&str>, ts_secs: i64) -> FleetReport {
    FleetReport {
        terminal_id: terminal.to_owned(),
        vin: vin.map(str::to_owned),
        ts: Timestamp::from_secs(ts_secs),
        received_at: Timestamp::from_secs(ts_secs + 1),
        source: "jt808-2013".to_owned(),
        reissue: false,
        lon: 117.35,
        lat: 39.02,
        speed_kmh: 24.0,
        heading_deg: 270.0,
        alt_m: 4.0,
        alarm_bits: 0,
        status_bits: 3,
        acc_on: true,
        position_valid: true,
        mileage_km: Some(88_123.4),
        fuel_l: None,
        recorder_speed_kmh: Some(23.0),
    }
}

/// Alarm 1: carmaker-a's, open. 2: fleet-b's, acknowledged. 3: carmaker-a's, closed a day ago.
/// 4: an unregistered vehicle's (no org), open.
fn alarms() -> Vec<Alarm> {
    let alarm = |id: i64, vin: &str, org: Option<&str>, kind: &str, level: u8, opened: i64| Alarm {
        alarm_id: id,
        entity_id: vin.to_owned(),
        kind: kind.to_owned(),
        level,
        critical: model::alarm::is_critical(level),
        state: AlarmState::Open,
        opened_at: Timestamp::from_secs(opened),
        acked_at: None,
        acked_by: None,
        ack_comment: None,
        closed_at: None,
        source: "rule".to_owned(),
        detail: "insulation 80 kΩ below 100 kΩ".to_owned(),
        org: org.map(str::to_owned),
    };
    let one = alarm(
        1,
        VIN_A,
        Some("carmaker-a"),
        "insulation_low",
        3,
        NOW_SECS - 2 * HOUR,
    );
    let mut two = alarm(
        2,
        VIN_B,
        Some("fleet-b"),
        "battery_high_temperature",
        2,
        NOW_SECS - 3 * HOUR,
    );
    two.state = AlarmState::Acknowledged;
    two.acked_at = Some(Timestamp::from_secs(NOW_SECS - 2 * HOUR));
    two.acked_by = Some("token 2 (operator)".to_owned());
    let mut three = alarm(
        3,
        VIN_A,
        Some("carmaker-a"),
        "offline",
        1,
        NOW_SECS - 30 * HOUR,
    );
    three.state = AlarmState::Closed;
    three.closed_at = Some(Timestamp::from_secs(NOW_SECS - 26 * HOUR));
    let four = alarm(4, VIN_UNREGISTERED, None, "offline", 1, NOW_SECS - HOUR);
    vec![one, two, three, four]
}

impl TestBackend {
    fn new() -> Arc<Self> {
        let samples = vec![
            sample(VIN_A, NOW_SECS - 30 * HOUR, 117.0, 39.0),
            sample(VIN_A, NOW_SECS - 3 * HOUR, 117.1, 39.1),
            sample(VIN_A, NOW_SECS - 2 * HOUR, 117.2, 39.2),
            sample(VIN_A, NOW_SECS - HOUR, 117.3, 39.3),
            sample(VIN_UNREGISTERED, NOW_SECS - HOUR, 117.5, 39.5),
        ];
        let vehicles = vec![
            VehicleStatus {
                vin: VIN_A.to_owned(),
                online: true,
                last_seen: Some(Timestamp::from_secs(NOW_SECS - HOUR)),
                registry: Some(registry(VIN_A, "carmaker-a", "taxi")),
                state: Some(VehicleState::Sample(samples[3].clone())),
            },
            VehicleStatus {
                vin: VIN_B.to_owned(),
                online: false,
                last_seen: None,
                registry: Some(registry(VIN_B, "fleet-b", "bus")),
                state: None,
            },
            VehicleStatus {
                vin: VIN_UNREGISTERED.to_owned(),
                online: true,
                last_seen: Some(Timestamp::from_secs(NOW_SECS - HOUR)),
                registry: None,
                state: Some(VehicleState::Sample(samples[4].clone())),
            },
        ];
        Arc::new(Self {
            ready: AtomicBool::new(true),
            vehicles,
            samples,
            alarms: Mutex::new(alarms()),
            events: broadcast::channel(STREAM_CAPACITY).0,
            calls: Mutex::default(),
            slow_started: Notify::new(),
            slow_release: Notify::new(),
        })
    }

    /// The backend with two JT/T 808 vehicles besides the GB/T 32960 ones.
    fn with_fleet() -> Arc<Self> {
        let mut backend = Arc::into_inner(Self::new()).unwrap();
        let mut fleet_b = registry(VIN_FLEET, "fleet-b", "sanitation");
        fleet_b.terminal_id = Some(TERMINAL_FLEET.to_owned());
        backend.vehicles.extend([
            VehicleStatus {
                vin: VIN_FLEET.to_owned(),
                online: true,
                last_seen: Some(Timestamp::from_secs(NOW_SECS - 60)),
                registry: Some(fleet_b),
                state: Some(VehicleState::Fleet(fleet_report(
                    TERMINAL_FLEET,
                    Some(VIN_FLEET),
                    NOW_SECS - 61,
                ))),
            },
            VehicleStatus {
                vin: TERMINAL_UNKNOWN.to_owned(),
                online: false,
                last_seen: Some(Timestamp::from_secs(NOW_SECS - 2 * HOUR)),
                registry: None,
                state: Some(VehicleState::Fleet(fleet_report(
                    TERMINAL_UNKNOWN,
                    None,
                    NOW_SECS - 2 * HOUR,
                ))),
            },
        ]);
        Arc::new(backend)
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap()
    }

    fn alarm_by_id(&self, id: i64) -> Alarm {
        self.alarms
            .lock()
            .unwrap()
            .iter()
            .find(|a| a.alarm_id == id)
            .cloned()
            .unwrap()
    }

    /// Publishes a live event to every open stream.
    fn publish(&self, event: StreamEvent) {
        self.events.send(event).unwrap();
    }
}

impl Backend for TestBackend {
    fn authenticate(&self, token: &str) -> Option<Principal> {
        let (role, org) = match token {
            ADMIN => (Role::Admin, None),
            OPERATOR => (Role::Operator, None),
            ORG_A => (Role::Org, Some("carmaker-a".to_owned())),
            ORG_NONE => (Role::Org, None),
            _ => return None,
        };
        Some(Principal {
            role,
            org,
            subject: format!("test {token}"),
        })
    }

    fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn metrics(&self) -> String {
        "# TYPE haihe_frames_in_total counter\nhaihe_frames_in_total{protocol=\"gbt32960\"} 3\n"
            .to_owned()
    }

    fn vehicles(&self, filter: VehicleFilter) -> Result<Page<VehicleStatus>, BackendError> {
        let matching: Vec<_> = self
            .vehicles
            .iter()
            .filter(|v| filter.online.is_none_or(|o| v.online == o))
            .filter(|v| {
                let reg = v.registry.as_ref();
                filter
                    .category
                    .as_ref()
                    .is_none_or(|c| reg.and_then(|r| r.category.as_ref()) == Some(c))
                    && filter
                        .org
                        .as_ref()
                        .is_none_or(|o| reg.and_then(|r| r.owner_org.as_ref()) == Some(o))
            })
            .cloned()
            .collect();
        let total = matching.len();
        let items = matching
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit)
            .collect();
        self.calls().filter = Some(filter);
        Ok(Page { items, total })
    }

    fn vehicle(&self, vin: &str) -> Result<VehicleStatus, BackendError> {
        if vin == VIN_BOOM {
            return Err(BackendError::Internal(
                "sqlite: disk I/O error in /var/lib/haihe/catalog.db".into(),
            ));
        }
        self.vehicles
            .iter()
            .find(|v| v.vin == vin)
            .cloned()
            .ok_or_else(|| BackendError::NotFound(format!("vehicle {vin}")))
    }

    fn samples(
        &self,
        vin: String,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<VehicleSample>, BackendError>> {
        Box::pin(async move {
            if vin == VIN_SLOW {
                self.slow_started.notify_one();
                self.slow_release.notified().await;
            }
            let rows = self
                .samples
                .iter()
                .filter(|s| s.vin.as_str() == vin && from <= s.ts && s.ts < to)
                .take(limit)
                .cloned()
                .collect();
            self.calls().samples = Some((vin, from, to, limit));
            Ok(rows)
        })
    }

    fn track(
        &self,
        vin: String,
        from: Timestamp,
        to: Timestamp,
    ) -> BoxFuture<'_, Result<Vec<TrackPoint>, BackendError>> {
        Box::pin(async move {
            let points = self
                .samples
                .iter()
                .filter(|s| s.vin.as_str() == vin && from <= s.ts && s.ts < to)
                .map(|s| TrackPoint {
                    ts: s.ts,
                    lon: s.lon.unwrap(),
                    lat: s.lat.unwrap(),
                    speed_kmh: s.speed_kmh,
                })
                .collect();
            self.calls().track = Some((vin, from, to));
            Ok(points)
        })
    }

    fn sql(
        &self,
        principal: Principal,
        sql: String,
    ) -> BoxFuture<'_, Result<QueryResult, BackendError>> {
        Box::pin(async move {
            self.calls().sql = Some((principal, sql.clone()));
            if sql.contains("DROP") {
                return Err(BackendError::BadRequest(
                    "only SELECT statements are allowed".into(),
                ));
            }
            if sql.contains("busy") {
                return Err(BackendError::Unavailable("query engine is busy".into()));
            }
            Ok(QueryResult {
                columns: vec!["vin".into(), "n".into()],
                rows: vec![vec![json!(VIN_A), json!(4)]],
            })
        })
    }

    fn upsert_vehicles(&self, entries: Vec<VehicleInfo>) -> Result<usize, BackendError> {
        let n = entries.len();
        self.calls().upserted.extend(entries);
        Ok(n)
    }

    fn trips(
        &self,
        id: String,
        from: Timestamp,
        to: Timestamp,
    ) -> BoxFuture<'_, Result<Drive<Trip>, BackendError>> {
        Box::pin(async move {
            self.calls().trips = Some((id.clone(), from, to));
            if id == VIN_B {
                return Ok(Drive {
                    source: None,
                    items: Vec::new(),
                });
            }
            let end = |secs: i64, lon: Option<f64>| TripEnd {
                ts: Timestamp::from_secs(secs),
                lon,
                lat: lon.map(|_| 39.1),
            };
            Ok(Drive {
                source: Some("fleet_reports".to_owned()),
                items: vec![
                    Trip {
                        start: end(NOW_SECS - 3 * HOUR, Some(117.1)),
                        end: end(NOW_SECS - 3 * HOUR + 1800, Some(117.3)),
                        distance_km: 12.345_678,
                        duration_secs: 1800,
                        max_speed_kmh: Some(61.26),
                        avg_speed_kmh: Some(24.691_356),
                        distance_from: "odometer".to_owned(),
                        complete: true,
                    },
                    Trip {
                        start: end(NOW_SECS - 600, None),
                        end: end(NOW_SECS - 60, Some(117.4)),
                        distance_km: 2.0004,
                        duration_secs: 540,
                        max_speed_kmh: None,
                        avg_speed_kmh: Some(13.336),
                        distance_from: "gps".to_owned(),
                        complete: false,
                    },
                ],
            })
        })
    }

    fn mileage(
        &self,
        id: String,
        from: Timestamp,
        to: Timestamp,
    ) -> BoxFuture<'_, Result<Drive<DayMileage>, BackendError>> {
        Box::pin(async move {
            self.calls().mileage = Some((id, from, to));
            let day = |date: &str, km: f64, trips: usize, from: &str| DayMileage {
                date: date.to_owned(),
                distance_km: km,
                trips,
                distance_from: from.to_owned(),
            };
            Ok(Drive {
                source: Some("vehicle_samples".to_owned()),
                items: vec![
                    day("2026-07-06", 101.123_49, 3, "odometer"),
                    day("2026-07-07", 0.0, 0, "none"),
                ],
            })
        })
    }

    fn fleet_counts(
        &self,
        from: Timestamp,
        to: Timestamp,
        org: Option<String>,
    ) -> BoxFuture<'_, Result<FleetCounts, BackendError>> {
        Box::pin(async move {
            self.calls().kpi = Some((from, to, org.clone()));
            let count = |total, new_energy| FleetCount { total, new_energy };
            let row = |category: Option<&str>, registered, active| CategoryCount {
                category: category.map(str::to_owned),
                registered,
                active,
            };
            if org.is_some() {
                return Ok(FleetCounts {
                    categories: vec![row(Some("taxi"), count(1, 1), count(1, 1))],
                    active_unregistered: None,
                });
            }
            Ok(FleetCounts {
                categories: vec![
                    row(Some("ambulance"), count(2, 0), count(0, 0)),
                    row(Some("sanitation"), count(10, 7), count(6, 5)),
                    row(Some("taxi"), count(3, 3), count(2, 2)),
                    row(None, count(1, 0), count(1, 0)),
                ],
                active_unregistered: Some(4),
            })
        })
    }

    fn alarms(&self, filter: AlarmFilter) -> Result<Page<Alarm>, BackendError> {
        let mut matching: Vec<Alarm> = self
            .alarms
            .lock()
            .unwrap()
            .iter()
            .filter(|a| filter.matches(a))
            .cloned()
            .collect();
        matching.sort_by_key(|a| std::cmp::Reverse(a.opened_at));
        let total = matching.len();
        let items = matching
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit)
            .collect();
        self.calls().alarm_filter = Some(filter);
        Ok(Page { items, total })
    }

    fn alarm(&self, id: i64) -> Result<Alarm, BackendError> {
        self.alarms
            .lock()
            .unwrap()
            .iter()
            .find(|a| a.alarm_id == id)
            .cloned()
            .ok_or_else(|| BackendError::NotFound(format!("alarm {id}")))
    }

    fn ack_alarm(
        &self,
        id: i64,
        by: String,
        comment: Option<String>,
    ) -> Result<Alarm, BackendError> {
        let mut alarms = self.alarms.lock().unwrap();
        let alarm = alarms
            .iter_mut()
            .find(|a| a.alarm_id == id)
            .ok_or_else(|| BackendError::NotFound(format!("alarm {id}")))?;
        if alarm.state == AlarmState::Acknowledged {
            return Err(BackendError::Conflict(format!(
                "alarm {id} is already acknowledged"
            )));
        }
        alarm.state = AlarmState::Acknowledged;
        alarm.acked_at = Some(Timestamp::from_secs(NOW_SECS));
        alarm.acked_by = Some(by.clone());
        alarm.ack_comment.clone_from(&comment);
        self.calls().acked.push((id, by, comment));
        Ok(alarm.clone())
    }

    fn subscribe(&self) -> broadcast::Receiver<StreamEvent> {
        self.calls().subscribed += 1;
        self.events.subscribe()
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_secs(NOW_SECS)
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    /// Asserts the error format and returns the message.
    fn error(&self, status: StatusCode, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.header(header::CONTENT_TYPE), "application/json");
        let body = self.json();
        let error = body["error"].as_object().expect("an error object");
        assert_eq!(error.len(), 2, "{body}");
        assert_eq!(error["code"], code, "{body}");
        error["message"].as_str().unwrap().to_owned()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let uri = req.uri().clone();
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    // A live stream's body never ends: reading it here would hang the test instead of failing it.
    assert_ne!(
        headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"text/event-stream"[..]),
        "{uri} opened a live stream"
    );
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

fn request(method: Method, uri: &str, token: Option<&str>, body: Body) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    req.body(body).unwrap()
}

async fn get(app: &Router, uri: &str, token: Option<&str>) -> Reply {
    send(app, request(Method::GET, uri, token, Body::empty())).await
}

async fn post(app: &Router, uri: &str, token: Option<&str>, body: impl Into<Body>) -> Reply {
    let mut req = request(Method::POST, uri, token, body.into());
    req.headers_mut()
        .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    send(app, req).await
}

fn setup() -> (Arc<TestBackend>, Router) {
    let backend = TestBackend::new();
    let app = router(backend.clone());
    (backend, app)
}

// ---- health, metrics, auth -------------------------------------------------------------------

#[tokio::test]
async fn healthz_needs_no_token_and_reports_readiness() {
    let (backend, app) = setup();
    let r = get(&app, "/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({ "status": "ok" }));

    backend.ready.store(false, Ordering::SeqCst);
    let r = get(&app, "/healthz", None).await;
    assert_eq!(
        r.error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        "not ready"
    );
}

#[tokio::test]
async fn metrics_are_prometheus_text_for_any_role() {
    let (_, app) = setup();
    for token in [ADMIN, OPERATOR, ORG_A] {
        let r = get(&app, "/metrics", Some(token)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.header(header::CONTENT_TYPE)
                .starts_with("text/plain; version=0.0.4")
        );
        assert!(
            r.text()
                .contains("haihe_frames_in_total{protocol=\"gbt32960\"} 3")
        );
    }
    get(&app, "/metrics", None)
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
}

/// Every route but `/healthz`, as (method, uri, body).
const PROTECTED: [(&str, &str, &str); 13] = [
    ("GET", "/metrics", ""),
    ("GET", "/api/v1/alarms", ""),
    ("POST", "/api/v1/alarms/1/ack", ""),
    ("GET", "/api/v1/stream", ""),
    ("GET", "/api/v1/vehicles", ""),
    ("POST", "/api/v1/vehicles", "[]"),
    ("GET", "/api/v1/vehicles/LA9A0000000000001", ""),
    ("GET", "/api/v1/vehicles/LA9A0000000000001/samples", ""),
    ("GET", "/api/v1/vehicles/LA9A0000000000001/track", ""),
    ("GET", "/api/v1/vehicles/LA9A0000000000001/trips", ""),
    ("GET", "/api/v1/vehicles/LA9A0000000000001/mileage", ""),
    ("GET", "/api/v1/kpi", ""),
    ("POST", "/api/v1/sql", r#"{"sql":"SELECT 1"}"#),
];

#[tokio::test]
async fn every_route_but_healthz_needs_a_valid_token() {
    let (backend, app) = setup();
    for (method, uri, body) in PROTECTED {
        let method: Method = method.parse().unwrap();
        let r = send(&app, request(method.clone(), uri, None, Body::from(body))).await;
        let msg = r.error(StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(msg.contains("Authorization: Bearer"), "{msg}");
        assert_eq!(r.header(header::WWW_AUTHENTICATE), "Bearer realm=\"haihe\"");

        let r = send(
            &app,
            request(method.clone(), uri, Some("guess"), Body::from(body)),
        )
        .await;
        assert_eq!(
            r.error(StatusCode::UNAUTHORIZED, "unauthorized"),
            "invalid or revoked token"
        );
        assert!(
            r.header(header::WWW_AUTHENTICATE)
                .contains("error=\"invalid_token\"")
        );

        // Another scheme carrying a valid token is still not a bearer token.
        let mut req = request(method, uri, None, Body::from(body));
        req.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Basic {ADMIN}").parse().unwrap(),
        );
        send(&app, req)
            .await
            .error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // Nothing reached the backend without a principal.
    let calls = backend.calls();
    assert!(calls.filter.is_none() && calls.sql.is_none() && calls.upserted.is_empty());
    assert!(calls.trips.is_none() && calls.mileage.is_none() && calls.kpi.is_none());
    assert!(calls.alarm_filter.is_none() && calls.acked.is_empty() && calls.subscribed == 0);
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_the_error_format() {
    let (_, app) = setup();
    get(&app, "/api/v1/nothing", Some(ADMIN))
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let r = send(
        &app,
        request(
            Method::DELETE,
            "/api/v1/vehicles",
            Some(ADMIN),
            Body::empty(),
        ),
    )
    .await;
    r.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

// ---- vehicle list ----------------------------------------------------------------------------

#[tokio::test]
async fn vehicle_list_has_items_and_total_with_default_paging() {
    let (backend, app) = setup();
    let r = get(&app, "/api/v1/vehicles", Some(OPERATOR)).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(body["total"], 3);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let first = items[0].as_object().unwrap();
    for key in ["vin", "online", "last_seen", "state"] {
        assert!(first.contains_key(key), "{key} missing from {first:?}");
    }
    assert_eq!(first["vin"], VIN_A);
    assert_eq!(first["online"], true);
    assert_eq!(first["last_seen"], "2026-07-07T05:55:15+08:00");
    assert_eq!(first["state"]["soc_pct"], 80.0);
    let filter = backend.calls().filter.clone().unwrap();
    assert_eq!((filter.limit, filter.offset), (100, 0));
    assert_eq!(
        (filter.online, filter.category, filter.org),
        (None, None, None)
    );

    // Empty values, as in DESIGN.md's `?online=&category=&limit=&offset=`, mean "not given".
    let r = get(
        &app,
        "/api/v1/vehicles?online=&category=&limit=&offset=",
        Some(ADMIN),
    )
    .await;
    assert_eq!(r.json()["total"], 3);
}

#[tokio::test]
async fn vehicle_list_filters_and_pages() {
    let (backend, app) = setup();
    let r = get(
        &app,
        "/api/v1/vehicles?online=true&category=taxi&limit=10000&offset=0",
        Some(ADMIN),
    )
    .await;
    let body = r.json();
    assert_eq!(body["total"], 1);
    assert_eq!(body["items"][0]["vin"], VIN_A);
    let filter = backend.calls().filter.clone().unwrap();
    assert_eq!(filter.online, Some(true));
    assert_eq!(filter.category.as_deref(), Some("taxi"));
    assert_eq!(filter.limit, 10_000);

    let body = get(&app, "/api/v1/vehicles?limit=1&offset=1", Some(ADMIN))
        .await
        .json();
    assert_eq!(body["total"], 3);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["vin"], VIN_B);
}

#[tokio::test]
async fn vehicle_list_rejects_bad_parameters_by_name() {
    let (_, app) = setup();
    for (query, needle) in [
        ("online=maybe", "online: expected true or false"),
        ("limit=10001", "limit: at most 10000"),
        ("limit=ten", "limit: expected a non-negative integer"),
        ("offset=-1", "offset: expected a non-negative integer"),
        (
            "category=Space%20Ship",
            "category: expected a lowercase name",
        ),
        ("colour=red", "unknown field `colour`"),
    ] {
        let r = get(&app, &format!("/api/v1/vehicles?{query}"), Some(ADMIN)).await;
        let msg = r.error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.contains(needle), "{query}: {msg}");
    }
}

#[tokio::test]
async fn an_org_sees_only_its_own_vehicles() {
    let (backend, app) = setup();
    let body = get(&app, "/api/v1/vehicles", Some(ORG_A)).await.json();
    assert_eq!(body["total"], 1);
    assert_eq!(body["items"][0]["vin"], VIN_A);
    assert_eq!(
        backend.calls().filter.clone().unwrap().org.as_deref(),
        Some("carmaker-a")
    );

    // An org token without an org is confined to nothing, not given everything.
    let msg = get(&app, "/api/v1/vehicles", Some(ORG_NONE))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    assert!(msg.contains("names no organisation"), "{msg}");
}

// ---- one vehicle -----------------------------------------------------------------------------

#[tokio::test]
async fn one_vehicle_has_registry_and_state() {
    let (_, app) = setup();
    let r = get(&app, &format!("/api/v1/vehicles/{VIN_A}"), Some(OPERATOR)).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["vin", "online", "last_seen", "registry", "state"]);
    assert_eq!(body["registry"]["owner_org"], "carmaker-a");
    assert_eq!(body["registry"]["category"], "taxi");
    // The state uses the column names of `vehicle_samples`.
    assert_eq!(body["state"]["total_voltage_v"], 350.0);
    assert_eq!(body["state"]["ts"], "2026-07-07T05:55:15+08:00");
    assert_eq!(body["state"]["cell_voltages_v"], json!([3.7, null]));

    let body = get(&app, &format!("/api/v1/vehicles/{VIN_B}"), Some(ADMIN))
        .await
        .json();
    assert_eq!(body["state"], Value::Null);
    assert_eq!(body["last_seen"], Value::Null);
}

#[tokio::test]
async fn another_orgs_vehicle_looks_like_no_vehicle() {
    let (_, app) = setup();
    let own = get(&app, &format!("/api/v1/vehicles/{VIN_A}"), Some(ORG_A)).await;
    assert_eq!(own.status, StatusCode::OK);

    let missing = get(&app, "/api/v1/vehicles/NOPE", Some(ORG_A)).await;
    let msg = missing.error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(msg, "vehicle NOPE not found");
    for vin in [VIN_B, VIN_UNREGISTERED] {
        for path in ["", "/samples", "/track"] {
            let r = get(&app, &format!("/api/v1/vehicles/{vin}{path}"), Some(ORG_A)).await;
            assert_eq!(
                r.error(StatusCode::NOT_FOUND, "not_found"),
                format!("vehicle {vin} not found"),
                "{vin}{path}"
            );
        }
    }
    // The same question from a role that sees everything gets the vehicle.
    let r = get(&app, &format!("/api/v1/vehicles/{VIN_B}"), Some(OPERATOR)).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_vins_are_bad_requests() {
    let (_, app) = setup();
    for vin in ["LA9A00000000000012345", "AB%2FCD", "AB%20"] {
        let msg = get(&app, &format!("/api/v1/vehicles/{vin}"), Some(ADMIN))
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.starts_with("vin: "), "{vin}: {msg}");
    }
}

#[tokio::test]
async fn internal_errors_hide_their_detail() {
    let (_, app) = setup();
    let r = get(&app, &format!("/api/v1/vehicles/{VIN_BOOM}"), Some(ADMIN)).await;
    assert_eq!(
        r.error(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        "internal error"
    );
    assert!(!r.text().contains("/var/lib"), "{}", r.text());
}

// ---- registry upload -------------------------------------------------------------------------

#[tokio::test]
async fn admin_uploads_the_registry() {
    let (backend, app) = setup();
    let body = json!([
        {"vin": "LA9A0000000000009", "terminal_id": "013800000009", "plate": "津AD00009",
         "category": "sanitation", "powertrain": "bev", "owner_org": "city-sanitation"},
        {"vin": "TEST-04", "category": null},
    ]);
    let r = post(&app, "/api/v1/vehicles", Some(ADMIN), body.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json(), json!({ "upserted": 2 }));
    let upserted = backend.calls().upserted.clone();
    assert_eq!(upserted.len(), 2);
    assert_eq!(upserted[0].owner_org.as_deref(), Some("city-sanitation"));
    assert_eq!(upserted[0].terminal_id.as_deref(), Some("013800000009"));
    assert_eq!(
        upserted[1],
        VehicleInfo {
            vin: "TEST-04".into(),
            terminal_id: None,
            plate: None,
            category: None,
            powertrain: None,
            owner_org: None,
        }
    );
}

#[tokio::test]
async fn only_the_admin_uploads_the_registry() {
    let (backend, app) = setup();
    let body = json!([{ "vin": "LA9A0000000000009" }]).to_string();
    for token in [OPERATOR, ORG_A] {
        let msg = post(&app, "/api/v1/vehicles", Some(token), body.clone())
            .await
            .error(StatusCode::FORBIDDEN, "forbidden");
        assert!(msg.contains("admin"), "{msg}");
    }
    assert!(backend.calls().upserted.is_empty());
}

#[tokio::test]
async fn registry_errors_name_the_entry_and_field() {
    let (backend, app) = setup();
    let ok = json!({"vin": "LA9A0000000000009", "terminal_id": "013800000009"});
    for (bad, needle) in [
        (json!({"vin": "LA9A0000000000009X"}), "entries[1].vin:"),
        (json!({"vin": "BAD/VIN"}), "entries[1].vin:"),
        (json!({"plate": "津A1"}), "entries[1].vin: is required"),
        (
            json!({"vin": "V2", "terminal_id": "13A"}),
            "entries[1].terminal_id: expected 1–20 digits",
        ),
        (
            json!({"vin": "V2", "category": "Space Ship"}),
            "entries[1].category: expected a lowercase name of at most 32 letters a–z and _ \
             (known: private, taxi",
        ),
        (
            json!({"vin": "V2", "terminal_id": "013800000009"}),
            "entries[1].terminal_id: \"013800000009\" already appears at entries[0]",
        ),
        (
            json!({"vin": "V2", "powertrain": "steam"}),
            "entries[1].powertrain: unknown value \"steam\"",
        ),
        (
            json!({"vin": "V2", "plate": 12345}),
            "entries[1].plate: expected a string or null, got a number",
        ),
        (
            json!({"vin": "V2", "owner_org": ""}),
            "entries[1].owner_org: expected 1–64 characters",
        ),
        (
            json!({"vin": "V2", "colour": "red"}),
            "entries[1]: unknown field \"colour\"",
        ),
        (
            json!("LA9A0000000000009"),
            "entries[1]: expected an object, got a string",
        ),
        (
            ok.clone(),
            "entries[1].vin: \"LA9A0000000000009\" already appears at entries[0]",
        ),
    ] {
        let body = json!([ok, bad, {"vin": "ALSO-BAD!"}]).to_string();
        let msg = post(&app, "/api/v1/vehicles", Some(ADMIN), body)
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.starts_with(needle), "{needle}\n  got {msg}");
    }
    for (body, needle) in [
        ("{\"vin\": \"V\"}", "body: expected a JSON array"),
        ("[{\"vin\": ", "body: expected a JSON array"),
    ] {
        let msg = post(&app, "/api/v1/vehicles", Some(ADMIN), body)
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.starts_with(needle), "{msg}");
    }
    assert!(
        backend.calls().upserted.is_empty(),
        "nothing is written when any entry is bad"
    );
}

#[tokio::test]
async fn request_bodies_are_bounded() {
    let (backend, app) = setup();
    // 16 MiB of registry is accepted up to the limit; one byte more is refused unread.
    let big = format!("[{}]", " ".repeat(16 << 20));
    let r = post(&app, "/api/v1/vehicles", Some(ADMIN), big).await;
    let msg = r.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(msg.contains("16 MiB"), "{msg}");

    let sql = format!(r#"{{"sql":"SELECT 1 {}"}}"#, " ".repeat(1 << 20));
    let r = post(&app, "/api/v1/sql", Some(ADMIN), sql).await;
    let msg = r.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(msg.contains("1 MiB"), "{msg}");
    let calls = backend.calls();
    assert!(calls.upserted.is_empty() && calls.sql.is_none());
}

// ---- samples ---------------------------------------------------------------------------------

#[tokio::test]
async fn samples_default_to_the_last_day_oldest_first() {
    let (backend, app) = setup();
    let r = get(
        &app,
        &format!("/api/v1/vehicles/{VIN_A}/samples"),
        Some(ORG_A),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    let rows = r.json();
    let ts: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ts"].as_str().unwrap())
        .collect();
    // The sample 30 h old is outside the default window.
    assert_eq!(
        ts,
        [
            "2026-07-07T03:55:15+08:00",
            "2026-07-07T04:55:15+08:00",
            "2026-07-07T05:55:15+08:00"
        ]
    );
    let (vin, from, to, limit) = backend.calls().samples.clone().unwrap();
    assert_eq!(vin, VIN_A);
    assert_eq!(to, Timestamp::from_secs(NOW_SECS));
    assert_eq!(from, Timestamp::from_secs(NOW_SECS - 24 * HOUR));
    assert_eq!(limit, 10_000);
}

#[tokio::test]
async fn samples_take_rfc3339_or_epoch_times_and_a_limit() {
    let (backend, app) = setup();
    let from = NOW_SECS - 48 * HOUR;
    let uri = format!(
        "/api/v1/vehicles/{VIN_A}/samples?from={from}&to=2026-07-07T04:00:00%2B08:00&limit=100000"
    );
    let rows = get(&app, &uri, Some(ADMIN)).await.json();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let (_, f, t, limit) = backend.calls().samples.clone().unwrap();
    assert_eq!(f, Timestamp::from_secs(from));
    assert_eq!(t, Timestamp::parse("2026-07-06T20:00:00Z").unwrap());
    assert_eq!(limit, 100_000);

    let uri = format!("/api/v1/vehicles/{VIN_A}/samples?limit=1");
    assert_eq!(
        get(&app, &uri, Some(ADMIN))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn samples_reject_bad_parameters_by_name() {
    let (backend, app) = setup();
    for (query, needle) in [
        ("from=yesterday", "from: expected an RFC 3339 time"),
        ("to=2026-07-07", "to: expected an RFC 3339 time"),
        ("limit=100001", "limit: at most 100000"),
        ("from=1783378515&to=1783378515", "must be before to"),
        ("since=1", "unknown field `since`"),
    ] {
        let uri = format!("/api/v1/vehicles/{VIN_A}/samples?{query}");
        let msg = get(&app, &uri, Some(ADMIN))
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.contains(needle), "{query}: {msg}");
    }
    assert!(backend.calls().samples.is_none());
}

#[tokio::test]
async fn samples_as_csv_have_a_header_and_json_list_cells() {
    let (_, app) = setup();
    let uri = format!("/api/v1/vehicles/{VIN_A}/samples");
    let json_rows = get(&app, &uri, Some(ADMIN)).await.json();

    let mut req = request(Method::GET, &uri, Some(ADMIN), Body::empty());
    req.headers_mut().insert(
        header::ACCEPT,
        "text/csv, application/json;q=0.5".parse().unwrap(),
    );
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header(header::CONTENT_TYPE), "text/csv; charset=utf-8");

    let mut reader = csv::Reader::from_reader(r.body.as_ref());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    // The header is exactly the fields of a sample, in order: the columns of `vehicle_samples`.
    let first = json_rows[0].as_object().unwrap();
    let fields: Vec<&String> = first.keys().collect();
    assert_eq!(header.iter().collect::<Vec<_>>(), fields);

    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    let cell = |row: usize, name: &str| {
        let i = header.iter().position(|h| h == name).unwrap();
        records[row][i].to_owned()
    };
    assert_eq!(cell(0, "vin"), VIN_A);
    assert_eq!(cell(0, "ts"), "2026-07-07T03:55:15+08:00");
    assert_eq!(cell(0, "reissue"), "false");
    assert_eq!(cell(0, "soc_pct"), "80.0");
    assert_eq!(cell(0, "charging_status"), "", "NULL is an empty cell");
    assert_eq!(cell(0, "cell_voltages_v"), "[3.7,null]");
    let motors: Value = serde_json::from_str(&cell(0, "motors")).unwrap();
    assert_eq!(motors, first["motors"]);
}

#[tokio::test]
async fn empty_csv_still_has_its_header() {
    let (_, app) = setup();
    let uri = format!("/api/v1/vehicles/{VIN_B}/samples");
    let mut req = request(Method::GET, &uri, Some(ADMIN), Body::empty());
    req.headers_mut()
        .insert(header::ACCEPT, "text/csv".parse().unwrap());
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.text();
    assert!(text.starts_with("vin,ts,received_at,source,"), "{text}");
    assert_eq!(text.lines().count(), 1);
}

// ---- track -----------------------------------------------------------------------------------

#[tokio::test]
async fn track_is_a_geojson_linestring() {
    let (backend, app) = setup();
    let r = get(
        &app,
        &format!("/api/v1/vehicles/{VIN_A}/track"),
        Some(ORG_A),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header(header::CONTENT_TYPE), "application/geo+json");
    assert_eq!(
        r.json(),
        json!({
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [[117.1, 39.1], [117.2, 39.2], [117.3, 39.3]],
            },
            "properties": {
                "vin": VIN_A,
                "from": "2026-07-06T06:55:15+08:00",
                "to": "2026-07-07T06:55:15+08:00",
                "points": 3,
                "truncated": false,
                "timestamps": [
                    "2026-07-07T03:55:15+08:00",
                    "2026-07-07T04:55:15+08:00",
                    "2026-07-07T05:55:15+08:00",
                ],
            },
        })
    );
    let (_, from, to) = backend.calls().track.clone().unwrap();
    assert_eq!(
        (from.as_secs(), to.as_secs()),
        (NOW_SECS - 24 * HOUR, NOW_SECS)
    );
}

#[tokio::test]
async fn a_track_of_fewer_than_two_points_has_no_geometry() {
    let (_, app) = setup();
    let body = get(
        &app,
        &format!("/api/v1/vehicles/{VIN_UNREGISTERED}/track"),
        Some(ADMIN),
    )
    .await
    .json();
    assert_eq!(body["type"], "Feature");
    assert_eq!(body["geometry"], Value::Null);
    assert_eq!(body["properties"]["points"], 1);
    assert_eq!(
        body["properties"]["timestamps"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn track_ranges_are_bounded() {
    let (backend, app) = setup();
    let uri = format!(
        "/api/v1/vehicles/{VIN_A}/track?from={}&to={NOW_SECS}",
        NOW_SECS - 32 * 24 * HOUR
    );
    let msg = get(&app, &uri, Some(ADMIN))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(msg.contains("at most 31 days"), "{msg}");
    let uri = format!("/api/v1/vehicles/{VIN_A}/track?limit=5");
    get(&app, &uri, Some(ADMIN))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(backend.calls().track.is_none());
}

// ---- SQL -------------------------------------------------------------------------------------

#[tokio::test]
async fn sql_returns_columns_and_rows_for_admin_and_operator() {
    let (backend, app) = setup();
    for (token, role) in [(ADMIN, Role::Admin), (OPERATOR, Role::Operator)] {
        let sql = "SELECT vin, count(*) AS n FROM vehicle_samples GROUP BY vin";
        let r = post(
            &app,
            "/api/v1/sql",
            Some(token),
            json!({ "sql": sql }).to_string(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(
            r.json(),
            json!({ "columns": ["vin", "n"], "rows": [[VIN_A, 4]] })
        );
        let (principal, seen) = backend.calls().sql.clone().unwrap();
        assert_eq!((principal.role, seen.as_str()), (role, sql));
    }
}

#[tokio::test]
async fn sql_is_refused_to_orgs_for_now() {
    let (backend, app) = setup();
    let msg = post(&app, "/api/v1/sql", Some(ORG_A), r#"{"sql":"SELECT 1"}"#)
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    assert!(msg.contains("admin and operator roles only"), "{msg}");
    assert!(msg.contains("not supported yet"), "{msg}");
    assert!(backend.calls().sql.is_none());
}

#[tokio::test]
async fn sql_errors() {
    let (_, app) = setup();
    for (body, needle) in [
        ("SELECT 1", "body: expected {\"sql\": \"…\"}"),
        (r#"{"query":"SELECT 1"}"#, "unknown field `query`"),
        (r#"{"sql":"  "}"#, "sql: the statement is empty"),
        (
            r#"{"sql":"DROP TABLE vehicles"}"#,
            "only SELECT statements are allowed",
        ),
    ] {
        let msg = post(&app, "/api/v1/sql", Some(ADMIN), body)
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    let msg = post(&app, "/api/v1/sql", Some(ADMIN), r#"{"sql":"SELECT busy"}"#)
        .await
        .error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert_eq!(msg, "query engine is busy");
}

// ---- alarms ----------------------------------------------------------------------------------

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["alarm_id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn alarm_list_is_newest_first_with_default_paging() {
    let (backend, app) = setup();
    let r = get(&app, "/api/v1/alarms", Some(OPERATOR)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["total"], 4);
    assert_eq!(ids(&body), [4, 1, 2, 3]);
    // An alarm in the columns of the `alarms` table.
    let keys: Vec<&str> = body["items"][1]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "alarm_id",
            "entity_id",
            "kind",
            "level",
            "critical",
            "state",
            "opened_at",
            "acked_at",
            "acked_by",
            "ack_comment",
            "closed_at",
            "source",
            "detail",
            "org"
        ]
    );
    assert_eq!(body["items"][1]["state"], "open");
    assert_eq!(body["items"][1]["opened_at"], "2026-07-07T04:55:15+08:00");
    assert_eq!(
        backend.calls().alarm_filter.clone().unwrap(),
        AlarmFilter {
            limit: 100,
            ..AlarmFilter::default()
        }
    );

    // Empty values mean "not given", as for the vehicle list.
    let uri = "/api/v1/alarms?from=&to=&entity=&kind=&min_level=&state=&limit=&offset=";
    assert_eq!(get(&app, uri, Some(ADMIN)).await.json()["total"], 4);
    assert_eq!(
        backend.calls().alarm_filter.clone().unwrap(),
        AlarmFilter {
            limit: 100,
            ..AlarmFilter::default()
        }
    );
}

#[tokio::test]
async fn alarm_filters_reach_the_backend() {
    let (backend, app) = setup();
    let from = NOW_SECS - 24 * HOUR;
    let uri = format!(
        "/api/v1/alarms?from={from}&to=2026-07-07T06:00:00%2B08:00&entity={VIN_A}\
         &kind=insulation_low&min_level=3&state=unacked&limit=10000&offset=0"
    );
    let body = get(&app, &uri, Some(ADMIN)).await.json();
    assert_eq!(ids(&body), [1]);
    assert_eq!(
        backend.calls().alarm_filter.clone().unwrap(),
        AlarmFilter {
            from: Some(Timestamp::from_secs(from)),
            to: Some(Timestamp::parse("2026-07-06T22:00:00Z").unwrap()),
            entity: Some(VIN_A.to_owned()),
            kind: Some("insulation_low".to_owned()),
            min_level: Some(3),
            state: Some(AlarmStateFilter::Unacked),
            org: None,
            limit: 10_000,
            offset: 0,
        }
    );

    for (state, filter, expected) in [
        ("open", AlarmStateFilter::Open, vec![4, 1, 2]),
        ("unacked", AlarmStateFilter::Unacked, vec![4, 1]),
        ("acknowledged", AlarmStateFilter::Acknowledged, vec![2]),
        ("closed", AlarmStateFilter::Closed, vec![3]),
    ] {
        let body = get(&app, &format!("/api/v1/alarms?state={state}"), Some(ADMIN))
            .await
            .json();
        assert_eq!(ids(&body), expected, "{state}");
        assert_eq!(
            backend.calls().alarm_filter.clone().unwrap().state,
            Some(filter)
        );
    }

    // Alarm 3 was closed 26 h ago: outside the last day, inside the last two.
    let body = get(&app, &format!("/api/v1/alarms?from={from}"), Some(ADMIN))
        .await
        .json();
    assert_eq!(ids(&body), [4, 1, 2]);
    let uri = format!("/api/v1/alarms?from={}", NOW_SECS - 48 * HOUR);
    assert_eq!(
        ids(&get(&app, &uri, Some(ADMIN)).await.json()),
        [4, 1, 2, 3]
    );

    let body = get(&app, "/api/v1/alarms?limit=1&offset=1", Some(ADMIN))
        .await
        .json();
    assert_eq!((ids(&body), body["total"].clone()), (vec![1], json!(4)));
}

#[tokio::test]
async fn an_org_sees_only_its_own_alarms() {
    let (backend, app) = setup();
    let body = get(&app, "/api/v1/alarms", Some(ORG_A)).await.json();
    assert_eq!(ids(&body), [1, 3]);
    assert_eq!(
        backend.calls().alarm_filter.clone().unwrap().org.as_deref(),
        Some("carmaker-a")
    );
    // The organisation comes from the token, never from the request.
    let msg = get(&app, "/api/v1/alarms?org=fleet-b", Some(ORG_A))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(msg.contains("unknown field `org`"), "{msg}");
    let msg = get(&app, "/api/v1/alarms", Some(ORG_NONE))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    assert!(msg.contains("names no organisation"), "{msg}");
}

#[tokio::test]
async fn alarm_list_rejects_bad_parameters_by_name() {
    let (backend, app) = setup();
    for (query, needle) in [
        (
            "state=pending",
            "state: unknown value \"pending\"; expected one of open, unacked, acknowledged, closed",
        ),
        ("state=OPEN", "state: unknown value \"OPEN\""),
        (
            "min_level=0",
            "min_level: expected an integer from 1 to 4, got \"0\"",
        ),
        ("min_level=5", "min_level: expected an integer from 1 to 4"),
        (
            "min_level=high",
            "min_level: expected an integer from 1 to 4",
        ),
        ("from=yesterday", "from: expected an RFC 3339 time"),
        ("to=2026-07-07", "to: expected an RFC 3339 time"),
        ("from=1783378515&to=1783378515", "must be before to"),
        ("kind=Insulation%20Low", "kind: expected a name"),
        (
            "entity=LA9%20A",
            "entity: expected a VIN, terminal id or charger id",
        ),
        ("limit=10001", "limit: at most 10000"),
        ("offset=-1", "offset: expected a non-negative integer"),
        ("level=3", "unknown field `level`"),
    ] {
        let r = get(&app, &format!("/api/v1/alarms?{query}"), Some(ADMIN)).await;
        let msg = r.error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.contains(needle), "{query}: {msg}");
    }
    assert!(backend.calls().alarm_filter.is_none());
}

#[tokio::test]
async fn acknowledging_an_alarm_records_who_and_why() {
    let (backend, app) = setup();
    let body = json!({ "comment": "driver called; vehicle parked" }).to_string();
    let r = post(&app, "/api/v1/alarms/1/ack", Some(OPERATOR), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let alarm = r.json();
    assert_eq!(alarm["alarm_id"], 1);
    assert_eq!(alarm["state"], "acknowledged");
    assert_eq!(alarm["acked_by"], "test operator-token");
    assert_eq!(alarm["ack_comment"], "driver called; vehicle parked");
    assert_eq!(alarm["acked_at"], "2026-07-07T06:55:15+08:00");
    assert_eq!(
        backend.calls().acked,
        [(
            1,
            "test operator-token".to_owned(),
            Some("driver called; vehicle parked".to_owned())
        )]
    );

    // An empty body is an acknowledgement without a comment.
    let r = post(&app, "/api/v1/alarms/4/ack", Some(ADMIN), "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["ack_comment"], Value::Null);
    assert_eq!(
        backend.calls().acked[1],
        (4, "test admin-token".to_owned(), None)
    );
}

#[tokio::test]
async fn acknowledging_twice_conflicts_and_unknown_alarms_are_not_found() {
    let (backend, app) = setup();
    let r = post(&app, "/api/v1/alarms/2/ack", Some(ADMIN), "").await;
    assert_eq!(
        r.error(StatusCode::CONFLICT, "conflict"),
        "alarm 2 is already acknowledged"
    );
    assert_eq!(
        backend.alarm_by_id(2).acked_by.as_deref(),
        Some("token 2 (operator)")
    );

    assert_eq!(
        post(&app, "/api/v1/alarms/1/ack", Some(ADMIN), "")
            .await
            .status,
        StatusCode::OK
    );
    post(&app, "/api/v1/alarms/1/ack", Some(ADMIN), "")
        .await
        .error(StatusCode::CONFLICT, "conflict");

    let r = post(&app, "/api/v1/alarms/99/ack", Some(ADMIN), "").await;
    assert_eq!(
        r.error(StatusCode::NOT_FOUND, "not_found"),
        "alarm 99 not found"
    );
    for id in ["abc", "0", "-1", "1.5"] {
        let msg = post(&app, &format!("/api/v1/alarms/{id}/ack"), Some(ADMIN), "")
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.starts_with("id: expected an alarm id"), "{id}: {msg}");
    }
    assert_eq!(backend.calls().acked.len(), 1);
}

#[tokio::test]
async fn an_org_acknowledges_only_its_own_alarms() {
    let (backend, app) = setup();
    // Another org's alarm and one of no org answer exactly like an alarm that does not exist.
    for id in [2, 4] {
        let r = post(&app, &format!("/api/v1/alarms/{id}/ack"), Some(ORG_A), "").await;
        assert_eq!(
            r.error(StatusCode::NOT_FOUND, "not_found"),
            format!("alarm {id} not found")
        );
    }
    let r = post(&app, "/api/v1/alarms/99/ack", Some(ORG_A), "").await;
    assert_eq!(
        r.error(StatusCode::NOT_FOUND, "not_found"),
        "alarm 99 not found"
    );
    assert!(backend.calls().acked.is_empty());
    assert_eq!(backend.alarm_by_id(4).state, AlarmState::Open);

    let r = post(&app, "/api/v1/alarms/1/ack", Some(ORG_A), "{}").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["acked_by"], "test org-a-token");

    post(&app, "/api/v1/alarms/1/ack", Some(ORG_NONE), "")
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn ack_comments_are_bounded() {
    let (backend, app) = setup();
    let long = json!({ "comment": "警".repeat(1001) }).to_string();
    let msg = post(&app, "/api/v1/alarms/1/ack", Some(ADMIN), long)
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    assert_eq!(msg, "comment: at most 1000 characters, got 1001");
    for (body, needle) in [
        (
            r#"{"comment": 5}"#,
            "body: expected nothing or {\"comment\": \"…\"}",
        ),
        (r#"{"note": "x"}"#, "unknown field `note`"),
        (r#"{"comment": "a\u0000b"}"#, "comment: control characters"),
    ] {
        let msg = post(&app, "/api/v1/alarms/1/ack", Some(ADMIN), body)
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    let huge = json!({ "comment": "x".repeat(20_000) }).to_string();
    let msg = post(&app, "/api/v1/alarms/1/ack", Some(ADMIN), huge)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(msg.contains("16 KiB"), "{msg}");
    assert!(backend.calls().acked.is_empty());
    assert_eq!(backend.alarm_by_id(1).state, AlarmState::Open);

    let most = json!({ "comment": "警".repeat(1000) }).to_string();
    let r = post(&app, "/api/v1/alarms/1/ack", Some(ADMIN), most).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

// ---- live stream -----------------------------------------------------------------------------

/// One server-sent event as it arrived: its `event`, `id` and `data` fields, whether it was a
/// comment, and the raw text.
#[derive(Debug, Default)]
struct Sse {
    event: Option<String>,
    id: Option<String>,
    data: Option<String>,
    comment: bool,
    raw: String,
}

impl Sse {
    fn json(&self) -> Value {
        serde_json::from_str(self.data.as_deref().expect("a data line")).unwrap()
    }
}

/// An open `/api/v1/stream` response, read one event at a time.
struct EventStream {
    body: BodyDataStream,
    buffer: String,
}

impl EventStream {
    /// The next event, waiting at most `within`.
    async fn next_within(&mut self, within: Duration) -> Sse {
        tokio::time::timeout(within, self.next_event())
            .await
            .unwrap_or_else(|_| panic!("no event within {within:?}; got {:?}", self.buffer))
    }

    async fn next(&mut self) -> Sse {
        self.next_within(Duration::from_secs(10)).await
    }

    async fn next_event(&mut self) -> Sse {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                let mut sse = Sse {
                    raw: raw.clone(),
                    ..Sse::default()
                };
                for line in raw[..end].lines() {
                    if line.starts_with(':') {
                        sse.comment = true;
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        sse.event = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        sse.id = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        assert!(sse.data.is_none(), "one data line per event: {raw:?}");
                        sse.data = Some(v.to_owned());
                    } else {
                        panic!("unexpected line {line:?} in {raw:?}");
                    }
                }
                return sse;
            }
            let chunk = self
                .body
                .next()
                .await
                .expect("the stream ended")
                .expect("the stream failed");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

/// Opens the stream at `uri` (with a bearer header when `token` is given) and checks the
/// response head.
async fn open_stream(app: &Router, uri: &str, token: Option<&str>) -> EventStream {
    let response = app
        .clone()
        .oneshot(request(Method::GET, uri, token, Body::empty()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
    let headers = response.headers();
    assert_eq!(headers[header::CONTENT_TYPE], "text/event-stream");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    EventStream {
        body: response.into_body().into_data_stream(),
        buffer: String::new(),
    }
}

fn alarm_event(event_id: i64, alarm: Alarm) -> StreamEvent {
    StreamEvent::Alarm(Arc::new(AlarmNotice {
        event_id,
        change: AlarmChangeKind::Opened,
        at: alarm.opened_at,
        alarm,
    }))
}

fn sample_event(org: Option<&str>, sample: VehicleSample) -> StreamEvent {
    StreamEvent::Sample {
        org: org.map(str::to_owned),
        sample: Arc::new(sample),
    }
}

/// A sample of `vin` told apart from others by its speed.
fn marked_sample(vin: &str, speed: f64) -> VehicleSample {
    VehicleSample {
        speed_kmh: Some(speed),
        ..sample(vin, NOW_SECS, 117.2, 39.1)
    }
}

#[tokio::test]
async fn the_stream_sends_alarm_notices_and_samples() {
    let (backend, app) = setup();
    let state = get(&app, &format!("/api/v1/vehicles/{VIN_A}"), Some(ADMIN))
        .await
        .json()["state"]
        .clone();
    let mut events = open_stream(&app, "/api/v1/stream", Some(ADMIN)).await;

    let alarm = backend.alarm_by_id(1);
    backend.publish(alarm_event(7, alarm.clone()));
    backend.publish(sample_event(Some("carmaker-a"), backend.samples[3].clone()));

    let e = events.next().await;
    assert!(e.raw.starts_with("event: alarm\n"), "{:?}", e.raw);
    assert!(e.raw.contains("\ndata: {\"event_id\":7,"), "{:?}", e.raw);
    assert_eq!(
        (e.event.as_deref(), e.id.as_deref()),
        (Some("alarm"), Some("7"))
    );
    assert_eq!(
        e.json(),
        json!({
            "event_id": 7,
            "change": "opened",
            "at": "2026-07-07T04:55:15+08:00",
            "alarm": serde_json::to_value(&alarm).unwrap(),
        })
    );

    let e = events.next().await;
    assert!(e.raw.starts_with("event: sample\ndata: {"), "{:?}", e.raw);
    assert_eq!(
        (e.event.as_deref(), e.id.as_deref()),
        (Some("sample"), None)
    );
    // The same shape as the `state` of a vehicle.
    assert_eq!(e.json(), state);
}

#[tokio::test]
async fn fleet_reports_stream_as_samples_by_vin_or_terminal_id() {
    let (backend, app) = setup();
    let mut by_terminal = open_stream(
        &app,
        "/api/v1/stream?types=sample&entity=13800000001",
        Some(ADMIN),
    )
    .await;
    let mut by_vin = open_stream(
        &app,
        &format!("/api/v1/stream?types=sample&entity={VIN_B}"),
        Some(ADMIN),
    )
    .await;
    let mut other_org = open_stream(&app, "/api/v1/stream", Some(ORG_A)).await;
    let fleet = |terminal: &str, vin: Option<&str>| StreamEvent::Fleet {
        org: Some("fleet-b".to_owned()),
        report: Arc::new(fleet_report(terminal, vin, NOW_SECS)),
    };
    backend.publish(fleet("13800000001", Some(VIN_B)));
    backend.publish(fleet("13800000002", None));
    backend.publish(alarm_event(9, backend.alarm_by_id(1)));

    let e = by_terminal.next().await;
    assert_eq!(e.event.as_deref(), Some("sample"));
    assert_eq!(
        (e.json()["terminal_id"].clone(), e.json()["vin"].clone()),
        (json!("13800000001"), json!(VIN_B))
    );
    let e = by_vin.next().await;
    assert_eq!(e.json()["terminal_id"], "13800000001");
    // Carmaker A's stream sees neither of fleet B's reports, only its own alarm.
    let e = other_org.next().await;
    assert_eq!(
        (e.event.as_deref(), e.id.as_deref()),
        (Some("alarm"), Some("9"))
    );
}

#[tokio::test]
async fn the_stream_filters_by_type_and_entity() {
    let (backend, app) = setup();
    let mut alarms_only = open_stream(&app, "/api/v1/stream?types=alarm", Some(ADMIN)).await;
    let mut b_samples = open_stream(
        &app,
        &format!("/api/v1/stream?types=sample&entity={VIN_B}"),
        Some(ADMIN),
    )
    .await;
    let mut a_both = open_stream(
        &app,
        &format!("/api/v1/stream?types=sample,alarm&entity={VIN_A}"),
        Some(OPERATOR),
    )
    .await;

    backend.publish(sample_event(Some("carmaker-a"), marked_sample(VIN_A, 1.0)));
    backend.publish(alarm_event(8, backend.alarm_by_id(2)));
    backend.publish(sample_event(Some("fleet-b"), marked_sample(VIN_B, 2.0)));
    backend.publish(alarm_event(9, backend.alarm_by_id(1)));

    let e = alarms_only.next().await;
    assert_eq!(
        (e.event.as_deref(), e.id.as_deref()),
        (Some("alarm"), Some("8"))
    );
    let e = alarms_only.next().await;
    assert_eq!(
        (e.event.as_deref(), e.id.as_deref()),
        (Some("alarm"), Some("9"))
    );

    let e = b_samples.next().await;
    assert_eq!(e.event.as_deref(), Some("sample"));
    assert_eq!(
        (e.json()["vin"].clone(), e.json()["speed_kmh"].clone()),
        (json!(VIN_B), json!(2.0))
    );

    let e = a_both.next().await;
    assert_eq!(e.event.as_deref(), Some("sample"));
    assert_eq!(e.json()["speed_kmh"], 1.0);
    let e = a_both.next().await;
    assert_eq!(e.id.as_deref(), Some("9"), "alarm 2 is VIN_B's");

    // What each one skipped is not waiting in its stream either.
    backend.publish(alarm_event(10, backend.alarm_by_id(2)));
    assert_eq!(alarms_only.next().await.id.as_deref(), Some("10"));
    backend.publish(sample_event(Some("fleet-b"), marked_sample(VIN_B, 3.0)));
    assert_eq!(b_samples.next().await.json()["speed_kmh"], 3.0);
}

#[tokio::test]
async fn an_org_streams_only_its_own_events() {
    let (backend, app) = setup();
    let mut org = open_stream(&app, "/api/v1/stream", Some(ORG_A)).await;

    backend.publish(sample_event(Some("fleet-b"), marked_sample(VIN_B, 1.0)));
    backend.publish(sample_event(None, marked_sample(VIN_UNREGISTERED, 2.0)));
    backend.publish(alarm_event(11, backend.alarm_by_id(2)));
    backend.publish(alarm_event(12, backend.alarm_by_id(4)));
    backend.publish(sample_event(Some("carmaker-a"), marked_sample(VIN_A, 3.0)));
    backend.publish(alarm_event(13, backend.alarm_by_id(1)));

    let e = org.next().await;
    assert_eq!(e.event.as_deref(), Some("sample"));
    assert_eq!(e.json()["speed_kmh"], 3.0);
    let e = org.next().await;
    assert_eq!(
        (e.event.as_deref(), e.id.as_deref()),
        (Some("alarm"), Some("13"))
    );

    // Naming another org's vehicle as the entity gives nothing of it; the first event to arrive
    // is org A's (the registry would not say so, but the event's org decides).
    let mut other = open_stream(&app, &format!("/api/v1/stream?entity={VIN_B}"), Some(ORG_A)).await;
    backend.publish(sample_event(Some("fleet-b"), marked_sample(VIN_B, 4.0)));
    backend.publish(alarm_event(14, backend.alarm_by_id(2)));
    let ours = Alarm {
        entity_id: VIN_B.to_owned(),
        ..backend.alarm_by_id(1)
    };
    backend.publish(alarm_event(15, ours));
    assert_eq!(other.next().await.id.as_deref(), Some("15"));

    get(&app, "/api/v1/stream", Some(ORG_NONE))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn a_lagging_client_is_told_how_much_it_missed_and_goes_on() {
    let (backend, app) = setup();
    let mut events = open_stream(&app, "/api/v1/stream?types=sample", Some(ADMIN)).await;
    // Five more than the channel holds, before the client reads anything.
    for i in 0..STREAM_CAPACITY + 5 {
        backend.publish(sample_event(None, marked_sample(VIN_A, i as f64)));
    }
    let e = events.next().await;
    assert_eq!(e.event.as_deref(), Some("lagged"));
    assert_eq!(e.raw, "event: lagged\ndata: {\"skipped\":5}\n\n");
    for i in 5..STREAM_CAPACITY + 5 {
        let e = events.next().await;
        assert_eq!(e.event.as_deref(), Some("sample"));
        assert_eq!(e.json()["speed_kmh"], i as f64);
    }
    backend.publish(sample_event(None, marked_sample(VIN_A, 99.0)));
    assert_eq!(events.next().await.json()["speed_kmh"], 99.0);
}

#[tokio::test(start_paused = true)]
async fn an_idle_stream_sends_keep_alive_comments() {
    let (backend, app) = setup();
    let start = tokio::time::Instant::now();
    let mut events = open_stream(&app, "/api/v1/stream", Some(ADMIN)).await;
    // With the clock paused, tokio jumps to the next timer: the keep-alive.
    let e = events.next_within(Duration::from_secs(3600)).await;
    assert!(e.comment && e.event.is_none(), "{e:?}");
    assert_eq!(e.raw, ":\n\n");
    assert_eq!(start.elapsed().as_secs(), 15);
    let e = events.next_within(Duration::from_secs(3600)).await;
    assert!(e.comment, "{e:?}");
    assert_eq!(start.elapsed().as_secs(), 30);

    backend.publish(alarm_event(1, backend.alarm_by_id(1)));
    assert_eq!(events.next().await.event.as_deref(), Some("alarm"));
}

#[tokio::test]
async fn stream_parameters_are_checked() {
    let (backend, app) = setup();
    for (query, needle) in [
        (
            "types=alarm,charger",
            "types: unknown event type \"charger\"; expected a comma-separated list of alarm, sample, connector",
        ),
        ("types=alarms", "types: unknown event type \"alarms\""),
        ("entity=LA9%20A", "entity: expected a VIN"),
        ("vin=LA9", "unknown field `vin`"),
    ] {
        let msg = get(&app, &format!("/api/v1/stream?{query}"), Some(ADMIN))
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.contains(needle), "{query}: {msg}");
    }
    assert_eq!(backend.calls().subscribed, 0);
}

#[tokio::test]
async fn only_the_stream_takes_a_token_in_the_query() {
    let (backend, app) = setup();
    // EventSource cannot send headers.
    let mut events = open_stream(&app, &format!("/api/v1/stream?token={ORG_A}"), None).await;
    backend.publish(alarm_event(3, backend.alarm_by_id(2)));
    backend.publish(alarm_event(4, backend.alarm_by_id(1)));
    assert_eq!(
        events.next().await.id.as_deref(),
        Some("4"),
        "scoped as org A"
    );

    let r = get(&app, "/api/v1/stream?token=guess", None).await;
    assert_eq!(
        r.error(StatusCode::UNAUTHORIZED, "unauthorized"),
        "invalid or revoked token"
    );
    get(&app, "/api/v1/stream?token=", None)
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    // The header decides when both are sent.
    open_stream(&app, "/api/v1/stream?token=guess", Some(ADMIN)).await;
    get(
        &app,
        &format!("/api/v1/stream?token={ADMIN}"),
        Some("guess"),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(backend.calls().subscribed, 2);

    for uri in ["/api/v1/alarms", "/api/v1/vehicles", "/metrics"] {
        let msg = get(&app, &format!("{uri}?token={ADMIN}"), None)
            .await
            .error(StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(msg.contains("Authorization: Bearer"), "{uri}: {msg}");
    }
    post(
        &app,
        &format!("/api/v1/alarms/1/ack?token={ADMIN}"),
        None,
        "",
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(backend.calls().acked.is_empty());
}

// ---- limits and a real socket ----------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn slow_requests_time_out() {
    let backend = TestBackend::new();
    let limits = Limits {
        request_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let app = router_with(backend, limits);
    // The backend never answers; with the clock paused, tokio jumps to the deadline.
    let r = get(
        &app,
        &format!("/api/v1/vehicles/{VIN_SLOW}/samples"),
        Some(ADMIN),
    )
    .await;
    let msg = r.error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(msg.contains("longer than 5s"), "{msg}");
}

#[tokio::test]
async fn requests_over_the_concurrency_cap_are_refused() {
    let backend = TestBackend::new();
    let limits = Limits {
        max_concurrent_requests: 1,
        ..Limits::default()
    };
    let app = router_with(backend.clone(), limits);
    let slow = tokio::spawn({
        let app = app.clone();
        async move {
            get(
                &app,
                &format!("/api/v1/vehicles/{VIN_SLOW}/samples"),
                Some(ADMIN),
            )
            .await
        }
    });
    backend.slow_started.notified().await;

    let r = get(&app, "/api/v1/vehicles", Some(ADMIN)).await;
    let msg = r.error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(msg.contains("busy"), "{msg}");
    assert_eq!(r.header(header::RETRY_AFTER), "1");
    // Health probes are not counted against the cap.
    assert_eq!(get(&app, "/healthz", None).await.status, StatusCode::OK);

    backend.slow_release.notify_one();
    assert_eq!(slow.await.unwrap().status, StatusCode::OK);
    assert_eq!(
        get(&app, "/api/v1/vehicles", Some(ADMIN)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn open_streams_have_a_cap_of_their_own() {
    let backend = TestBackend::new();
    let limits = Limits {
        max_concurrent_requests: 1,
        max_streams: 1,
        ..Limits::default()
    };
    let app = router_with(backend.clone(), limits);
    let first = open_stream(&app, "/api/v1/stream", Some(ADMIN)).await;
    // An open stream is not a request in flight…
    assert_eq!(
        get(&app, "/api/v1/alarms", Some(ADMIN)).await.status,
        StatusCode::OK
    );
    // …but it holds one of the stream slots until the client goes away.
    let msg = get(&app, "/api/v1/stream", Some(ADMIN))
        .await
        .error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(msg.contains("too many live streams"), "{msg}");
    drop(first);
    let mut second = open_stream(&app, "/api/v1/stream", Some(ADMIN)).await;
    backend.publish(alarm_event(5, backend.alarm_by_id(1)));
    assert_eq!(second.next().await.id.as_deref(), Some("5"));
}

#[tokio::test]
async fn serve_answers_over_a_real_socket_and_shuts_down() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::serve(listener, router(TestBackend::new()), async {
        let _ = stopped.await;
    }));

    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(
        format!(
            "GET /api/v1/vehicles?limit=1 HTTP/1.1\r\nHost: {addr}\r\n\
             Authorization: Bearer {ADMIN}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut response = Vec::new();
    conn.take(1 << 20).read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("\"total\":3"), "{response}");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_ends_live_streams() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let backend = TestBackend::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::serve(listener, router(backend.clone()), async {
        let _ = stopped.await;
    }));

    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(
        format!(
            "GET /api/v1/stream HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Duration::from_secs(10);
    while !String::from_utf8_lossy(&received).contains("\r\n\r\n") {
        let n = tokio::time::timeout(deadline, conn.read(&mut buf))
            .await
            .expect("the response head")
            .unwrap();
        assert!(
            n > 0,
            "closed early: {}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&received).into_owned();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");

    // The server's graceful shutdown would wait for ever on a stream that never ends.
    stop.send(()).unwrap();
    tokio::time::timeout(deadline, server)
        .await
        .expect("the server stops while a stream is open")
        .unwrap()
        .unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(deadline, conn.take(1 << 20).read_to_end(&mut rest))
        .await
        .expect("the connection closes")
        .unwrap();
    received.extend_from_slice(&rest);
    let response = String::from_utf8_lossy(&received);
    assert!(
        response.ends_with("0\r\n\r\n"),
        "the body ended: {response:?}"
    );
}

// ---- vehicles of every protocol ---------------------------------------------------------------

/// The keys of a value's JSON object, in order.
fn keys(v: &Value) -> Vec<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

#[tokio::test]
async fn vehicles_of_both_protocols_are_one_list_each_state_in_its_tables_columns() {
    let backend = TestBackend::with_fleet();
    let app = router(backend.clone());
    let body = get(&app, "/api/v1/vehicles", Some(OPERATOR)).await.json();
    assert_eq!(body["total"], 5);
    let items = body["items"].as_array().unwrap();
    let by_id = |id: &str| items.iter().find(|v| v["vin"] == id).unwrap().clone();

    // A GB/T 32960 vehicle is exactly what it was: the item's keys, and a state in the columns
    // of `vehicle_samples`.
    let gbt = by_id(VIN_A);
    assert_eq!(
        keys(&gbt),
        ["vin", "online", "last_seen", "registry", "state"]
    );
    assert_eq!(
        gbt["state"],
        serde_json::to_value(&backend.samples[3]).unwrap()
    );
    assert_eq!(gbt["state"]["source"], "gbt32960-2016");

    // A JT/T 808 vehicle: the same item, its state in the columns of `fleet_reports`.
    let fleet = by_id(VIN_FLEET);
    assert_eq!(
        keys(&fleet),
        ["vin", "online", "last_seen", "registry", "state"]
    );
    let report = fleet_report(TERMINAL_FLEET, Some(VIN_FLEET), NOW_SECS - 61);
    assert_eq!(
        keys(&fleet["state"]),
        keys(&serde_json::to_value(&report).unwrap())
    );
    assert_eq!(
        keys(&fleet["state"])[..3],
        ["terminal_id", "vin", "ts"].map(String::from)
    );
    assert_eq!(fleet["state"]["source"], "jt808-2013");
    assert_eq!(fleet["state"]["mileage_km"], 88_123.4);
    assert_eq!(fleet["state"]["fuel_l"], Value::Null);
    assert_eq!(fleet["registry"]["terminal_id"], TERMINAL_FLEET);

    // A terminal the registry does not know is listed by its terminal id.
    let unknown = by_id(TERMINAL_UNKNOWN);
    assert_eq!(unknown["registry"], Value::Null);
    assert_eq!(unknown["state"]["terminal_id"], TERMINAL_UNKNOWN);
    assert_eq!(unknown["state"]["vin"], Value::Null);
    assert_eq!(unknown["online"], false);

    // One vehicle by a 20-digit terminal id (longer than any VIN), its track and trips too.
    for path in ["", "/track", "/trips", "/mileage"] {
        let r = get(
            &app,
            &format!("/api/v1/vehicles/{TERMINAL_UNKNOWN}{path}"),
            Some(ADMIN),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
    }
    let one = get(
        &app,
        &format!("/api/v1/vehicles/{TERMINAL_UNKNOWN}"),
        Some(ADMIN),
    )
    .await
    .json();
    assert_eq!(one["state"], unknown["state"]);
    // 21 digits is neither a terminal id nor a VIN.
    let msg = get(&app, "/api/v1/vehicles/201900000000000000999", Some(ADMIN))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(msg.starts_with("vin: "), "{msg}");

    // Org scoping is by the registry, whatever the protocol.
    let body = get(&app, "/api/v1/vehicles", Some(ORG_A)).await.json();
    assert_eq!(body["total"], 1);
    for id in [VIN_FLEET, TERMINAL_UNKNOWN] {
        get(&app, &format!("/api/v1/vehicles/{id}/trips"), Some(ORG_A))
            .await
            .error(StatusCode::NOT_FOUND, "not_found");
    }
}

// ---- trips and mileage -----------------------------------------------------------------------

#[tokio::test]
async fn trips_come_with_their_totals_and_rounded_figures() {
    let (backend, app) = setup();
    let r = get(
        &app,
        &format!("/api/v1/vehicles/{VIN_A}/trips"),
        Some(ORG_A),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({
            "vehicle": VIN_A,
            "from": "2026-07-06T06:55:15+08:00",
            "to": "2026-07-07T06:55:15+08:00",
            "source": "fleet_reports",
            "trips": [
                {
                    "start": {"ts": "2026-07-07T03:55:15+08:00", "lon": 117.1, "lat": 39.1},
                    "end": {"ts": "2026-07-07T04:25:15+08:00", "lon": 117.3, "lat": 39.1},
                    "distance_km": 12.346,
                    "duration_secs": 1800,
                    "max_speed_kmh": 61.3,
                    "avg_speed_kmh": 24.7,
                    "distance_from": "odometer",
                    "complete": true,
                },
                {
                    "start": {"ts": "2026-07-07T06:45:15+08:00", "lon": null, "lat": null},
                    "end": {"ts": "2026-07-07T06:54:15+08:00", "lon": 117.4, "lat": 39.1},
                    "distance_km": 2.0,
                    "duration_secs": 540,
                    "max_speed_kmh": null,
                    "avg_speed_kmh": 13.3,
                    "distance_from": "gps",
                    "complete": false,
                },
            ],
            "total": {"trips": 2, "distance_km": 14.346, "duration_secs": 2340},
        })
    );
    let (id, from, to) = backend.calls().trips.clone().unwrap();
    assert_eq!(id, VIN_A);
    assert_eq!(
        (from.as_secs(), to.as_secs()),
        (NOW_SECS - 24 * HOUR, NOW_SECS)
    );

    // A vehicle that sent nothing: no source, no trips.
    let body = get(
        &app,
        &format!("/api/v1/vehicles/{VIN_B}/trips"),
        Some(ADMIN),
    )
    .await
    .json();
    assert_eq!(body["source"], Value::Null);
    assert_eq!(body["trips"], json!([]));
    assert_eq!(
        body["total"],
        json!({"trips": 0, "distance_km": 0.0, "duration_secs": 0})
    );
}

#[tokio::test]
async fn daily_mileage_defaults_to_the_last_thirty_days() {
    let (backend, app) = setup();
    let r = get(
        &app,
        &format!("/api/v1/vehicles/{VIN_A}/mileage"),
        Some(OPERATOR),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({
            "vehicle": VIN_A,
            "from": "2026-06-07T06:55:15+08:00",
            "to": "2026-07-07T06:55:15+08:00",
            "source": "vehicle_samples",
            "days": [
                {"date": "2026-07-06", "distance_km": 101.123, "trips": 3,
                 "distance_from": "odometer"},
                {"date": "2026-07-07", "distance_km": 0.0, "trips": 0, "distance_from": "none"},
            ],
            "total_km": 101.123,
        })
    );
    let (_, from, to) = backend.calls().mileage.clone().unwrap();
    assert_eq!(
        (from.as_secs(), to.as_secs()),
        (NOW_SECS - 30 * 24 * HOUR, NOW_SECS)
    );
    // A year is one request.
    let uri = format!(
        "/api/v1/vehicles/{VIN_A}/mileage?from={}&to={NOW_SECS}",
        NOW_SECS - 366 * 24 * HOUR
    );
    assert_eq!(get(&app, &uri, Some(ADMIN)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn trips_and_mileage_check_their_parameters_and_scope() {
    let (backend, app) = setup();
    for (path, query, needle) in [
        ("trips", "from=yesterday", "from: expected an RFC 3339 time"),
        (
            "trips",
            "from=1783378515&to=1783378515",
            "must be before to",
        ),
        ("trips", "limit=5", "unknown field `limit`"),
        (
            "trips",
            "from=1780000000&to=1783378515",
            "a trips request covers at most 31 days",
        ),
        ("mileage", "to=tomorrow", "to: expected an RFC 3339 time"),
        ("mileage", "day=1", "unknown field `day`"),
        (
            "mileage",
            "from=1751000000&to=1783378515",
            "a mileage request covers at most 366 days",
        ),
    ] {
        let uri = format!("/api/v1/vehicles/{VIN_A}/{path}?{query}");
        let msg = get(&app, &uri, Some(ADMIN))
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.contains(needle), "{path}?{query}: {msg}");
    }
    for path in ["trips", "mileage"] {
        let msg = get(
            &app,
            &format!("/api/v1/vehicles/AB%2FC/{path}"),
            Some(ADMIN),
        )
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.starts_with("vin: "), "{msg}");
        // Another org's vehicle looks like no vehicle.
        for vin in [VIN_B, VIN_UNREGISTERED] {
            let msg = get(&app, &format!("/api/v1/vehicles/{vin}/{path}"), Some(ORG_A))
                .await
                .error(StatusCode::NOT_FOUND, "not_found");
            assert_eq!(msg, format!("vehicle {vin} not found"));
        }
    }
    let calls = backend.calls();
    assert!(calls.trips.is_none() && calls.mileage.is_none());
}

// ---- fleet KPI -------------------------------------------------------------------------------

#[tokio::test]
async fn the_kpi_shows_every_category_with_shares_beside_the_plans_targets() {
    let (backend, app) = setup();
    let r = get(&app, "/api/v1/kpi", Some(OPERATOR)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(
        keys(&body),
        ["period", "plan", "fleet", "totals", "charging"]
    );
    assert_eq!(
        body["charging"],
        Value::Null,
        "this backend has no charging module"
    );
    assert_eq!(
        body["period"],
        json!({"from": "2026-06-07T06:55:15+08:00", "to": "2026-07-07T06:55:15+08:00"})
    );
    assert_eq!(
        backend.calls().kpi.clone().unwrap(),
        (
            Timestamp::from_secs(NOW_SECS - 30 * 24 * HOUR),
            Timestamp::from_secs(NOW_SECS),
            None
        )
    );
    let fleet = body["fleet"].as_array().unwrap();
    let categories: Vec<Value> = fleet.iter().map(|c| c["category"].clone()).collect();
    assert_eq!(
        categories,
        [
            json!("private"),
            json!("taxi"),
            json!("bus"),
            json!("sanitation"),
            json!("logistics"),
            json!("postal"),
            json!("heavy_truck"),
            json!("test"),
            json!("ambulance"),
            Value::Null,
        ]
    );
    let row = |c: &str| fleet.iter().find(|r| r["category"] == c).unwrap().clone();
    let sanitation = row("sanitation");
    assert_eq!(
        sanitation["registered"],
        json!({"total": 10, "new_energy": 7, "share": 0.7})
    );
    assert_eq!(
        sanitation["active"],
        json!({"total": 6, "new_energy": 5, "share": 0.8333})
    );
    assert_eq!(sanitation["target"]["share"], 0.8);
    let text = sanitation["target"]["text"].as_str().unwrap();
    assert!(
        text.contains("80 %") && text.contains("sanitation"),
        "{text}"
    );
    assert!(
        sanitation["target"]["measured"]
            .as_str()
            .unwrap()
            .contains("newly added")
    );
    for c in ["logistics", "postal"] {
        assert_eq!(row(c)["target"]["share"], 0.8, "{c}");
        // No vehicles: no share rather than 0 %.
        assert_eq!(
            row(c)["registered"],
            json!({"total": 0, "new_energy": 0, "share": null})
        );
    }
    for c in ["taxi", "heavy_truck"] {
        let target = &row(c)["target"];
        assert_eq!(target["share"], Value::Null, "{c}");
        assert!(
            target["text"].as_str().unwrap().contains("new-energy"),
            "{c}"
        );
    }
    assert!(
        row("heavy_truck")["target"]["text"]
            .as_str()
            .unwrap()
            .contains("port")
    );
    assert_eq!(row("taxi")["active"]["share"], 1.0);
    for c in ["private", "bus", "test", "ambulance"] {
        assert_eq!(row(c)["target"], Value::Null, "{c}");
    }
    assert_eq!(
        body["totals"],
        json!({
            "registered": {"total": 16, "new_energy": 10, "share": 0.625},
            "active": {"total": 9, "new_energy": 7, "share": 0.7778},
            "active_unregistered": 4,
        })
    );
}

#[tokio::test]
async fn an_org_sees_the_kpi_of_its_own_vehicles_only() {
    let (backend, app) = setup();
    let body = get(&app, "/api/v1/kpi", Some(ORG_A)).await.json();
    assert_eq!(
        backend.calls().kpi.clone().unwrap().2.as_deref(),
        Some("carmaker-a")
    );
    assert_eq!(
        body["totals"],
        json!({
            "registered": {"total": 1, "new_energy": 1, "share": 1.0},
            "active": {"total": 1, "new_energy": 1, "share": 1.0},
        }),
        "no count of unregistered vehicles, which belong to nobody"
    );
    get(&app, "/api/v1/kpi", Some(ORG_NONE))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn kpi_parameters_are_checked() {
    let (backend, app) = setup();
    for (query, needle) in [
        ("from=last-month", "from: expected an RFC 3339 time"),
        ("from=1783378515&to=1783378000", "must be before to"),
        (
            "from=1751000000&to=1783378515",
            "a KPI period covers at most 366 days",
        ),
        ("category=taxi", "unknown field `category`"),
    ] {
        let msg = get(&app, &format!("/api/v1/kpi?{query}"), Some(ADMIN))
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.contains(needle), "{query}: {msg}");
    }
    assert!(backend.calls().kpi.is_none());
    let r = get(
        &app,
        "/api/v1/kpi?from=2026-01-01T00:00:00%2B08:00&to=2026-07-01T00:00:00%2B08:00",
        Some(ADMIN),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["period"]["from"], "2026-01-01T00:00:00+08:00");
}

// ---- registry categories ---------------------------------------------------------------------

#[tokio::test]
async fn a_new_category_is_accepted_with_a_warning_and_can_be_filtered() {
    let (backend, app) = setup();
    let body = json!([
        {"vin": "LA9A0000000000010", "category": "ambulance", "powertrain": "bev"},
        {"vin": "LA9A0000000000011", "category": "taxi"},
    ]);
    let r = post(&app, "/api/v1/vehicles", Some(ADMIN), body.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({
            "upserted": 2,
            "warnings": [
                "entries[0].category: \"ambulance\" is not one of private, taxi, bus, \
                 sanitation, logistics, postal, heavy_truck, test; accepted as a new category"
            ],
        })
    );
    assert_eq!(backend.calls().upserted.len(), 2);
    let r = get(&app, "/api/v1/vehicles?category=ambulance", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        backend.calls().filter.clone().unwrap().category.as_deref(),
        Some("ambulance")
    );
}

// ---- charging -----------------------------------------------------------------------------------

#[tokio::test]
async fn charging_parameters_are_checked_before_the_backend_is_asked() {
    let (_backend, app) = setup();
    for (uri, needle) in [
        (
            "/api/v1/connectors?status=busy",
            "status: unknown value \"busy\"; expected one of offline, available",
        ),
        (
            "/api/v1/stations?operator=MA01%20H3",
            "operator: expected an id",
        ),
        ("/api/v1/chargers?station=a%2Fb", "station: expected an id"),
        (
            "/api/v1/charging/stats?by=city",
            "by: unknown value \"city\"; expected station, district or operator",
        ),
        (
            "/api/v1/charging/stats?from=2026-07-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "must be before",
        ),
        (
            "/api/v1/charging-sessions?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "at most 92 days",
        ),
        (
            "/api/v1/charging/completeness?stale_after_secs=-1",
            "stale_after_secs",
        ),
        ("/api/v1/stations?vin=x", "unknown field `vin`"),
    ] {
        let msg = get(&app, uri, Some(ADMIN))
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.contains(needle), "{uri}: {msg}");
    }
}

#[tokio::test]
async fn charging_reads_need_a_token_and_commands_need_an_admin() {
    let (_backend, app) = setup();
    get(&app, "/api/v1/stations", None)
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let body = r#"{"action":"RemoteStopTransaction","payload":{"transactionId":1}}"#;
    for token in [OPERATOR, ORG_A] {
        post(&app, "/api/v1/chargers/CP-0001/commands", Some(token), body)
            .await
            .error(StatusCode::FORBIDDEN, "forbidden");
    }
    // The sites are the city's: not for an org.
    get(&app, "/api/v1/sites", Some(ORG_A))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    let msg = post(
        &app,
        "/api/v1/chargers/CP-0001/commands",
        Some(ADMIN),
        "{\"act\":1}",
    )
    .await
    .error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(msg.contains("expected {\"action\""), "{msg}");
    // This backend has no charging module: a clear 503, not an empty answer.
    let msg = get(&app, "/api/v1/stations", Some(OPERATOR))
        .await
        .error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(msg.contains("charging"), "{msg}");
}
