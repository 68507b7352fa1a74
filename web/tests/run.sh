#!/usr/bin/env bash
# Browser-test harness: starts `haihe demo` with a small fleet on free ports, runs
# web/tests/dashboard.test.mjs against the dashboard the binary serves at `/`, and stops everything.
#   web/tests/run.sh            HAIHE_BIN overrides target/debug/haihe (built after web/dist)
#   KEEP=1 web/tests/run.sh     leave the platform running (prints the URL and token) instead of testing
#   STANDIN=1 web/tests/run.sh  serve web/dist from a stand-in server (web development without
#                               rebuilding the binary)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${HAIHE_BIN:-$ROOT/target/debug/haihe}"
[ -x "$BIN" ] || { echo "run.sh: $BIN missing: run cargo build -p app" >&2; exit 1; }
command -v node >/dev/null || { echo "run.sh: node is missing" >&2; exit 1; }
[ -f "$ROOT/web/dist/index.html" ] || bash "$ROOT/scripts/build-web.sh"
WORK="$(mktemp -d /tmp/haihe-web-test.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# `haihe demo` with a small fleet on free ports: every protocol simulated in the same process, the
# faulty vehicles' alarms FAULT_AFTER seconds in (after the test has opened the alarms page).
"$BIN" demo --vehicles "${VEHICLES:-80}" --http 127.0.0.1:0 --fault-after "${FAULT_AFTER:-45}" \
    --interval 2 --data-dir "$WORK/data" >"$WORK/demo.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 600); do [ -f "$WORK/data/ports.json" ] && break; sleep 0.1; done
[ -f "$WORK/data/ports.json" ] || { echo "run.sh: haihe demo did not start:" >&2; cat "$WORK/demo.log" >&2; exit 1; }
port() { node -e "console.log(JSON.parse(require('fs').readFileSync('$WORK/data/ports.json','utf8')).$1)"; }
HTTP=$(port http)
TOKEN="$(cat "$WORK/data/admin.token")"

if [ -n "${STANDIN:-}" ]; then
  node "$ROOT/web/tests/static-server.mjs" "$ROOT/web/dist" "http://127.0.0.1:$HTTP" 0 >"$WORK/static.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q '^listening ' "$WORK/static.log" 2>/dev/null && break; sleep 0.1; done
  URL="$(sed -n 's/^listening //p' "$WORK/static.log")"
  [ -n "$URL" ] || { echo "run.sh: static server did not start" >&2; cat "$WORK/static.log" >&2; exit 1; }
else
  URL="http://127.0.0.1:$HTTP"
  # The binary embeds web/dist at build time; a binary built before it serves a "not built" page.
  node -e "fetch('$URL/').then(r => r.text()).then(t => process.exit(t.includes(\"dashboard was not built into this binary\") ? 1 : 0))" || {
    echo "run.sh: $BIN was built without web/dist: run scripts/build-web.sh, then cargo build -p app" >&2
    exit 1
  }
fi
echo "dashboard: $URL/#token=$TOKEN   (haihe API: http://127.0.0.1:$HTTP, work dir $WORK)"
# Traffic before the checks: vehicles online, chargers booted.
sleep "${WARMUP:-8}"
if [ -n "${KEEP:-}" ]; then
  KEEP_WORK=1; echo "KEEP=1: Ctrl-C to stop"; wait "${PIDS[0]}"; exit 0
fi
HAIHE_URL="$URL" HAIHE_TOKEN="$TOKEN" node "$ROOT/web/tests/dashboard.test.mjs"
