#!/usr/bin/env bash
# Charging load on one machine: `haihe serve` (embedded) fed by `haihe simulate` playing OCPP
# chargers (both versions, meter values every METER s) and a T/CEC 102 operator pushing at a high
# simulated pace. Prints OCPP calls and T/CEC pushes acknowledged per second (each answered only
# once durable) and the rows stored.
#   CHARGERS=1000 METER=1 STATIONS=200 DURATION=60 bash scripts/bench-charging.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CHARGERS=${CHARGERS:-1000}
METER=${METER:-1}
STATIONS=${STATIONS:-200}
DURATION=${DURATION:-60}

cargo build --release -p app >&2
bin=target/release/haihe
dir=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
http=$(free_port)
ocpp=$(free_port)
cat > "$dir/haihe.toml" <<TOML
[http]
listen = "127.0.0.1:$http"
[gbt32960]
listen = "127.0.0.1:0"
[jt808]
listen = "127.0.0.1:0"
[storage]
flush_interval_secs = 10
[ocpp]
listen = "127.0.0.1:$ocpp"
admission = "open"
[[sites]]
id = "default"
max_power_kw = 100000.0
[[tcec.peers]]
operator_id = "MA01H3BQ2"
operator_secret = "OpSecretHaihe001"
data_secret = "DataSecretHaihe1"
data_secret_iv = "DataIvHaihe00001"
sig_secret = "SigSecretHaihe01"
TOML
"$bin" serve --config "$dir/haihe.toml" --data-dir "$dir/data" 2>"$dir/serve.log" &
pid=$!
for _ in $(seq 600); do [ -s "$dir/data/ports.json" ] && break; sleep 0.1; done
token=$(cat "$dir/data/admin.token")
sql() { curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"sql\":\"$1\"}" "http://127.0.0.1:$http/api/v1/sql" |
    python3 -c "import json,sys;print(json.load(sys.stdin)['rows'][0][0])"; }

echo "== $CHARGERS OCPP chargers (meter values every $METER s) and a T/CEC operator with $STATIONS stations, $DURATION s" >&2
"$bin" simulate --ocpp "ws://127.0.0.1:$ocpp" --chargers "$CHARGERS" --meter-interval "$METER" \
    --arrival-secs 5 --tcec-operator "http://127.0.0.1:$http/evcs/v1/" --stations "$STATIONS" \
    --tcec-interval 0.05 --duration "$DURATION" --progress 0 >"$dir/sim.json"
python3 - "$dir/sim.json" "$DURATION" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); d = float(sys.argv[2])
o, t = s["ocpp"], s["tcec"]
calls = sum(c["calls_answered"] for c in o["per_charger"])
print(f"OCPP: {o['booted']} chargers booted, {calls} calls answered ({calls / d:.0f}/s), "
      f"{o['meter_values_delivered']} meter values, {o['transactions_stopped_delivered']} transactions, "
      f"{o['pending']} pending at the end")
pushes = t["status"]["delivered"] + t["orders"]["delivered"] + t["station_info"]["delivered"]
print(f"T/CEC: {pushes} pushes acknowledged ({pushes / d:.0f}/s): {t['status']['delivered']} status, "
      f"{t['orders']['delivered']} orders; {t['status']['pending'] + t['orders']['pending']} pending")
PY
echo "rows: connector_status $(sql 'SELECT count(*) FROM connector_status'), charging_sessions $(sql 'SELECT count(*) FROM charging_sessions')"
echo "server RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
