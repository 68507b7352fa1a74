//! The web dashboard's files, served by the API router for every path it has no route for.
//!
//! The files are the web app's build (`web/dist`, made by `bash scripts/build-web.sh`), embedded
//! at compile time by `build.rs`; a build without it serves a page saying how to make one.
//! [`Dashboard::from_dir`] serves a directory read once at start instead (tests, web
//! development). Files are looked up in a table built up front, never on the file system at
//! request time, so no request path (`..`, encoded slashes) can reach a file outside the build.
//!
//! - `/` is `index.html`; a path that looks like an app route (no extension, not under
//!   `assets/`) is `index.html` too; `/api/...` paths the API has no route for stay the API's
//!   JSON 404.
//! - Hashed files under `assets/` are cached for a year (`immutable`); everything else is
//!   revalidated (`no-cache`) with its ETag, answered with 304 when unchanged.
//! - Every response carries a Content-Security-Policy allowing only this origin (plus the tile
//!   sources the operator configures, see [`DashboardOptions`]), `nosniff` and `no-referrer`.
//! - Loading the files needs no token: the dashboard's data calls carry it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::{fs, io};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The embedded build: (path under the dist root, quoted ETag, content).
const EMBEDDED: &[(&str, &str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/dashboard_assets.rs"));

/// Served for `/` and app routes when the binary was built without the dashboard.
const NOT_BUILT_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Haihe: dashboard not built</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>The dashboard was not built into this binary</h1>
<p>Build the web app, then rebuild the binary:</p>
<pre>bash scripts/build-web.sh
cargo build</pre>
<p>The API is served as usual under <code>/api/v1/</code>.</p>
<p lang="zh-CN">此程序未包含仪表盘。请先运行 <code>bash scripts/build-web.sh</code>，再重新编译。</p>
</body>
</html>
"#;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

/// Operator settings of the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardOptions {
    /// CSP sources the browser may fetch map tiles from, besides this origin, e.g.
    /// `https://tiles.example.com` for a basemap tile URL the operator configures. They are
    /// added to `img-src` (raster tiles as images) and `connect-src` (tiles fetched by a map
    /// library). Empty: the bundled district outlines only.
    pub tile_sources: Vec<String>,
}

/// Why a [`Dashboard`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// A tile source that would break (or extend) the CSP header.
    #[error(
        "tile source {0:?} is not a CSP source: give a scheme and host such as https://tiles.example.com, without spaces, quotes, ';' or ','"
    )]
    BadTileSource(String),
    /// The directory given to [`Dashboard::from_dir`] could not be read.
    #[error("reading the dashboard files at {path}: {source}")]
    Read {
        /// The file or directory that failed.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The directory given to [`Dashboard::from_dir`] has no `index.html`.
    #[error("{0} has no index.html: is it the web app's build (web/dist)?")]
    NoIndex(PathBuf),
}

/// The dashboard's files and headers; cheap to clone.
#[derive(Debug, Clone)]
pub struct Dashboard {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    files: HashMap<String, Asset>,
    csp: HeaderValue,
}

#[derive(Debug)]
struct Asset {
    body: Bytes,
    etag: HeaderValue,
    content_type: &'static str,
}

impl Default for Dashboard {
    /// The embedded build without tile sources.
    fn default() -> Self {
        Self::from_table(EMBEDDED, &DashboardOptions::default())
            .expect("the default options are valid")
    }
}

impl Dashboard {
    /// The build embedded at compile time (or the "not built" page).
    pub fn embedded(options: &DashboardOptions) -> Result<Self, DashboardError> {
        Self::from_table(EMBEDDED, options)
    }

