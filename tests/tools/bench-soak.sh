#!/usr/bin/env bash
# bench-soak.sh RATE SECONDS: the soak. One `sigstead serve rekor` on a fresh
# Postgres database (fsync on) takes RATE certificate-shaped appends per
# second for SECONDS (`sigstead bench soak`, open loop, requests signed as
# the run goes), with the server's RSS sampled every minute. Prints one JSON
# line per minute and a summary; fails on any error or unacknowledged entry.
#
#   SIGSTEAD_BIN=target/release/sigstead bash tests/tools/bench-soak.sh 2000 3600
#
# Afterwards `sigstead fsck` checks the whole log (FSCK=0 skips it: about
# 8,000 entries/s; KEEP=1 keeps the database).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${SIGSTEAD_BIN:-$ROOT/target/release/sigstead}"
RATE="${1:?rate}"; SECS="${2:?seconds}"
PG="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
DB="${SOAK_DB:-sigstead_soak}"
URL="$PG/$DB?sslmode=disable"
WORK="${SOAK_WORK:-$(mktemp -d)}"
SERVER=""
cleanup() {
    [ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
    wait 2>/dev/null || true
    [ "${KEEP:-0}" = 1 ] || psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
}
trap cleanup EXIT
PORT="$(python3 "$ROOT/tests/tools/free-port-base.py" 1)"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
"$BIN" migrate --database-url "$URL" >/dev/null
"$BIN" rekor init --data-dir "$WORK/rekor" --listen "127.0.0.1:$PORT" --database-url "$URL" >/dev/null
"$BIN" serve rekor --config "$WORK/rekor/rekor.toml" >"$WORK/serve.log" 2>&1 &
SERVER="$!"
until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do sleep 0.05; done
echo "work directory $WORK, database $DB, server pid $SERVER" >&2
"$BIN" bench soak --url "http://127.0.0.1:$PORT" --rate "$RATE" --duration "$SECS" --server-pid "$SERVER" \
    | tee "$WORK/soak.jsonl"
kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
[ "${FSCK:-1}" = 1 ] || { echo "fsck skipped (FSCK=0)"; exit 0; }
"$BIN" fsck --database-url "$URL" --public-key "$WORK/rekor/rekor-key.pub" >"$WORK/fsck.txt" 2>&1 \
    && echo "fsck: clean ($(tail -1 "$WORK/fsck.txt"))" || { echo "fsck FAILED:"; tail -5 "$WORK/fsck.txt"; exit 1; }
