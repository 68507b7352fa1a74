//! The dashboard's files through `router_with_dashboard(..).oneshot(request)`, from a small web
//! build written to a temporary directory: `/` and app routes are `index.html`, assets have their
//! content type, caching and ETag (304 when unchanged), the security headers, no token needed;
//! `/api/...` stays the API's JSON 404; no request path reaches a file outside the build. Also
//! that the embedded build (whatever `web/dist` held at compile time) serves `/`.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use api::{
    AlarmFilter, Backend, BackendError, BoxFuture, Dashboard, DashboardError, DashboardOptions,
    DayMileage, Drive, FleetCounts, Limits, Page, Principal, QueryResult, StreamEvent, TrackPoint,
    Trip, VehicleFilter, VehicleStatus, router, router_with_dashboard,
};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use model::{Alarm, Timestamp, VehicleInfo, VehicleSample};
use tokio::sync::broadcast;
use tower::ServiceExt;

const INDEX: &str =
    "<!doctype html><title>Haihe</title><script src=\"./assets/app-1a2b3c.js\"></script>";
const SCRIPT: &str = "console.log('haihe');";
const TOKEN: &str = "admin-token";

/// A backend that knows one token and serves nothing: the dashboard never calls it.
struct NoData;

fn none<T>() -> Result<T, BackendError> {
    Err(BackendError::Unavailable("no data in this test".into()))
}

impl Backend for NoData {
    fn authenticate(&self, token: &str) -> Option<Principal> {
        (token == TOKEN).then(|| Principal {
            role: api::Role::Admin,
            org: None,
            subject: "test".into(),
        })
    }
    fn ready(&self) -> bool {
        true
    }
    fn metrics(&self) -> String {
        String::new()
    }
    fn vehicles(&self, _: VehicleFilter) -> Result<Page<VehicleStatus>, BackendError> {
        none()
    }
    fn vehicle(&self, _: &str) -> Result<VehicleStatus, BackendError> {
        none()
    }
    fn samples(
        &self,
        _: String,
        _: Timestamp,
        _: Timestamp,
        _: usize,
    ) -> BoxFuture<'_, Result<Vec<VehicleSample>, BackendError>> {
        Box::pin(async { none() })
    }
    fn track(
        &self,
        _: String,
        _: Timestamp,
        _: Timestamp,
    ) -> BoxFuture<'_, Result<Vec<TrackPoint>, BackendError>> {
        Box::pin(async { none() })
    }
    fn trips(
        &self,
        _: String,
        _: Timestamp,
        _: Timestamp,
    ) -> BoxFuture<'_, Result<Drive<Trip>, BackendError>> {
        Box::pin(async { none() })
    }
    fn mileage(
        &self,
        _: String,
        _: Timestamp,
        _: Timestamp,
    ) -> BoxFuture<'_, Result<Drive<DayMileage>, BackendError>> {
        Box::pin(async { none() })
    }
    fn fleet_counts(
        &self,
        _: Timestamp,
        _: Timestamp,
        _: Option<String>,
    ) -> BoxFuture<'_, Result<FleetCounts, BackendError>> {
        Box::pin(async { none() })
    }
    fn sql(&self, _: Principal, _: String) -> BoxFuture<'_, Result<QueryResult, BackendError>> {
        Box::pin(async { none() })
    }
    fn upsert_vehicles(&self, _: Vec<VehicleInfo>) -> Result<usize, BackendError> {
        none()
    }
    fn alarms(&self, _: AlarmFilter) -> Result<Page<Alarm>, BackendError> {
        none()
    }
    fn alarm(&self, _: i64) -> Result<Alarm, BackendError> {
        none()
    }
    fn ack_alarm(&self, _: i64, _: String, _: Option<String>) -> Result<Alarm, BackendError> {
        none()
    }
    fn subscribe(&self) -> broadcast::Receiver<StreamEvent> {
        broadcast::channel(1).1
    }
}

