//! Embeds the built dashboard (`web/dist`, made by `bash scripts/build-web.sh`) in the binary.
//!
//! Writes `$OUT_DIR/dashboard_assets.rs`: a static table of every file under the dist directory
//! as `(path, quoted ETag, include_bytes!(..))`, which `src/dashboard.rs` includes. The dist
//! directory is `$HAIHE_WEB_DIST` when set (absolute, or relative to `crates/api`), else
//! `web/dist` at the workspace root. A missing directory is not an error: the table is then
//! empty and the dashboard serves a page saying how to build it. No dependency: the ETag is a
//! 64-bit FNV-1a hash of the content, which only has to change when the content does.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-env-changed=HAIHE_WEB_DIST");
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let web = manifest.join("../../web");
    let dist = env::var_os("HAIHE_WEB_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| web.join("dist"));

    let mut files = Vec::new();
    if dist.is_dir() {
        // Cargo scans a watched directory recursively, so a rebuilt dist is picked up.
        println!("cargo:rerun-if-changed={}", dist.display());
        walk(&dist, "", &mut files);
    } else {
        // A watched path that does not exist would rerun this script (and rebuild the crate) on
        // every build; watch the web app's directory instead, where the dist will appear.
        println!(
            "cargo:warning=no dashboard build at {} (run `bash scripts/build-web.sh`, then rebuild); embedding a placeholder page",
            dist.display()
        );
        if web.is_dir() {
            println!("cargo:rerun-if-changed={}", web.display());
        }
    }
    files.sort();

    let mut out = String::from("&[\n");
    for (rel, abs) in &files {
        let content = fs::read(abs).unwrap_or_else(|e| panic!("reading {}: {e}", abs.display()));
        let abs = abs
            .canonicalize()
            .unwrap_or_else(|e| panic!("resolving {}: {e}", abs.display()));
        writeln!(
            out,
            "    ({rel:?}, \"\\\"{:016x}\\\"\", include_bytes!({:?})),",
            fnv1a(&content),
            abs.display().to_string(),
        )
        .expect("writing to a string");
    }
    out.push(']');

    let target =
        PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("dashboard_assets.rs");
    fs::write(&target, out).unwrap_or_else(|e| panic!("writing {}: {e}", target.display()));
}

/// Every regular file under `dir` as (path relative to the dist root with `/` separators,
/// absolute path); hidden files (`.gitignore`, editor droppings) are left out.
fn walk(dir: &Path, prefix: &str, files: &mut Vec<(String, PathBuf)>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            println!(
                "cargo:warning=skipping {}: not UTF-8",
                entry.path().display()
            );
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let rel = format!("{prefix}{name}");
        let path = entry.path();
        let kind =
            fs::metadata(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        if kind.is_dir() {
            walk(&path, &format!("{rel}/"), files);
        } else if kind.is_file() {
            files.push((rel, path));
        }
    }
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
