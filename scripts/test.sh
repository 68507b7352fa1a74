#!/usr/bin/env bash
# The one test command (CI runs it through .ci/run): installs what the tests need, then runs every check.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n==== %s ====\n' "$*"; }

section "Install test dependencies"
# Debian packages the tests need go here, e.g.:
#   apt-get update && apt-get install -y --no-install-recommends PACKAGE...
# None are needed yet.
rustup component add rustfmt clippy
# The lake's interoperability test (crates/store/tests/lake_pyarrow.rs) reads its Parquet with pyarrow.
python3 -m pip install --quiet pyarrow==26.0.1
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz@0.13.2
fi

section "Format (cargo fmt --check)"
cargo fmt --all -- --check
cargo fmt --all --manifest-path fuzz/Cargo.toml -- --check

section "Lint (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

section "Tests (cargo test --workspace)"
cargo test --workspace

section "Crate boundaries (no tokio below gateway)"
bash scripts/check-boundaries.sh

section "Fuzz targets build (cargo fuzz build)"
# --sanitizer none builds on the stable compiler (ASan needs -Zsanitizer, which stable refuses);
# the crates forbid unsafe code, so panics are what the fuzzer looks for.
cargo fuzz build --sanitizer none

section "All checks passed"
