#!/usr/bin/env bash
# Browser-test harness: starts `haihe serve` on free ports with simulators of every protocol,
# runs web/tests/dashboard.test.mjs against the dashboard the binary serves at `/`, and stops
# everything.
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

cat > "$WORK/haihe.toml" <<TOML
[http]
listen = "127.0.0.1:0"
[gbt32960]
listen = "127.0.0.1:0"
terminals = "open"
[[gbt32960.platforms]]
username = "carmaker-a"
password = "change-me"
org = "carmaker-a"
vin_prefixes = ["LA9"]
[jt808]
listen = "127.0.0.1:0"
[storage]
flush_interval_secs = 3
[ocpp]
listen = "127.0.0.1:0"
admission = "open"
[tcec]
poll_interval_secs = 5
[[tcec.peers]]
operator_id = "MA01H3BQ2"
operator_secret = "OpSecretHaihe001"
data_secret = "DataSecretHaihe1"
data_secret_iv = "DataIvHaihe00001"
sig_secret = "SigSecretHaihe01"
org = "operator-a"
TOML

"$BIN" serve --config "$WORK/haihe.toml" --data-dir "$WORK/data" >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do [ -f "$WORK/data/ports.json" ] && break; sleep 0.1; done
[ -f "$WORK/data/ports.json" ] || { echo "run.sh: haihe serve did not start:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
port() { node -e "console.log(JSON.parse(require('fs').readFileSync('$WORK/data/ports.json','utf8')).$1)"; }
HTTP=$(port http); GBT=$(port gbt32960); JT=$(port jt808); OCPP=$(port ocpp)
TOKEN="$(cat "$WORK/data/admin.token")"
S="$BIN simulate --progress 0"
# carmaker platform relaying 60 vehicles; 20 direct terminals (the first with a thermal runaway
# 45 s in: the live alarm the test acknowledges); 30 fleet terminals; a T/CEC operator; 10 OCPP chargers
$S --gbt32960 127.0.0.1:$GBT --vehicles 60 --interval 2 --platform carmaker-a:change-me --vin-prefix LA9 \
   >"$WORK/sim-platform.log" 2>&1 & PIDS+=($!)
$S --gbt32960 127.0.0.1:$GBT --vehicles 20 --interval 2 --edition 2025 --faults thermal \
   --fault-after "${FAULT_AFTER:-45}" >"$WORK/sim-direct.log" 2>&1 & PIDS+=($!)
$S --fleet-csv "$WORK/fleet.csv" --terminals 30 >/dev/null 2>&1
"$BIN" fleet import "$WORK/fleet.csv" --data-dir "$WORK/data" >"$WORK/fleet-import.log" 2>&1
$S --jt808 127.0.0.1:$JT --terminals 30 --interval 2 >"$WORK/sim-jt808.log" 2>&1 & PIDS+=($!)
$S --tcec-operator "http://127.0.0.1:$HTTP/evcs/v1/" --stations 4 --tcec-interval 2 \
   >"$WORK/sim-tcec.log" 2>&1 & PIDS+=($!)
$S --ocpp "ws://127.0.0.1:$OCPP" --chargers 10 --meter-interval 2 --arrival-secs 5 \
   >"$WORK/sim-ocpp.log" 2>&1 & PIDS+=($!)

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
if [ -n "${KEEP:-}" ]; then
  KEEP_WORK=1; echo "KEEP=1: Ctrl-C to stop"; wait "${PIDS[0]}"; exit 0
fi
HAIHE_URL="$URL" HAIHE_TOKEN="$TOKEN" node "$ROOT/web/tests/dashboard.test.mjs"
