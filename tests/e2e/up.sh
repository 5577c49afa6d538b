#!/usr/bin/env bash
# up.sh: the README's start command, tried as a new user would.
#
# Starts `sigstead up` in an empty data directory, waits for it, then runs the
# cosign commands it printed, verbatim (only `cosign` is replaced by the path
# of the pinned cosign 3.1.1). Then restarts `up` on the same directory and
# checks the keys were reused and the earlier bundle still verifies.
# Prints PASS/FAIL lines and a closing `N passed, N failed`.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SIGSTEAD_BIN="${SIGSTEAD_BIN:-$ROOT/target/release/sigstead}"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/tests/.work/bin}"
mkdir -p "$ROOT/tests/.work"
RUN="$(mktemp -d "$ROOT/tests/.work/up.XXXXXX")"
passed=0; failed=0; PID=""
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; PID=""; }
trap 'stop' EXIT

bash "$ROOT/tests/tools/install-cosign.sh" "$TOOLS_DIR" >"$RUN/install.log" 2>&1 || { fail up_cosign_install "see $RUN/install.log"; echo "$passed passed, $failed failed"; exit 1; }
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
WORK="$RUN/work"; mkdir -p "$WORK"
export HOME="$RUN/home" COSIGN_PASSWORD="up-test"; mkdir -p "$HOME"

start_up() { # start_up LOGFILE
    (cd "$WORK" && exec "$SIGSTEAD_BIN" up --data-dir "$RUN/data" --rekor-port "$PORT") >"$1" 2>"$1.err" &
    PID=$!
    for _ in $(seq 100); do
        curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && grep -q "cosign verify-blob" "$1" && return 0
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

if start_up "$RUN/up1.out"; then pass up_starts; else fail up_starts "$(tail -3 "$RUN/up1.out.err")"; fi
for f in trusted_root.json signing_config.v0.2.json; do
    [ -s "$RUN/data/$f" ] && pass "up_writes_$f" || fail "up_writes_$f" "missing"
done
grep -q "http://127.0.0.1:$PORT" "$RUN/up1.out" && pass up_prints_rekor_url || fail up_prints_rekor_url "$(cat "$RUN/up1.out")"

echo "hello from a new user" > "$WORK/artifact"
n=0
while IFS= read -r line; do
    cmd="${line#"${line%%[![:space:]]*}"}"
    n=$((n + 1))
    if (cd "$WORK" && eval "\"$TOOLS_DIR/cosign\" ${cmd#cosign }") >"$RUN/cmd$n.log" 2>&1; then
        pass "up_printed_command_$n(${cmd%% --*})"
    else
        fail "up_printed_command_$n" "$cmd: $(tail -3 "$RUN/cmd$n.log" | tr '\n' ' ')"
    fi
done < <(grep -E '^\s+cosign ' "$RUN/up1.out")
[ "$n" -ge 3 ] && pass up_printed_three_commands || fail up_printed_three_commands "found $n"

# The same printed verify must fail for a changed artifact.
verify_cmd="$(grep -E '^\s+cosign verify-blob' "$RUN/up1.out" | head -1)"; verify_cmd="${verify_cmd#"${verify_cmd%%[![:space:]]*}"}"
cp "$WORK/artifact" "$WORK/artifact.keep"; echo "changed" >> "$WORK/artifact"
if (cd "$WORK" && eval "\"$TOOLS_DIR/cosign\" ${verify_cmd#cosign }") >"$RUN/tampered.log" 2>&1; then
    fail up_verify_rejects_changed_artifact "cosign accepted a changed artifact"
else pass up_verify_rejects_changed_artifact; fi
cp "$WORK/artifact.keep" "$WORK/artifact"

# Restart: same keys, same trust root, the old bundle still verifies.
sum1="$(sha256sum "$RUN/data/trusted_root.json" | cut -d' ' -f1)"
stop
if start_up "$RUN/up2.out"; then pass up_restarts; else fail up_restarts "$(tail -3 "$RUN/up2.out.err")"; fi
sum2="$(sha256sum "$RUN/data/trusted_root.json" | cut -d' ' -f1)"
[ "$sum1" = "$sum2" ] && pass up_reuses_keys || fail up_reuses_keys "trusted_root.json changed across restarts"
if (cd "$WORK" && eval "\"$TOOLS_DIR/cosign\" ${verify_cmd#cosign }") >"$RUN/reverify.log" 2>&1; then
    pass up_old_bundle_verifies_after_restart
else fail up_old_bundle_verifies_after_restart "$(tail -3 "$RUN/reverify.log" | tr '\n' ' ')"; fi
size="$(curl -fsS "http://127.0.0.1:$PORT/api/v1/log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["treeSize"])')"
[ "$size" -ge 2 ] && pass up_log_kept_entries || fail up_log_kept_entries "treeSize $size"
stop
[ "$failed" -eq 0 ] && rm -rf "$RUN"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
