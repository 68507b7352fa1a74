#!/usr/bin/env bash
# Ingest benchmark on one machine: `haihe serve` (embedded) fed by `haihe simulate` through carmaker
# platform connections. Prints realtime frames/s stored, heartbeat reply latency under that load and
# the time to fetch one vehicle's day (8 640 rows) while ingesting.
#   VEHICLES=20000 INTERVAL=0.2 DURATION=60 CONNECTIONS=8 bash scripts/bench-ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VEHICLES=${VEHICLES:-20000}
INTERVAL=${INTERVAL:-0.2}
DURATION=${DURATION:-60}
CONNECTIONS=${CONNECTIONS:-8}

cargo build --release -p app >&2
bin=target/release/haihe
dir=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat > "$dir/haihe.toml" <<TOML
[http]
listen = "127.0.0.1:0"
[gbt32960]
listen = "127.0.0.1:0"
[[gbt32960.platforms]]
username = "bench"
password = "bench"
org = "bench"
vin_prefixes = ["LB"]
[storage]
flush_interval_secs = 10
TOML
"$bin" serve --config "$dir/haihe.toml" --data-dir "$dir/data" 2>"$dir/serve.log" &
pid=$!
for _ in $(seq 600); do [ -s "$dir/data/ports.json" ] && break; sleep 0.1; done
http=$(python3 -c "import json;print(json.load(open('$dir/data/ports.json'))['http'])")
gbt=$(python3 -c "import json;print(json.load(open('$dir/data/ports.json'))['gbt32960'])")
token=$(cat "$dir/data/admin.token")
sql() { curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"sql\":\"$1\"}" "http://127.0.0.1:$http/api/v1/sql"; }

echo "== one vehicle's day: 8 640 reports" >&2
"$bin" simulate --gbt32960 "127.0.0.1:$gbt" --vehicles 1 --interval 0.002 --reports 8640 \
    --vin-prefix LDAY --progress 0 >/dev/null
day_vin=$(sql "SELECT vin FROM vehicle_samples WHERE vin LIKE 'LDAY%' LIMIT 1" | python3 -c "import json,sys;print(json.load(sys.stdin)['rows'][0][0])")

echo "== load: $VEHICLES vehicles every $INTERVAL s for $DURATION s over $CONNECTIONS platform connections" >&2
before=$(sql "SELECT count(*) FROM vehicle_samples" | python3 -c "import json,sys;print(json.load(sys.stdin)['rows'][0][0])")
start=$(date +%s.%N)
"$bin" simulate --gbt32960 "127.0.0.1:$gbt" --vehicles "$VEHICLES" --interval "$INTERVAL" \
    --platform bench:bench --connections "$CONNECTIONS" --vin-prefix LB --duration "$DURATION" \
    --progress 10 >"$dir/sim.out" &
sim=$!
sleep $((DURATION / 2))
echo "== day query while ingesting (5 runs, seconds)" >&2
day_times=()
for _ in 1 2 3 4 5; do
    day_times+=("$(curl -s -o "$dir/day.json" -w '%{time_total}' -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$http/api/v1/vehicles/$day_vin/samples?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&limit=10000")")
done
day_rows=$(python3 -c "import json;print(len(json.load(open('$dir/day.json'))))")
wait "$sim"
end=$(date +%s.%N)
# Let the applier catch up, then count what is stored.
sleep 5
after=$(sql "SELECT count(*) FROM vehicle_samples" | python3 -c "import json,sys;print(json.load(sys.stdin)['rows'][0][0])")
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
python3 - "$dir/sim.out" "$before" "$after" "$start" "$end" "$day_rows" "$rss" "${day_times[@]}" <<'PY'
import json, sys
summary = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
before, after, start, end = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
day_rows, rss = int(sys.argv[6]), int(sys.argv[7])
times = sorted(float(t) * 1000 for t in sys.argv[8:])
print(json.dumps({
    "stored_rows": after - before,
    "stored_fps": round((after - before) / (end - start)),
    "simulator": summary,
    "day_query_rows": day_rows,
    "day_query_ms": {"min": round(times[0], 1), "median": round(times[len(times) // 2], 1), "max": round(times[-1], 1)},
    "server_peak_rss_mib": rss // 1024,
}, indent=2))
PY
