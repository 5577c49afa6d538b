#!/usr/bin/env bash
# witness.sh [sqlite|postgres]: the witness end to end with the real binary.
# `sigstead serve rekor` with [witnessing] asks `sigstead serve witness` to
# cosign each new checkpoint while `sigstead bench rekor` adds entries:
#   - the log's cosigned checkpoint catches up with its tree head;
#   - `sigstead monitor --once --witness-key` accepts it, and refuses with
#     `witness-missing` a witness key that never cosigned;
#   - the witness answers C2SP tlog-witness refusals over HTTP: a stale old
#     size (409, text/x.tlog.size naming the cosigned size), a checkpoint
#     whose signature is not the log's (403), an unknown origin (404), a
#     consistency proof that does not verify (422);
#   - after SIGKILL and a restart the witness still knows the size it cosigned;
#   - `sigstead witness init` refuses to replace a key;
#   - the log's own monitor ([monitor] in rekor.toml) verifies the grown tree.
# Prints PASS/FAIL lines and a closing `N passed, N failed`.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
e2e_init witness "${1:-sqlite}"
require_sigstead || finish

BASE="$(python3 "$ROOT/tests/tools/free-port-base.py" 2)"
REKOR_PORT="$BASE"; WITNESS_PORT=$((BASE + 1))
URL="http://127.0.0.1:$REKOR_PORT"; WURL="http://127.0.0.1:$WITNESS_PORT"
DBARG=()
if [ "$BACKEND" = postgres ]; then
    DB="sigstead_witness_$$"
    psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >"$RUN/log/createdb.log" 2>&1 \
        || { fail setup_postgres "$(tail -2 "$RUN/log/createdb.log")"; DB=""; finish; }
    "$SIGSTEAD_BIN" migrate --database-url "$PG_URL/$DB" >"$RUN/log/migrate.log" 2>&1 \
        || { fail setup_migrate "$(tail -2 "$RUN/log/migrate.log")"; finish; }
    DBARG=(--database-url "$PG_URL/$DB")
fi
REKOR_PID=""; WITNESS_PID=""
E2E_PIDS=(REKOR_PID WITNESS_PID)
wait_http() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
start_rekor() {
    "$SIGSTEAD_BIN" serve rekor --config "$WORK/rekor/rekor.toml" >>"$RUN/log/rekor.log" 2>&1 &
    REKOR_PID=$!
    wait_http "$URL/api/v1/log"
}
start_witness() {
    "$SIGSTEAD_BIN" serve witness --config "$WORK/witness/witness.toml" >>"$RUN/log/witness.log" 2>&1 &
    WITNESS_PID=$!
    wait_http "$WURL/healthz"
}

# A log, its origin and key; then a witness that follows it.
"$SIGSTEAD_BIN" rekor init --data-dir "$WORK/rekor" --listen "127.0.0.1:$REKOR_PORT" "${DBARG[@]}" \
    >"$RUN/log/rekor-init.log" 2>&1 || { fail setup_rekor "$(tail -2 "$RUN/log/rekor-init.log")"; finish; }
# The trusted root the monitor reads (while no server holds the database).
ok trust_material "$SIGSTEAD_BIN" rekor trust-material --config "$WORK/rekor/rekor.toml" --out "$WORK/trust"
start_rekor || { fail setup_rekor_start "$(tail -3 "$RUN/log/rekor.log")"; finish; }
ORIGIN="$(curl -s "$URL/api/v1/log" | python3 -c 'import json, sys; print(json.load(sys.stdin)["signedTreeHead"].split("\n")[0])')"
curl -s "$URL/api/v1/log/publicKey" >"$WORK/rekor.pub"
stop_pid REKOR_PID
"$SIGSTEAD_BIN" witness init --dir "$WORK/witness" --name witness.e2e.test/w1 --listen "127.0.0.1:$WITNESS_PORT" \
    --log "$ORIGIN=$WORK/rekor.pub" >"$WORK/vkey" 2>"$RUN/log/witness-init.log" \
    || { fail setup_witness "$(tail -2 "$RUN/log/witness-init.log")"; finish; }
