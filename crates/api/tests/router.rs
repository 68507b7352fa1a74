//! The API's routes through `router(backend).oneshot(request)`, against a small in-memory
//! `Backend`: auth and roles, org scoping, validation, response shapes and the error format.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::{
    Backend, BackendError, BoxFuture, Limits, Page, Principal, QueryResult, Role, TrackPoint,
    VehicleFilter, VehicleStatus, router, router_with,
};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use model::{Motor, Timestamp, VehicleInfo, VehicleSample, Vin};
use serde_json::{Value, json};
use tokio::sync::Notify;
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

/// What the router asked of the backend, for the assertions.
#[derive(Debug, Default)]
struct Calls {
    filter: Option<VehicleFilter>,
    samples: Option<(String, Timestamp, Timestamp, usize)>,
    track: Option<(String, Timestamp, Timestamp)>,
    sql: Option<(Principal, String)>,
    upserted: Vec<VehicleInfo>,
}

struct TestBackend {
    ready: AtomicBool,
    vehicles: Vec<VehicleStatus>,
    samples: Vec<VehicleSample>,
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
                state: Some(samples[3].clone()),
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
                state: Some(samples[4].clone()),
            },
        ];
        Arc::new(Self {
            ready: AtomicBool::new(true),
            vehicles,
            samples,
            calls: Mutex::default(),
            slow_started: Notify::new(),
            slow_release: Notify::new(),
        })
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap()
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
        Some(Principal { role, org })
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
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
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
const PROTECTED: [(&str, &str, &str); 7] = [
    ("GET", "/metrics", ""),
    ("GET", "/api/v1/vehicles", ""),
    ("POST", "/api/v1/vehicles", "[]"),
    ("GET", "/api/v1/vehicles/LA9A0000000000001", ""),
    ("GET", "/api/v1/vehicles/LA9A0000000000001/samples", ""),
    ("GET", "/api/v1/vehicles/LA9A0000000000001/track", ""),
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
            "category=spaceship",
            "category: unknown value \"spaceship\"",
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
    let ok = json!({"vin": "LA9A0000000000009"});
    for (bad, needle) in [
        (json!({"vin": "LA9A0000000000009X"}), "entries[1].vin:"),
        (json!({"vin": "BAD/VIN"}), "entries[1].vin:"),
        (json!({"plate": "津A1"}), "entries[1].vin: is required"),
        (
            json!({"vin": "V2", "terminal_id": "13A"}),
            "entries[1].terminal_id: expected 1–20 digits",
        ),
        (
            json!({"vin": "V2", "category": "spaceship"}),
            "entries[1].category: unknown value \"spaceship\"; expected one of private, taxi",
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