    /// The files under `dir` (a web app build with an `index.html`), read now.
    pub fn from_dir(dir: &Path, options: &DashboardOptions) -> Result<Self, DashboardError> {
        let mut found = Vec::new();
        walk(dir, "", &mut found)?;
        if !found.iter().any(|(rel, _)| rel == "index.html") {
            return Err(DashboardError::NoIndex(dir.to_owned()));
        }
        let files = found
            .into_iter()
            .map(|(rel, content)| {
                let etag = format!("\"{:016x}\"", fnv1a(&content));
                asset(rel, &etag, Bytes::from(content))
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                files,
                csp: csp(options)?,
            }),
        })
    }

    fn from_table(
        table: &'static [(&'static str, &'static str, &'static [u8])],
        options: &DashboardOptions,
    ) -> Result<Self, DashboardError> {
        let files = table
            .iter()
            .map(|&(rel, etag, content)| asset(rel.to_owned(), etag, Bytes::from_static(content)))
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                files,
                csp: csp(options)?,
            }),
        })
    }

    /// Whether there is a web app build to serve (else `/` is the "not built" page).
    pub fn is_built(&self) -> bool {
        self.inner.files.contains_key("index.html")
    }

    /// The answer to a request the API has no route for.
    pub(crate) fn respond(&self, method: &Method, path: &str, headers: &HeaderMap) -> Response {
        if path == "/api" || path.starts_with("/api/") {
            return ApiError::NotFound("no such endpoint".into()).into_response();
        }
        let head = *method == Method::HEAD;
        if !head && *method != Method::GET {
            return ApiError::MethodNotAllowed.into_response();
        }
        let rel = match path.trim_start_matches('/') {
            "" => "index.html",
            rel => rel,
        };
        let file = match self.inner.files.get(rel) {
            Some(file) => Some((rel, file)),
            None if looks_like_a_route(rel) => self
                .inner
                .files
                .get("index.html")
                .map(|file| ("index.html", file)),
            None => None,
        };
        let mut response = match file {
            Some((rel, file)) => serve(rel, file, head, headers),
            None if !self.is_built() && looks_like_a_route(rel) => {
                let body = if head {
                    Body::empty()
                } else {
                    Body::from(NOT_BUILT_PAGE)
                };
                (
                    [
                        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                        (header::CACHE_CONTROL, "no-store"),
                    ],
                    body,
                )
                    .into_response()
            }
            None => ApiError::NotFound("no such file".into()).into_response(),
        };
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, self.inner.csp.clone());
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        response
    }
}

/// `index.html` (or the "not built" page) answers paths without an extension outside `assets/`:
/// app routes a reload or a shared link may ask for.
fn looks_like_a_route(rel: &str) -> bool {
    rel == "index.html"
        || (!rel.starts_with("assets/") && !rel.rsplit('/').next().unwrap_or(rel).contains('.'))
}

/// A file's response: 304 when `If-None-Match` names its ETag, else the file.
fn serve(rel: &str, file: &Asset, head: bool, request: &HeaderMap) -> Response {
    let cache = if rel.starts_with("assets/") {
        IMMUTABLE
    } else {
        NO_CACHE
    };
    let cache = HeaderValue::from_static(cache);
    if matches_etag(request, &file.etag) {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, file.etag.clone()),
                (header::CACHE_CONTROL, cache),
            ],
        )
            .into_response();
    }
    let body = if head {
        Body::empty()
    } else {
        Body::from(file.body.clone())
    };
    let mut response = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(file.content_type),
            ),
            (header::ETAG, file.etag.clone()),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response();
    if head {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(file.body.len()));
    }
    response
}

