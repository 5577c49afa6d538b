#!/usr/bin/env bash
# readyz.sh postgres: truthful health while the database goes away and comes
# back. A `sigstead serve rekor` reaches Postgres through a TCP proxy that the
# test kills (the database becomes unreachable) and restarts:
#   - /readyz answers 503 within 2 s of the outage, and 200 again after it;
#   - /healthz stays 200 throughout (liveness only);
#   - a request that needs the database fails fast (503 in under 6 s), it
#     does not hang for sqlx's default 30 s;
#   - the tree head (GET /api/v1/log) is still served, from memory;
#   - after the outage the log serves again.
# Prints PASS/FAIL lines and a closing `N passed, N failed`.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
e2e_init readyz "${1:-postgres}"
[ "$BACKEND" = postgres ] || { echo "readyz.sh needs postgres (a database that can become unreachable)"; exit 2; }
require_sigstead || finish

DB="sigstead_readyz_$$"
psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >"$RUN/log/createdb.log" 2>&1 \
    || { fail setup_postgres "$(tail -2 "$RUN/log/createdb.log")"; DB=""; finish; }
BASE="$(python3 "$ROOT/tests/tools/free-port-base.py" 2)"
PROXY_PORT="$BASE"; REKOR_PORT=$((BASE + 1)); URL="http://127.0.0.1:$REKOR_PORT"
PG_HOSTPORT="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(p.hostname, p.port or 5432)' "$PG_URL")"

# A TCP proxy in front of Postgres; killing it makes the database unreachable.
cat >"$RUN/proxy.py" <<'PY'
import asyncio, sys
listen, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data); await w.drain()
    except Exception:
        pass
    finally:
        w.close()
async def handle(cr, cw):
    try:
        sr, sw = await asyncio.open_connection(host, port)
    except OSError:
        cw.close(); return
    await asyncio.gather(pipe(cr, sw), pipe(sr, cw))
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
PROXY_PID=""; SERVER_PID=""
E2E_PIDS=(PROXY_PID SERVER_PID)
start_proxy() {
    # shellcheck disable=SC2086
    python3 "$RUN/proxy.py" "$PROXY_PORT" $PG_HOSTPORT >>"$RUN/log/proxy.log" 2>&1 &
    PROXY_PID=$!
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL$1"; }
# timed PATH: "<http code> <milliseconds>"
timed() { local t0 c; t0=$(date +%s%N); c="$(code "$1")"; echo "$c $(( ($(date +%s%N) - t0) / 1000000 ))"; }

start_proxy && pass proxy_starts || { fail proxy_starts "$(tail -2 "$RUN/log/proxy.log")"; finish; }
DB_URL="postgres://postgres@127.0.0.1:$PROXY_PORT/$DB?sslmode=disable"
step() { local name="$1"; shift; if "$@" >"$RUN/log/$name.log" 2>&1; then pass "$name"; else fail "$name" "$(tail -2 "$RUN/log/$name.log")"; finish; fi; }
step migrate "$SIGSTEAD_BIN" migrate --database-url "$DB_URL"
step rekor_init "$SIGSTEAD_BIN" rekor init --data-dir "$RUN/rekor" --listen "127.0.0.1:$REKOR_PORT" --database-url "$DB_URL"
"$SIGSTEAD_BIN" serve rekor --config "$RUN/rekor/rekor.toml" >"$RUN/log/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do [ "$(code /readyz)" = 200 ] && break; sleep 0.1; done
[ "$(code /readyz)" = 200 ] && pass ready_with_the_database || { fail ready_with_the_database "$(tail -2 "$RUN/log/server.log")"; finish; }
[ "$(code '/api/v1/log/entries?logIndex=0')" = 200 ] && pass serves_with_the_database || fail serves_with_the_database "$(code '/api/v1/log/entries?logIndex=0')"

# The outage.
kill -9 "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=""
read -r c ms <<<"$(timed /readyz)"
[ "$c" = 503 ] && [ "$ms" -lt 2000 ] && pass "readyz_503_within_2s_of_the_outage(${ms}ms)" || fail readyz_503_within_2s_of_the_outage "HTTP $c after $ms ms"
read -r c ms <<<"$(timed /readyz)"
[ "$c" = 503 ] && [ "$ms" -lt 2000 ] && pass "readyz_stays_503_while_down(${ms}ms)" || fail readyz_stays_503_while_down "HTTP $c after $ms ms"
[ "$(code /healthz)" = 200 ] && pass healthz_is_liveness_only || fail healthz_is_liveness_only "HTTP $(code /healthz)"
read -r c ms <<<"$(timed '/api/v1/log/entries?logIndex=0')"
[ "$c" = 503 ] && [ "$ms" -lt 6000 ] && pass "request_fails_fast_while_down(${c},${ms}ms)" || fail request_fails_fast_while_down "HTTP $c after $ms ms"
read -r c ms <<<"$(timed /api/v1/log)"
[ "$c" = 200 ] && pass "tree_head_served_from_memory_while_down(${ms}ms)" || fail tree_head_served_from_memory_while_down "HTTP $c after $ms ms"

# The recovery.
start_proxy || { fail proxy_restarts "$(tail -2 "$RUN/log/proxy.log")"; finish; }
t0=$(date +%s)
for _ in $(seq 100); do [ "$(code /readyz)" = 200 ] && break; sleep 0.1; done
[ "$(code /readyz)" = 200 ] && pass "readyz_200_after_recovery($(( $(date +%s) - t0 ))s)" || fail readyz_200_after_recovery "HTTP $(code /readyz)"
[ "$(code '/api/v1/log/entries?logIndex=0')" = 200 ] && pass serves_after_recovery || fail serves_after_recovery "HTTP $(code '/api/v1/log/entries?logIndex=0')"
kill -0 "$SERVER_PID" 2>/dev/null && pass server_survived_the_outage || fail server_survived_the_outage "$(tail -3 "$RUN/log/server.log")"
finish
