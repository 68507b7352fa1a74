#!/usr/bin/env bash
# The one test command (CI runs it through .ci/run): installs what the tests need, then runs every check.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n==== %s ====\n' "$*"; }

section "Install test dependencies"
rustup component add rustfmt clippy
# The lake's interoperability test (crates/store/tests/lake_pyarrow.rs) reads its Parquet with
# pyarrow, from a virtual environment of its own (Debian's system Python refuses pip installs).
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    apt-get update && apt-get install -y --no-install-recommends python3-venv python3-pip
fi
[ -x target/pyenv/bin/python3 ] || python3 -m venv target/pyenv
target/pyenv/bin/python3 -m pip install --quiet pyarrow==26.0.1
# The OCPP conformance tests drive the CSMS with the `ocpp` package (Mobility House), the most used
# independent OCPP implementation, over `websockets`.
target/pyenv/bin/python3 -m pip install --quiet ocpp==2.1.0 websockets==17.4
export PATH="$PWD/target/pyenv/bin:$PATH"
# The browser test drives Debian's Chromium (with a CJK font for the Chinese interface) through
# playwright-core; the dashboard is built with the machine's Node.js and npm.
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk'; then
    apt-get update && apt-get install -y --no-install-recommends chromium fonts-wqy-zenhei
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz@0.13.2
fi

section "Web dashboard (npm ci, vite build → web/dist, embedded by the binary)"
bash scripts/build-web.sh

section "Format (cargo fmt --check)"
cargo fmt --all -- --check
cargo fmt --all --manifest-path fuzz/Cargo.toml -- --check

section "Lint (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

section "Tests (cargo test --workspace)"
cargo test --workspace

section "Browser test (headless Chromium: the dashboard against haihe demo)"
cargo build -p app
bash web/tests/run.sh

section "Crate boundaries (no tokio below gateway)"
bash scripts/check-boundaries.sh

section "Fuzz targets build (cargo fuzz build)"
# --sanitizer none builds on the stable compiler (ASan needs -Zsanitizer, which stable refuses);
# the crates forbid unsafe code, so panics are what the fuzzer looks for.
cargo fuzz build --sanitizer none

section "All checks passed"
