#!/usr/bin/env bash
# bench-replicas.sh: Rekor appends/s and p99 with one replica, then with three
# replicas on one Postgres database (clients spread over the three URLs), on
# fresh databases, with the same load (`sigstead bench rekor`, closed loop).
#
#   SIGSTEAD_BIN=target/release/sigstead bash tests/tools/bench-replicas.sh [SECONDS] [CONCURRENCY] [SHAPE]
#
# Prints the two bench reports and a one-line summary (the ratio of the rates).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${SIGSTEAD_BIN:-$ROOT/target/release/sigstead}"
SECONDS_EACH="${1:-30}"; CONC="${2:-256}"; SHAPE="${3:-certificate}"
PG="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
BASE="$(python3 "$ROOT/tests/tools/free-port-base.py" 3)"

run() { # run NAME REPLICAS
    local name="$1" n="$2" db="sigstead_bench_$1_$$" k urls=()
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    local url="$PG/$db?sslmode=disable"
    "$BIN" migrate --database-url "$url" >/dev/null
    "$BIN" rekor init --data-dir "$WORK/$name" --listen "127.0.0.1:$BASE" --database-url "$url" >/dev/null
    for k in $(seq 0 $((n - 1))); do
        sed "s|^listen = .*|listen = \"127.0.0.1:$((BASE + k))\"|" "$WORK/$name/rekor.toml" >"$WORK/$name/rekor-$k.toml"
        "$BIN" serve rekor --config "$WORK/$name/rekor-$k.toml" >"$WORK/$name-$k.log" 2>&1 &
        PIDS+=("$!")
        urls+=("--url=http://127.0.0.1:$((BASE + k))")
    done
    for k in $(seq 0 $((n - 1))); do
        for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((BASE + k))/readyz" >/dev/null && break; sleep 0.1; done
    done
    "$BIN" bench rekor "${urls[@]}" --entry-shape "$SHAPE" --duration "$SECONDS_EACH" --concurrency "$CONC" \
        --max-requests $((SECONDS_EACH * 6000)) >"$WORK/$name.json" 2>/dev/null
    echo "== $name ($n replica(s))"; cat "$WORK/$name.json"
    cleanup; PIDS=()
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
}
run one 1
run three 3
python3 - "$WORK/one.json" "$WORK/three.json" <<'PY'
import json, sys
one, three = (json.load(open(p)) for p in sys.argv[1:])
print(f"summary: 1 replica {one['appends_per_sec']:.0f}/s p99 {one['p99_ms']:.1f} ms; "
      f"3 replicas {three['appends_per_sec']:.0f}/s p99 {three['p99_ms']:.1f} ms; "
      f"ratio {three['appends_per_sec'] / one['appends_per_sec']:.1%}; errors {sum(three['errors'].values())}")
PY
rm -rf "$WORK"
