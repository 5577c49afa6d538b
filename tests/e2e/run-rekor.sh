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
#   SIGSTEAD_BIN, PG_URL, TOOLS_DIR, VENV_DIR   as in tests/e2e/lib.sh (the harness every
#                  e2e script shares); a fresh Postgres database sigstead_e2e_* per run, dropped
#                  at the end
#   KEEP_RUN=1     keep the run directory even when all passed
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$HERE/lib.sh"

# `fake` (harness self-check) is not a backend lib.sh knows: run it as sqlite, remember it.
FAKE=0
if [ "${1:-}" = fake ]; then FAKE=1; set -- sqlite; fi
e2e_init rekor "${1:-}"
E2E_PIDS+=(SERVER_PID)
SERVER_PID=""

# Prints the last lines of the server log (for failures).
server_tail() { [ -f "$RUN/server.log" ] && { echo "last lines of $RUN/server.log:" >&2; tail -n 30 "$RUN/server.log" >&2; }; }

# step NAME CMD...: a setup step, output in $RUN/log/NAME.log; a FAIL (only) if it fails.
step() {
    local name="$1"; shift
    "$@" >"$RUN/log/$name.log" 2>&1 && return 0
    fail "$name" "exit $?: $(tail -n 3 "$RUN/log/$name.log")"
    return 1
}

# drive NAME CMD...: runs a driver that prints PASS/FAIL lines, counting them as this
# script's own; a driver that dies (exit other than 0 or 1) is a FAIL of its own.
drive() {
    local name="$1" line; shift
    while IFS= read -r line; do
        echo "$line"
        case "$line" in
            "PASS "*) passed=$((passed + 1)) ;;
            "FAIL "*) failed=$((failed + 1)) ;;
        esac
    done < <("$@" 2>"$RUN/log/$name.stderr"; echo "$?" >"$RUN/log/$name.rc")
    local rc; rc="$(cat "$RUN/log/$name.rc")"
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
        fail "${name}_driver" "exited with $rc: $(tail -n 3 "$RUN/log/$name.stderr")"
    fi
}

# ------------------------------------------------------------------ clients
setup_cosign -q || finish
setup_python -q || finish

# ------------------------------------------------------------------ server
PORT="$(python3 "$ROOT/tests/tools/free-port-base.py" 1)"
ADDR="127.0.0.1:$PORT"
URL="http://$ADDR"
DATA="$RUN/data"
echo "run directory $RUN, Rekor at $URL" >&2

if [ "$FAKE" = 1 ]; then
    mkdir -p "$DATA"
    "$PY" "$HERE/fake_rekor.py" --listen "$ADDR" --out "$DATA" >"$RUN/server.log" 2>&1 &
    SERVER_PID=$!
else
    require_sigstead || finish
    case "$BACKEND" in
        sqlite)
            mkdir -p "$RUN/db"
            DB_URL="sqlite://$RUN/db/rekor.db"
            ;;
        postgres)
            DB="sigstead_e2e_$(date +%s)_$$_$RANDOM"
            step setup_postgres_createdb psql "$PG_URL/postgres" -q -v ON_ERROR_STOP=1 \
                -c "CREATE DATABASE \"$DB\"" || { DB=""; finish; }
            DB_URL="$PG_URL/$DB"
            ;;
    esac
    step setup_migrate "$SIGSTEAD_BIN" migrate --database-url "$DB_URL" || finish
    step setup_rekor_init "$SIGSTEAD_BIN" rekor init --data-dir "$DATA" --listen "$ADDR" \
        --database-url "$DB_URL" || finish
    for f in rekor.toml rekor-key.pem rekor-key.password; do
        [ -s "$DATA/$f" ] || { fail setup_rekor_init_files "rekor init did not create $DATA/$f"; finish; }
    done
    if grep -q 'BEGIN ENCRYPTED PRIVATE KEY' "$DATA/rekor-key.pem"; then pass setup_rekor_key_encrypted
    else fail setup_rekor_key_encrypted "$DATA/rekor-key.pem is not an encrypted PKCS#8 PEM"; fi
    step setup_trust_material "$SIGSTEAD_BIN" rekor trust-material --config "$DATA/rekor.toml" \
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
echo "sigstore-python driver" >&2
drive rekor_python timeout 600 "$PY" "$HERE/rekor_python.py" --rekor-url "$URL" --trusted-root "$TR"
echo "cosign driver" >&2
drive rekor_cosign timeout 900 bash "$HERE/rekor_cosign.sh" --cosign "$COSIGN" --signing-config "$SC" \
    --trusted-root "$TR" --work "$RUN/cosign"

if kill -0 "$SERVER_PID" 2>/dev/null; then pass server_still_running
else fail server_still_running "the server exited during the tests"; fi

[ "$failed" -eq 0 ] || server_tail
finish
