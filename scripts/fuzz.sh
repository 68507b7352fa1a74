#!/usr/bin/env bash
# Fuzzes one codec for SECONDS (default 600): TARGET is gbt32960 (default) or jt808, seeded from
# crates/proto-TARGET/test_data/ok.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
target=${2:-gbt32960}
corpus=fuzz/corpus/$target
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz@0.13.2
fi

# Seed the corpus with the known-good frames: each .hex file is a '#' comment line, then hex digits.
mkdir -p "$corpus"
for hex in crates/proto-"$target"/test_data/ok/*.hex; do
    [ -f "$hex" ] || continue
    grep -v '^[[:space:]]*#' "$hex" | tr -d '[:space:]' |
        perl -e 'local $/; print pack("H*", <STDIN>)' >"$corpus/seed-$(basename "$hex" .hex)"
done

# --sanitizer none works on the stable compiler; -timeout turns a hang into a reported crash.
log=$(mktemp)
status=0
cargo fuzz run --sanitizer none "$target" "$corpus" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 2>&1 | tee "$log" || status=$?

printf '\n==== Final stats ====\n'
grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units)' "$log" ||
    echo "no final stats: the fuzzer stopped early (see the crash report above)"
rm -f "$log"
exit "$status"
