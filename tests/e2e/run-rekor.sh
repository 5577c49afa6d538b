#!/usr/bin/env bash
# run-rekor.sh BACKEND: end-to-end Rekor v1 tests with real clients, against a freshly
# initialised sigstead Rekor on a free loopback port.
#
#   BACKEND = sqlite | postgres    the sigstead binary with that storage backend
#           | fake                 tests/e2e/fake_rekor.py instead of sigstead: only to
#                                  self-check this harness when no binary is built
#
# Steps: install the clients (tests/tools/install-cosign.sh, tests/tools/setup-python.sh),
# then for sigstead:
#   sigstead migrate --database-url URL
#   sigstead rekor init --data-dir DIR --listen 127.0.0.1:PORT --database-url URL
#   sigstead rekor trust-material --config DIR/rekor.toml --out DIR
#   sigstead serve rekor --config DIR/rekor.toml        (waits for GET /healthz == 200)
# and runs tests/e2e/rekor_python.py (sigstore-python 4.5.1) and tests/e2e/rekor_cosign.sh
# (cosign 3.1.1). The server is killed on exit. Every check prints `PASS name` or
# `FAIL name: reason`; the last line is `N passed, N failed` over all of them.
#
# Environment:
#   SIGSTEAD_BIN   the binary (default: target/release/sigstead in the repo)
#   PG_URL         Postgres server for BACKEND=postgres (default postgres://postgres@127.0.0.1:5432);
#                  a fresh database sigstead_e2e_* is created per run and dropped afterwards
#   TOOLS_DIR      where cosign is installed (default tests/.work/bin)
#   VENV_DIR       the Python venv (default tests/.venv)
#   KEEP_WORK=1    keep the run directory (and Postgres database) even when all passed
set -uo pipefail

BACKEND="${1:-}"
case "$BACKEND" in
    sqlite|postgres|fake) ;;
    *) echo "usage: $0 sqlite|postgres|fake" >&2; exit 2 ;;
esac

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SIGSTEAD_BIN="${SIGSTEAD_BIN:-$ROOT/target/release/sigstead}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/tests/.work/bin}"
VENV_DIR="${VENV_DIR:-$ROOT/tests/.venv}"
KEEP_WORK="${KEEP_WORK:-0}"

mkdir -p "$ROOT/tests/.work"
RUN="$(mktemp -d "$ROOT/tests/.work/rekor-$BACKEND.XXXXXX")"
RESULTS="$RUN/results.txt"
: > "$RESULTS"
SERVER_PID=""
DB_NAME=""

log() { echo "run-rekor[$BACKEND]: $*" >&2; }
# Records a harness-level check in the same format as the drivers.
pass() { echo "PASS $1" | tee -a "$RESULTS"; }
fail() { echo "FAIL $1: $(printf '%s' "$2" | tr '\n' ' ' | cut -c1-400)" | tee -a "$RESULTS"; }

cleanup() {
    local rc=$?
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    local failed; failed="$(grep -c '^FAIL ' "$RESULTS" 2>/dev/null)"
    if [ -n "$DB_NAME" ] && { [ "$KEEP_WORK" != 1 ] && [ "${failed:-1}" = 0 ]; }; then
        psql "$PG_URL/postgres" -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$DB_NAME\"" >/dev/null 2>&1 \
            || log "could not drop database $DB_NAME"
    elif [ -n "$DB_NAME" ]; then
        log "kept database $DB_NAME"
    fi
    if [ "$KEEP_WORK" != 1 ] && [ "${failed:-1}" = 0 ]; then
        rm -rf "$RUN"
    else
        log "run directory kept: $RUN"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Prints the closing line and exits (non-zero when anything failed).
finish() {
    local p f
    p="$(grep -c '^PASS ' "$RESULTS")"; f="$(grep -c '^FAIL ' "$RESULTS")"
    echo "$p passed, $f failed"
    [ "$f" -eq 0 ]
    exit $?
}

# Prints the last lines of the server log to stderr (for failures).
server_tail() { [ -f "$RUN/server.log" ] && { log "last lines of $RUN/server.log:"; tail -n 30 "$RUN/server.log" >&2; }; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# run_step NAME CMD...: a setup step; its output goes to $RUN/NAME.log.
run_step() {
    local name="$1"; shift
    "$@" >"$RUN/$name.log" 2>&1
    local rc=$?
    [ "$rc" -eq 0 ] && return 0
    fail "$name" "exit $rc: $(tail -n 3 "$RUN/$name.log" | tr '\n' ' ')"
    return 1
}

# ------------------------------------------------------------------ clients
run_step setup_cosign bash "$ROOT/tests/tools/install-cosign.sh" "$TOOLS_DIR" || finish
run_step setup_python bash "$ROOT/tests/tools/setup-python.sh" "$VENV_DIR" || finish
PY="$VENV_DIR/bin/python"

# ------------------------------------------------------------------ server
PORT="$(free_port)"
ADDR="127.0.0.1:$PORT"
URL="http://$ADDR"
DATA="$RUN/data"
log "run directory $RUN, Rekor at $URL"

if [ "$BACKEND" = fake ]; then
    mkdir -p "$DATA"
    "$PY" "$HERE/fake_rekor.py" --listen "$ADDR" --out "$DATA" >"$RUN/server.log" 2>&1 &
    SERVER_PID=$!
else
    if [ ! -x "$SIGSTEAD_BIN" ]; then
        fail setup_sigstead_binary "no executable at $SIGSTEAD_BIN (build it, or set SIGSTEAD_BIN)"
        finish
    fi
    case "$BACKEND" in
        sqlite)
            mkdir -p "$RUN/db"
            DB_URL="sqlite://$RUN/db/rekor.db"
            ;;
        postgres)
            DB_NAME="sigstead_e2e_$(date +%s)_$$_$RANDOM"
            run_step setup_postgres_createdb psql "$PG_URL/postgres" -q -v ON_ERROR_STOP=1 \
                -c "CREATE DATABASE \"$DB_NAME\"" || { DB_NAME=""; finish; }
            DB_URL="$PG_URL/$DB_NAME"
            ;;
    esac
    run_step setup_migrate "$SIGSTEAD_BIN" migrate --database-url "$DB_URL" || finish
    run_step setup_rekor_init "$SIGSTEAD_BIN" rekor init --data-dir "$DATA" --listen "$ADDR" \
        --database-url "$DB_URL" || finish
    for f in rekor.toml rekor-key.pem rekor-key.password; do
        [ -s "$DATA/$f" ] || { fail setup_rekor_init_files "rekor init did not create $DATA/$f"; finish; }
    done
    if grep -q 'BEGIN ENCRYPTED PRIVATE KEY' "$DATA/rekor-key.pem"; then pass setup_rekor_key_encrypted
    else fail setup_rekor_key_encrypted "$DATA/rekor-key.pem is not an encrypted PKCS#8 PEM"; fi
    run_step setup_trust_material "$SIGSTEAD_BIN" rekor trust-material --config "$DATA/rekor.toml" \
        --out "$DATA" || finish
    "$SIGSTEAD_BIN" serve rekor --config "$DATA/rekor.toml" >"$RUN/server.log" 2>&1 &
    SERVER_PID=$!
