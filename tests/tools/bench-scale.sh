#!/usr/bin/env bash
# bench-scale.sh: grows one Rekor log on Postgres (fsync on) through the sizes
# given and measures, at each size, with the real `sigstead serve rekor`:
#   * start-up time (process start to /readyz 200) and RSS after start-up;
#   * entry reads by index and by UUID (each with its inclusion proof) and
#     consistency proofs (`sigstead bench reads`), then RSS again;
#   * append throughput through the API (`sigstead bench rekor`);
#   * storage per entry: each table with its indexes and TOAST, and the
#     part beyond the canonical bodies.
# The log is filled between sizes by `sigstead bench fill` (valid entries,
# in-process; see its docs).
#
#   SIGSTEAD_BIN=target/release/sigstead bash tests/tools/bench-scale.sh 10000 1000000 10000000
#
# Environment: SHAPE (certificate|key|dsse, default certificate), CLIENTS
# (identities, default 1000), READ_SECONDS, APPEND_SECONDS, SCALE_DB (the
# database, dropped first), KEEP=1 keeps the database afterwards.
# Prints one JSON line per size (also written to $WORK/scale.jsonl).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${SIGSTEAD_BIN:-$ROOT/target/release/sigstead}"
SHAPE="${SHAPE:-certificate}"; CLIENTS="${CLIENTS:-1000}"
READ_SECONDS="${READ_SECONDS:-20}"; APPEND_SECONDS="${APPEND_SECONDS:-20}"
PG="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
DB="${SCALE_DB:-sigstead_scale}"
URL="$PG/$DB?sslmode=disable"
WORK="${SCALE_WORK:-$(mktemp -d)}"
[ "$#" -gt 0 ] || { echo "usage: $0 SIZE..." >&2; exit 2; }
SERVER=""
cleanup() {
    [ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
    wait 2>/dev/null || true
    [ "${KEEP:-0}" = 1 ] || psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
}
trap cleanup EXIT
PORT="$(python3 "$ROOT/tests/tools/free-port-base.py" 1)"
sql() { psql "$URL" -tAqc "$1"; }

psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
"$BIN" migrate --database-url "$URL" >/dev/null
"$BIN" rekor init --data-dir "$WORK/rekor" --listen "127.0.0.1:$PORT" --database-url "$URL" >/dev/null
echo "work directory $WORK, database $DB, port $PORT" >&2

for target in "$@"; do
    current="$(sql "SELECT coalesce(max(tree_size), 0) FROM logs")"
    if [ "$target" -gt "$current" ]; then
        echo "== filling $current -> $target" >&2
        "$BIN" bench fill --config "$WORK/rekor/rekor.toml" --entries $((target - current)) \
            --entry-shape "$SHAPE" --clients "$CLIENTS" >"$WORK/fill-$target.json"
    else
        echo '{}' >"$WORK/fill-$target.json"
    fi
    size="$(sql "SELECT tree_size FROM logs")"
    # Storage at this size (before the append run adds to it): every table of the log with its indexes and TOAST; bodies as stored.
    entries="$(sql "SELECT count(*) FROM entries")"
    # The bodies' length, and their size as stored (after any TOAST compression).
    body_bytes="$(sql "SELECT sum(octet_length(body)) || ' ' || sum(pg_column_size(body)) FROM entries")"
    tables="$(sql "SELECT json_object_agg(relname, pg_total_relation_size(oid)) FROM pg_class
                   WHERE relkind = 'r' AND relname IN ('entries', 'nodes', 'index_keys', 'checkpoints', 'log_queue', 'logs', 'log_leases')")"
    # Start-up: process start to /readyz 200, on a cold process (warm page cache).
    t0="$(date +%s%N)"
    "$BIN" serve rekor --config "$WORK/rekor/rekor.toml" >"$WORK/serve-$target.log" 2>&1 &
    SERVER="$!"
    until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
        kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve-$target.log" >&2; exit 1; }
        sleep 0.01
    done
    startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    rss_start_kb="$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status")"
    "$BIN" bench reads --url "http://127.0.0.1:$PORT" --duration "$READ_SECONDS" --concurrency 16 \
        >"$WORK/reads-$target.json" 2>/dev/null
    rss_reads_kb="$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status")"
    "$BIN" bench rekor --url "http://127.0.0.1:$PORT" --entry-shape "$SHAPE" --clients "$CLIENTS" \
        --duration "$APPEND_SECONDS" --concurrency 256 --max-requests $((APPEND_SECONDS * 6000)) \
        >"$WORK/append-$target.json" 2>/dev/null
    hwm_kb="$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER/status")"
    kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
    python3 - "$target" "$size" "$startup_ms" "$rss_start_kb" "$rss_reads_kb" "$hwm_kb" "$entries" "${body_bytes% *}" "${body_bytes#* }" "$tables" \
        "$WORK/fill-$target.json" "$WORK/reads-$target.json" "$WORK/append-$target.json" <<'EOF' | tee -a "$WORK/scale.jsonl"
import json, sys
target, size, startup, rss0, rss1, hwm, entries, body, stored, tables = sys.argv[1:11]
fill, reads, append = (json.load(open(p)) for p in sys.argv[11:14])
tables = json.loads(tables)
total = sum(tables.values())
n = int(entries)
print(json.dumps({
    "size": int(target), "tree_size_measured": int(size),
    "fill_appends_per_sec": round(fill.get("appends_per_sec", 0)),
    "startup_ms": int(startup), "rss_after_start_mb": round(int(rss0) / 1024, 1),
    "rss_after_reads_mb": round(int(rss1) / 1024, 1), "rss_peak_mb": round(int(hwm) / 1024, 1),
    "reads": {k: {"p50_ms": round(v["p50_ms"], 2), "p99_ms": round(v["p99_ms"], 2), "requests": v["requests"]}
              for k, v in reads["by_kind"].items()},
    "reads_per_sec": round(reads["requests_per_sec"]), "read_errors": reads["errors"],
    "append_per_sec": round(append["appends_per_sec"]), "append_p50_ms": round(append["p50_ms"], 1),
    "append_p99_ms": round(append["p99_ms"], 1), "append_errors": append["errors"],
    "entries": n, "body_bytes_per_entry": round(int(body) / n, 1),
    "body_stored_bytes_per_entry": round(int(stored) / n, 1),
    "storage_bytes_per_entry": {k: round(v / n, 1) for k, v in sorted(tables.items())},
    "storage_total_per_entry": round(total / n, 1),
    "storage_beyond_body_per_entry": round((total - int(stored)) / n, 1),
}))
EOF
done