/// Whether an `If-None-Match` header names `etag` (weak or strong) or is `*`.
fn matches_etag(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

fn asset(rel: String, etag: &str, body: Bytes) -> (String, Asset) {
    let content_type = content_type(&rel);
    let etag = HeaderValue::from_str(etag).expect("a hex ETag is a valid header value");
    (
        rel,
        Asset {
            body,
            etag,
            content_type,
        },
    )
}

/// The Content-Type of a file by its extension.
fn content_type(rel: &str) -> &'static str {
    let extension = rel.rsplit_once('.').map_or("", |(_, ext)| ext);
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "geojson" => "application/geo+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "pbf" => "application/x-protobuf",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The Content-Security-Policy: this origin only, plus the operator's tile sources.
fn csp(options: &DashboardOptions) -> Result<HeaderValue, DashboardError> {
    let mut tiles = String::new();
    for source in &options.tile_sources {
        let bad = source.is_empty()
            || source.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, ';' | ',' | '\'' | '"')
            });
        if bad || !source.is_ascii() {
            return Err(DashboardError::BadTileSource(source.clone()));
        }
        tiles.push(' ');
        tiles.push_str(source);
    }
    let policy = format!(
        "default-src 'self'; img-src 'self' data: blob:{tiles}; style-src 'self' 'unsafe-inline'; \
         font-src 'self' data:; connect-src 'self'{tiles}; worker-src 'self' blob:"
    );
    HeaderValue::from_str(&policy)
        .map_err(|_| DashboardError::BadTileSource(options.tile_sources.join(" ")))
}

/// Every regular file under `dir` as (path relative to the root with `/`, content); hidden files
/// are left out (as `build.rs` does).
fn walk(
    dir: &Path,
    prefix: &str,
    files: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), DashboardError> {
    let read = |path: &Path| {
        let path = path.to_owned();
        move |source| DashboardError::Read { path, source }
    };
    for entry in fs::read_dir(dir).map_err(read(dir))? {
        let entry = entry.map_err(read(dir))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let rel = format!("{prefix}{name}");
        let meta = fs::metadata(&path).map_err(read(&path))?;
        if meta.is_dir() {
            walk(&path, &format!("{rel}/"), files)?;
        } else if meta.is_file() {
            files.push((rel, fs::read(&path).map_err(read(&path))?));
        }
    }
    Ok(())
}

/// 64-bit FNV-1a, as `build.rs` computes the embedded files' ETags.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(dashboard: &Dashboard, path: &str) -> Response {
        dashboard.respond(&Method::GET, path, &HeaderMap::new())
    }

    #[test]
    fn without_a_build_the_root_and_routes_say_how_to_build() {
        let dashboard = Dashboard::from_table(&[], &DashboardOptions::default()).unwrap();
        assert!(!dashboard.is_built());
        for path in ["/", "/index.html", "/vehicles"] {
            let response = get(&dashboard, path);
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "text/html; charset=utf-8"
            );
            assert!(
                response
                    .headers()
                    .contains_key(header::CONTENT_SECURITY_POLICY)
            );
        }
        assert!(NOT_BUILT_PAGE.contains("bash scripts/build-web.sh"));
        assert_eq!(
            get(&dashboard, "/assets/app.js").status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn a_table_serves_its_files_with_their_etags() {
        const TABLE: &[(&str, &str, &[u8])] = &[
            ("index.html", "\"1\"", b"<html></html>"),
            ("assets/app-abc.js", "\"2\"", b"let x;"),
        ];
        let dashboard = Dashboard::from_table(TABLE, &DashboardOptions::default()).unwrap();
        assert!(dashboard.is_built());
        let response = get(&dashboard, "/assets/app-abc.js");
        assert_eq!(response.headers()[header::ETAG], "\"2\"");
        assert_eq!(response.headers()[header::CACHE_CONTROL], IMMUTABLE);
        assert_eq!(get(&dashboard, "/").headers()[header::ETAG], "\"1\"");
    }

    #[test]
    fn the_embedded_table_matches_its_content() {
        for &(rel, etag, content) in EMBEDDED {
            assert_eq!(etag, format!("\"{:016x}\"", fnv1a(content)), "{rel}");
        }
        // Whatever was embedded, `/` is a page.
        let response = get(&Dashboard::default(), "/");
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[test]
    fn tile_sources_cannot_inject_directives() {
        for bad in [
            "",
            "https://a.example; script-src *",
            "'unsafe-eval'",
            "a b",
            "a,b",
        ] {
            let options = DashboardOptions {
                tile_sources: vec![bad.to_owned()],
            };
            assert!(
                matches!(
                    Dashboard::embedded(&options),
                    Err(DashboardError::BadTileSource(_))
                ),
                "{bad:?}"
            );
        }
    }
}