VKEY="$(cat "$WORK/vkey")"
echo "     witness vkey: $VKEY"
[[ "$VKEY" == witness.e2e.test/w1+*+* ]] && pass witness_init_prints_a_vkey || fail witness_init_prints_a_vkey "$VKEY"
refuses witness_init_keeps_its_key "refusing to replace a witness key" \
    "$SIGSTEAD_BIN" witness init --dir "$WORK/witness" --name w --log "$ORIGIN=$WORK/rekor.pub"
ok witness_vkey_from_config bash -c "[ \"\$('$SIGSTEAD_BIN' witness vkey --config '$WORK/witness/witness.toml')\" = '$VKEY' ]"
cat >>"$WORK/rekor/rekor.toml" <<TOML

[monitor]
url = "$URL"
trusted_root = "$WORK/trust/trusted_root.json"
state_dir = "$WORK/self-monitor"
interval_secs = 1

[witnessing]
every_ms = 200
[[witnessing.witnesses]]
url = "$WURL"
vkey = "$VKEY"
TOML
start_witness || { fail setup_witness_start "$(tail -3 "$RUN/log/witness.log")"; finish; }
start_rekor || { fail setup_rekor_restart "$(tail -3 "$RUN/log/rekor.log")"; finish; }

# Load, then the cosigned checkpoint must catch up with the tree head.
ok bench_entries "$SIGSTEAD_BIN" bench rekor --url "$URL" --entry-shape key --clients 4 --concurrency 8 \
    --duration 3 --max-requests 400
SIZE="$(curl -s "$URL/api/v1/log" | python3 -c 'import json, sys; print(json.load(sys.stdin)["treeSize"])')"
cosigned_size() { curl -sf "$URL/api/v1/log/cosigned-checkpoint" | sed -n 2p; }
for _ in $(seq 100); do [ "$(cosigned_size)" = "$SIZE" ] && break; sleep 0.1; done
if [ "$(cosigned_size)" = "$SIZE" ] && [ "$SIZE" -gt 1 ]; then
    pass cosigned_checkpoint_catches_up; echo "     tree size $SIZE cosigned"
else
    fail cosigned_checkpoint_catches_up "tree $SIZE, cosigned $(cosigned_size)"
fi
# The log's own monitor ([monitor]) has verified the grown tree too.
self_size() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["tree_size"])' "$WORK/self-monitor/rekor-checkpoint.json" 2>/dev/null; }
for _ in $(seq 50); do [ "$(self_size)" = "$SIZE" ] && break; sleep 0.1; done
if [ "$(self_size)" = "$SIZE" ]; then pass embedded_monitor_verified_the_tree
else fail embedded_monitor_verified_the_tree "self-monitor at $(self_size), tree $SIZE: $(grep -m2 -E 'alert|monitor' "$RUN/log/rekor.log")"; fi
curl -s "$URL/api/v1/log/cosigned-checkpoint" >"$WORK/cosigned.txt"
if grep -q "^— witness.e2e.test/w1 " "$WORK/cosigned.txt"; then pass cosignature_line_present; else fail cosignature_line_present "$(cat "$WORK/cosigned.txt")"; fi

# The monitor checks it with the witness key; an unknown witness is reported.
ok monitor_accepts_the_witnessed_log "$SIGSTEAD_BIN" monitor --rekor-url "$URL" \
    --trusted-root "$WORK/trust/trusted_root.json" --state-dir "$WORK/monitor" --once --witness-key "$VKEY"
"$SIGSTEAD_BIN" witness init --dir "$WORK/witness2" --name witness.e2e.test/w2 --log "$ORIGIN=$WORK/rekor.pub" \
    >"$WORK/vkey2" 2>/dev/null
refuses monitor_names_a_missing_witness "witness-missing.*witness.e2e.test/w2" "$SIGSTEAD_BIN" monitor \
    --rekor-url "$URL" --trusted-root "$WORK/trust/trusted_root.json" --state-dir "$WORK/monitor" --once \
    --witness-key "$(cat "$WORK/vkey2")"