/// A web build like `web/dist`, with a secret file beside it that must never be served.
fn write_build(root: &Path) -> std::path::PathBuf {
    let dist = root.join("dist");
    fs::create_dir_all(dist.join("assets")).unwrap();
    fs::create_dir_all(dist.join("data")).unwrap();
    fs::write(dist.join("index.html"), INDEX).unwrap();
    fs::write(dist.join("config.json"), "{\"tiles\":null}").unwrap();
    fs::write(dist.join("assets/app-1a2b3c.js"), SCRIPT).unwrap();
    fs::write(dist.join("assets/app-1a2b3c.css"), "body{margin:0}").unwrap();
    fs::write(dist.join("assets/logo-9f8e.svg"), "<svg/>").unwrap();
    fs::write(dist.join("assets/font-77.woff2"), b"wOF2").unwrap();
    fs::write(dist.join("data/districts.json"), "[]").unwrap();
    fs::write(dist.join(".hidden"), "no").unwrap();
    fs::write(root.join("Cargo.toml"), "secret = true").unwrap();
    dist
}

fn app(options: &DashboardOptions) -> (tempfile::TempDir, Router) {
    let root = tempfile::tempdir().unwrap();
    let dist = write_build(root.path());
    let dashboard = Dashboard::from_dir(&dist, options).unwrap();
    assert!(dashboard.is_built());
    let app = router_with_dashboard(Arc::new(NoData), Limits::default(), dashboard);
    (root, app)
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    headers: &[(header::HeaderName, &str)],
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
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

async fn get(app: &Router, uri: &str) -> Reply {
    send(app, Method::GET, uri, &[]).await
}

fn assert_secure(reply: &Reply) {
    let csp = reply.header(header::CONTENT_SECURITY_POLICY);
    assert!(csp.starts_with("default-src 'self';"), "{csp}");
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    assert!(csp.contains("worker-src 'self' blob:"), "{csp}");
    assert!(
        !csp.contains("script-src"),
        "scripts fall back to 'self': {csp}"
    );
    assert_eq!(reply.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(reply.header(header::REFERRER_POLICY), "no-referrer");
}

#[tokio::test]
async fn the_root_is_index_html_with_the_security_headers_and_no_token() {
    let (_dir, app) = app(&DashboardOptions::default());
    let r = get(&app, "/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header(header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(r.header(header::CACHE_CONTROL), "no-cache");
    assert_eq!(r.text(), INDEX);
    assert_secure(&r);
    assert_eq!(get(&app, "/index.html").await.text(), INDEX);
}

#[tokio::test]
async fn app_routes_are_index_html_but_missing_files_are_404() {
    let (_dir, app) = app(&DashboardOptions::default());
    for path in ["/vehicles", "/vehicles/LA9A0000000000001", "/alarms/"] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.text(), INDEX, "{path}");
    }
    for path in ["/assets/gone-123.js", "/favicon.ico", "/assets/nested"] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_secure(&r);
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_with_their_type_and_etag() {
    let (_dir, app) = app(&DashboardOptions::default());
    let r = get(&app, "/assets/app-1a2b3c.js").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), SCRIPT);
    assert_eq!(
        r.header(header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        r.header(header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_secure(&r);
    let etag = r.header(header::ETAG).to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "{etag}"
    );

    for (path, content_type) in [
        ("/assets/app-1a2b3c.css", "text/css; charset=utf-8"),
        ("/assets/logo-9f8e.svg", "image/svg+xml"),
        ("/assets/font-77.woff2", "font/woff2"),
        ("/data/districts.json", "application/json"),
        ("/config.json", "application/json"),
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.header(header::CONTENT_TYPE), content_type, "{path}");
        assert_ne!(
            r.header(header::ETAG),
            etag,
            "{path}: every file has its own ETag"
        );
    }
    // Not hashed: revalidated on every load.
    assert_eq!(
        get(&app, "/config.json")
            .await
            .header(header::CACHE_CONTROL),
        "no-cache"
    );
}

#[tokio::test]
async fn an_unchanged_file_is_304() {
    let (_dir, app) = app(&DashboardOptions::default());
    for path in ["/", "/assets/app-1a2b3c.js"] {
        let etag = get(&app, path).await.header(header::ETAG).to_owned();
        let r = send(&app, Method::GET, path, &[(header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(r.body.is_empty());
        assert_eq!(r.header(header::ETAG), etag);
        let listed = format!("\"other\", W/{etag}");
        let r = send(&app, Method::GET, path, &[(header::IF_NONE_MATCH, &listed)]).await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{path}");
        let r = send(
            &app,
            Method::GET,
            path,
            &[(header::IF_NONE_MATCH, "\"other\"")],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn head_has_the_headers_without_the_body() {
    let (_dir, app) = app(&DashboardOptions::default());
    let r = send(&app, Method::HEAD, "/assets/app-1a2b3c.js", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.is_empty());
    assert_eq!(r.header(header::CONTENT_LENGTH), SCRIPT.len().to_string());
    let r = send(&app, Method::POST, "/", &[]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn unknown_api_paths_stay_json_404s() {
    let (_dir, app) = app(&DashboardOptions::default());
    for path in ["/api/v1/nope", "/api", "/api/v2/vehicles"] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.header(header::CONTENT_TYPE), "application/json", "{path}");
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    // The API itself is unchanged: its routes still want a token.
    assert_eq!(
        get(&app, "/api/v1/vehicles").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn no_path_reaches_a_file_outside_the_build() {
    let (_dir, app) = app(&DashboardOptions::default());
    for path in [
        "/../Cargo.toml",
        "/assets/../../Cargo.toml",
        "/assets/..%2f..%2fCargo.toml",
        "/%2e%2e/Cargo.toml",
        "/..%5cCargo.toml",
        "/.hidden",
        "//etc/passwd",
    ] {
        let r = get(&app, path).await;
        assert!(!r.text().contains("secret"), "{path}");
        assert!(!r.text().contains("root:"), "{path}");
        assert!(
            r.status == StatusCode::NOT_FOUND || r.text() == INDEX,
            "{path}: {}",
            r.status
        );
    }
}

#[tokio::test]
async fn tile_sources_join_the_policy() {
    let options = DashboardOptions {
        tile_sources: vec!["https://tiles.example.com".into()],
    };
    let (_dir, app) = app(&options);
    let r = get(&app, "/").await;
    let csp = r.header(header::CONTENT_SECURITY_POLICY);
    assert!(
        csp.contains("img-src 'self' data: blob: https://tiles.example.com;"),
        "{csp}"
    );
    assert!(
        csp.contains("connect-src 'self' https://tiles.example.com;"),
        "{csp}"
    );

    let bad = DashboardOptions {
        tile_sources: vec!["https://x.example; script-src *".into()],
    };
    assert!(matches!(
        Dashboard::embedded(&bad),
        Err(DashboardError::BadTileSource(_))
    ));
}

#[tokio::test]
async fn a_directory_without_index_html_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let error = Dashboard::from_dir(root.path(), &DashboardOptions::default()).unwrap_err();
    assert!(matches!(error, DashboardError::NoIndex(_)), "{error}");
    let error = Dashboard::from_dir(&root.path().join("missing"), &DashboardOptions::default())
        .unwrap_err();
    assert!(matches!(error, DashboardError::Read { .. }), "{error}");
}

#[tokio::test]
async fn the_default_router_serves_the_embedded_build_or_how_to_make_it() {
    let app = router(Arc::new(NoData));
    let r = get(&app, "/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header(header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert_secure(&r);
    if !Dashboard::default().is_built() {
        assert!(
            r.text().contains("bash scripts/build-web.sh"),
            "{}",
            r.text()
        );
    }
}
