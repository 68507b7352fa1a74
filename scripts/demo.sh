#!/usr/bin/env bash
# Haihe's main job on a fresh machine: builds the web dashboard and the binary, then runs
# `haihe demo` (the platform on the embedded default with simulated city traffic on every
# protocol). Arguments go to `haihe demo`, e.g. `bash scripts/demo.sh --vehicles 200`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-web.sh
cargo build --release -p app
exec target/release/haihe demo "$@"