# The witness's refusals over HTTP, with the statuses of C2SP tlog-witness.
CP="$(curl -s "$URL/api/v1/log" | python3 -c 'import json, sys; print(json.load(sys.stdin)["signedTreeHead"], end="")')"
COSIGNED="$(cosigned_size)"
post() { curl -s -o "$WORK/resp" -w '%{http_code} %{content_type}' --data-binary @- "$WURL/add-checkpoint"; }
got="$(printf 'old 0\n\n%s\n' "$CP" | post)"
if [ "$got" = "409 text/x.tlog.size" ] && [ "$(cat "$WORK/resp")" = "$COSIGNED" ]; then pass stale_old_size_409_names_the_size
else fail stale_old_size_409_names_the_size "$got $(cat "$WORK/resp")"; fi
FORGED="$(printf '%s' "$CP" | python3 -c '
import base64, sys
text, sigs = sys.stdin.read().split("\n\n", 1)
name, b64 = sigs.strip().rsplit(" ", 1)
raw = bytearray(base64.b64decode(b64)); raw[-3] ^= 1
print(text + "\n\n" + name + " " + base64.b64encode(bytes(raw)).decode())')"
got="$(printf 'old %s\n\n%s\n' "$COSIGNED" "$FORGED" | post)"
[ "${got%% *}" = 403 ] && pass wrong_log_signature_403 || fail wrong_log_signature_403 "$got $(cat "$WORK/resp")"
got="$(printf 'old 0\n\n%s\n' "${CP/$ORIGIN/elsewhere.test - 1}" | post)"
[ "${got%% *}" = 404 ] && pass unknown_origin_404 || fail unknown_origin_404 "$got $(cat "$WORK/resp")"
stop_pid REKOR_PID   # the log stops asking; the witness keeps its state
start_rekor_quiet() { # the log again, without [witnessing], to get a checkpoint the witness has not seen
    sed '/^\[witnessing\]/,$d' "$WORK/rekor/rekor.toml" >"$WORK/rekor/plain.toml"
    "$SIGSTEAD_BIN" serve rekor --config "$WORK/rekor/plain.toml" >>"$RUN/log/rekor.log" 2>&1 &
    REKOR_PID=$!
    wait_http "$URL/api/v1/log"
}
start_rekor_quiet || { fail setup_rekor_plain "$(tail -3 "$RUN/log/rekor.log")"; finish; }
ok more_entries "$SIGSTEAD_BIN" bench rekor --url "$URL" --entry-shape key --clients 2 --concurrency 2 --duration 1 \
    --max-requests 5
CP2="$(curl -s "$URL/api/v1/log" | python3 -c 'import json, sys; print(json.load(sys.stdin)["signedTreeHead"], end="")')"
SIZE2="$(printf '%s' "$CP2" | sed -n 2p)"
BAD="$(python3 -c 'import base64; print(base64.b64encode(bytes(32)).decode())')"
got="$(printf 'old %s\n%s\n\n%s\n' "$COSIGNED" "$BAD" "$CP2" | post)"
[ "${got%% *}" = 422 ] && pass bad_consistency_proof_422 || fail bad_consistency_proof_422 "$got $(cat "$WORK/resp") (sizes $COSIGNED → $SIZE2)"

# SIGKILL the witness; restarted, it still knows the size it cosigned.
kill -9 "$WITNESS_PID" 2>/dev/null; wait "$WITNESS_PID" 2>/dev/null; WITNESS_PID=""
start_witness || { fail setup_witness_restart "$(tail -3 "$RUN/log/witness.log")"; finish; }
got="$(printf 'old 0\n\n%s\n' "$CP2" | post)"
if [ "$got" = "409 text/x.tlog.size" ] && [ "$(cat "$WORK/resp")" = "$COSIGNED" ]; then pass state_survives_sigkill
else fail state_survives_sigkill "$got $(cat "$WORK/resp") (cosigned $COSIGNED)"; fi
PROOF="$(curl -s "$URL/api/v1/log/proof?firstSize=$COSIGNED&lastSize=$SIZE2" | python3 -c '
import base64, json, sys
for h in json.load(sys.stdin)["hashes"]: print(base64.b64encode(bytes.fromhex(h)).decode())')"
got="$(printf 'old %s\n%s\n\n%s\n' "$COSIGNED" "$PROOF" "$CP2" | post)"
if [ "${got%% *}" = 200 ] && grep -q "^— witness.e2e.test/w1 " "$WORK/resp"; then pass consistent_growth_cosigned_after_restart
else fail consistent_growth_cosigned_after_restart "$got $(cat "$WORK/resp")"; fi
finish