fi

up=0
for _ in $(seq 150); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz")" = 200 ]; then up=1; break; fi
    sleep 0.2
done
if [ "$up" = 1 ]; then pass setup_server_healthz
else
    fail setup_server_healthz "GET $URL/healthz never returned 200 within 30 s (server $(kill -0 "$SERVER_PID" 2>/dev/null && echo running || echo exited))"
    server_tail; finish
fi

TR="$DATA/trusted_root.json"
SC="$DATA/signing_config.v0.2.json"
for f in "$TR" "$SC"; do
    [ -s "$f" ] || { fail setup_trust_material_files "missing $f"; finish; }
done

# The trust material must describe this server (Rekor-only profile).
if out="$("$PY" - "$TR" "$SC" "$URL" 2>&1 <<'EOF'
import json, sys
from datetime import datetime, timezone
tr, sc, url = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
now = datetime.now(timezone.utc)
def past(vf, what):
    s = datetime.fromisoformat(vf["start"].replace("Z", "+00:00"))
    assert s <= now, f"{what} validFor.start {vf['start']} is in the future"
assert tr["mediaType"] == "application/vnd.dev.sigstore.trustedroot+json;version=0.1", tr["mediaType"]
assert [t["baseUrl"].rstrip("/") for t in tr["tlogs"]] == [url], [t["baseUrl"] for t in tr["tlogs"]]
for t in tr["tlogs"]:
    past(t["publicKey"]["validFor"], "tlogs[].publicKey")
assert sc["mediaType"] == "application/vnd.dev.sigstore.signingconfig.v0.2+json", sc["mediaType"]
rk = sc.get("rekorTlogUrls") or []
assert [(r["url"].rstrip("/"), r["majorApiVersion"]) for r in rk] == [(url, 1)], rk
for r in rk:
    past(r["validFor"], "rekorTlogUrls[]")
# cosign 3.1.1 dereferences rekorTlogConfig unconditionally (nil-pointer panic without it)
assert (sc.get("rekorTlogConfig") or {}).get("selector") == "ANY", "rekorTlogConfig.selector must be ANY"
# no TSA in the Rekor-only profile: then tsaConfig must be absent (sigstore-js)
assert not sc.get("tsaUrls") and "tsaConfig" not in sc, "tsaUrls/tsaConfig in a Rekor-only profile"
EOF
)"; then pass setup_trust_material_shape; else fail setup_trust_material_shape "$out"; fi

# ------------------------------------------------------------------ drivers
log "sigstore-python driver"
timeout 600 "$PY" "$HERE/rekor_python.py" --rekor-url "$URL" --trusted-root "$TR" \
    2>"$RUN/rekor_python.stderr" | tee -a "$RESULTS"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
    fail rekor_python_driver "exited with $rc: $(tail -n 3 "$RUN/rekor_python.stderr" | tr '\n' ' ')"
fi

log "cosign driver"
timeout 900 bash "$HERE/rekor_cosign.sh" --cosign "$TOOLS_DIR/cosign" --signing-config "$SC" \
    --trusted-root "$TR" --work "$RUN/cosign" 2>"$RUN/rekor_cosign.stderr" | tee -a "$RESULTS"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
    fail rekor_cosign_driver "exited with $rc: $(tail -n 3 "$RUN/rekor_cosign.stderr" | tr '\n' ' ')"
fi

if kill -0 "$SERVER_PID" 2>/dev/null; then pass server_still_running
else fail server_still_running "the server exited during the tests"; fi

grep -q '^FAIL ' "$RESULTS" && server_tail
finish
