#!/usr/bin/env bash
# Checks that the sans-IO crates (model, wire, rules, every crates/proto-*) never depend on tokio.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
for dir in crates/model crates/wire crates/rules crates/proto-*; do
    [ -f "$dir/Cargo.toml" ] || continue
    crate=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$dir/Cargo.toml" | head -n 1)
    # `cargo tree -i tokio` fails with "did not match any packages" when tokio is not in the
    # crate's graph at all, and prints nothing when it is only a dev-dependency: both are clean.
    if out=$(cargo tree --quiet -p "$crate" -e normal --target all -i tokio 2>&1); then
        if [ -n "$out" ]; then
            echo "BOUNDARY VIOLATION: $crate depends on tokio (it must stay sans-IO):" >&2
            echo "$out" >&2
            status=1
        else
            echo "ok: $crate does not depend on tokio"
        fi
    elif grep -q 'did not match any packages' <<<"$out"; then
        echo "ok: $crate does not depend on tokio"
    else
        echo "error: cargo tree failed for $crate:" >&2
        echo "$out" >&2
        status=1
    fi
done
exit "$status"
