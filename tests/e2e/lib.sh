# shellcheck shell=bash disable=SC2034  # (its variables are for the scripts that source it)
# tests/e2e/lib.sh: helpers shared by end-to-end scripts. Source it after
# `set -uo pipefail`; it defines functions and variables, and runs nothing.
#
#   e2e_init NAME BACKEND     run directory tests/.work/NAME-BACKEND.XXXXXX ($RUN),
#                             work dir $WORK, logs in $RUN/log, client homes under $H,
#                             counters, traps
#   require_sigstead          FAIL setup_sigstead (and false) if $SIGSTEAD_BIN is not
#                             executable: call it first, before the slow setup
#   isolate_home              HOME=$H/default (after the setup_* steps)
#   pass NAME | fail NAME WHY | note NAME WHY
#                             one PASS/FAIL/NOTE line; NOTEs are not counted.
#                             RESULT[NAME] remembers PASS/FAIL/NOTE.
#   finish                    stops what was started, drops the database, keeps
#                             $RUN only if something failed (or KEEP_RUN is set), prints
#                             the time and the closing `N passed, N failed`, exits 0 iff
#                             none failed
#   E2E_PIDS+=(VAR)           VAR holds the PID of a server the script started itself:
#                             stopped by finish and on exit (stop_pid VAR: at once)
#   setup_npm, setup_cosign, setup_python, setup_rust_driver
#                             install or check the pinned clients (one PASS each;
#                             setup_cosign -q, setup_python -q: a FAIL only, for scripts
#                             that do not count their setup; setup_rust_driver NAME:
#                             the check is NAME)
#   stack_up [CHECK]          (BACKEND=postgres: a fresh database) `sigstead up` on
#                             a free port range, waits for every service, the check
#                             CHECK (default up_starts); sets
#                             BASE REKOR FULCIO CTLOG ISSUER TUF D TR SC TC PIN
#                             (the stack uses BASE..BASE+6, the explorer on BASE+6;
#                             BASE+7..BASE+9 were free too, for a script's own servers); output in $RUN/up.out, up.err.
#                             Again after stack_stop: a restart on the same ports, data
#                             directory and database (output in $RUN/up.2.out, …)
#   stack_stop
#   mint_token                a fresh $WORK/token.jwt for $ID from the stack's dev issuer
#   dev_token                 mint_token as the check dev_token (non-empty token)
#   other_ca_root OUT         OUT: $TR with certificateAuthorities[0] replaced by a new CA
#   other_ct_root OUT         OUT: $TR with ctlogs[0]'s key replaced by the Rekor key
#   rekor_tree_size           the stack's Rekor tree size (or ?), for the closing lines
#   ok NAME CMD...            CMD, run now in $WORK (output $RUN/log/NAME.log), must succeed
#   refuses NAME ERE CMD...   CMD, run now in $WORK, must fail with output matching ERE
#                             (the reason; REFUSES_ICASE=1: case-insensitively)
#   home_of CLIENT            HENV=(env HOME=$H/CLIENT XDG_…=…): a client state of its own
#   in_home CLIENT CMD...     runs CMD with that HOME
#
# Job queue, for many independent client runs: jobs are queued into lanes; the
# jobs of one lane run one after another (a lane = one client state, e.g. a TUF
# cache, that must not be shared by concurrent runs), up to $E2E_JOBS lanes at a
# time; q_run then judges every job in queue order.
#   q_ok LANE NAME CMD...               must succeed
#   q_refuses LANE NAME CMD...          must fail, and not with a usage/driver error
#   q_lax LANE NAME WHY CMD...          must fail; acceptance is a known, confirmed
#                                       client laxness: NOTE "WHY" instead of FAIL
#   q_limited LANE NAME REGEX WHY CMD... must succeed; a failure whose output matches
#                                       REGEX is a known client limitation: NOTE
#   Q_CONTROL=NAME (set while queueing) a refusal only counts if the job NAME (the
#                                       same command on untampered input) passed
#   q_run

E2E_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$E2E_LIB_DIR/../.." && pwd)"
JS="$E2E_LIB_DIR/js"
SIGSTEAD_BIN="${SIGSTEAD_BIN:-$ROOT/target/debug/sigstead}"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/tests/.work/bin}"
VENV_DIR="${VENV_DIR:-$ROOT/tests/.venv}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
RUST_CLIENT_TARGET="${RUST_CLIENT_TARGET:-$ROOT/tests/.work/rust-client-target}"
COSIGN="$TOOLS_DIR/cosign"
PY="$VENV_DIR/bin/python"
PYSIG="$VENV_DIR/bin/sigstore"          # the python `sigstore`; the npm one is $NPMSIG
NPMSIG="$JS/node_modules/.bin/sigstore"
DRIVER="$RUST_CLIENT_TARGET/release/sigstore-rust-driver"
E2E_JOBS="${E2E_JOBS:-$(($(nproc 2>/dev/null || echo 2) + 1))}"

passed=0; failed=0; notes=0; UP_PID=""; UP_STARTS=0; DB=""
declare -A RESULT=()
E2E_PIDS=()     # names of variables holding the PIDs of a script's own background servers

e2e_init() { # e2e_init NAME BACKEND
    E2E_NAME="$1"; BACKEND="$2"
    case "$BACKEND" in sqlite|postgres) ;; *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;; esac
    mkdir -p "$ROOT/tests/.work"
    RUN="$(mktemp -d "$ROOT/tests/.work/$E2E_NAME-$BACKEND.XXXXXX")"
    WORK="$RUN/work"; H="$RUN/home"
    mkdir -p "$WORK" "$H/default" "$RUN/log" "$RUN/q"
    STARTED=$SECONDS
    export COLUMNS=200 RUST_BACKTRACE=0 NO_COLOR=1
    unset CI SIGSTORE_ID_TOKEN SIGSTORE_IDENTITY_TOKEN TUF_ROOT TUF_MIRROR TUF_ROOT_JSON
    trap e2e_cleanup EXIT
    trap 'echo "interrupted"; e2e_cleanup; exit 130' INT TERM
}
require_sigstead() {
    [ -x "$SIGSTEAD_BIN" ] || { fail setup_sigstead "no executable $SIGSTEAD_BIN (set SIGSTEAD_BIN)"; return 1; }
}

clean1() { printf '%s' "$1" | tr '\n' ' ' | tr -s ' ' | cut -c1-"${2:-400}"; }
pass() { echo "PASS $1"; passed=$((passed + 1)); RESULT[$1]=PASS; }
fail() { echo "FAIL $1: $(clean1 "$2")"; failed=$((failed + 1)); RESULT[$1]=FAIL; }
note() { echo "NOTE $1: $(clean1 "$2" 600)"; notes=$((notes + 1)); RESULT[$1]=NOTE; }

stop_pid() { # stop_pid VAR: stops the process whose PID is in $VAR, and empties VAR
    local pid="${!1:-}"
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    printf -v "$1" '%s' ""
}
stack_stop() { stop_pid UP_PID; }
e2e_cleanup() {
    local v
    for v in "${E2E_PIDS[@]}"; do stop_pid "$v"; done
    stack_stop
    if [ -n "$DB" ]; then psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1; DB=""; fi
}
finish() {
    e2e_cleanup
    if [ "$failed" -eq 0 ] && [ -z "${KEEP_RUN:-}" ]; then rm -rf "$RUN"; else echo "logs kept in $RUN"; fi
    echo "$E2E_NAME.sh ($BACKEND): $((SECONDS - STARTED)) s, $notes notes"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]; exit $?
}

# ------------------------------------------------------------------ tools
# setup_pass NAME [-q]: the PASS of a setup step (none with -q).
setup_pass() { [ "${2:-}" = -q ] || pass "$1"; }
# npm ci, skipped when node_modules was installed by `npm ci` from this very
# package-lock.json with this node (the stamp js.sh writes), then a version check.
setup_npm() {
    local stamp want
    want="$(cat "$JS/package-lock.json" "$JS/package.json" | sha256sum | cut -d' ' -f1) $(node --version)"
    stamp="$JS/node_modules/.sigstead-npm-ci"
    : >"$RUN/log/npm.log"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        if ! (cd "$JS" && npm ci --no-audit --no-fund --loglevel=error) >"$RUN/log/npm.log" 2>&1; then
            fail setup_npm_ci "$(tail -3 "$RUN/log/npm.log")"; return 1
        fi
        printf '%s\n' "$want" >"$stamp"
    fi
    if node "$JS/check-versions.mjs" >>"$RUN/log/npm.log" 2>&1; then pass setup_npm_ci; echo "     $(tail -1 "$RUN/log/npm.log")"
    else fail setup_npm_ci "$(tail -2 "$RUN/log/npm.log")"; return 1; fi
}
setup_cosign() { # setup_cosign [-q]
    bash "$ROOT/tests/tools/install-cosign.sh" "$TOOLS_DIR" >"$RUN/log/install-cosign.log" 2>&1 && [ -x "$COSIGN" ] \
        && setup_pass setup_cosign "${1:-}" || { fail setup_cosign "see $RUN/log/install-cosign.log"; return 1; }
}
setup_python() { # setup_python [-q]
    bash "$ROOT/tests/tools/setup-python.sh" "$VENV_DIR" >"$RUN/log/setup-python.log" 2>&1 && [ -x "$PYSIG" ] \
        && setup_pass setup_python "${1:-}" || { fail setup_python "see $RUN/log/setup-python.log"; return 1; }
}
setup_rust_driver() { # setup_rust_driver [NAME]: tests/e2e/rust-client, with its own lock file and target dir
    local name="${1:-setup_rust_driver}"
    if (cd "$E2E_LIB_DIR/rust-client" && CARGO_TARGET_DIR="$RUST_CLIENT_TARGET" cargo build --release --locked --quiet -j "${RUST_CLIENT_JOBS:-2}") \
        >"$RUN/log/rust-driver-build.log" 2>&1 && [ -x "$DRIVER" ]; then
        pass "$name"
    else
        fail "$name" "see $RUN/log/rust-driver-build.log: $(tail -3 "$RUN/log/rust-driver-build.log")"; return 1
    fi
}

# isolate_home: from here on no client sees the caller's HOME (TUF caches,
# trusted instances, tokens). Call it after the setup_* steps, which need the
# real HOME (rustup, npm and pip caches).
isolate_home() {
    export HOME="$H/default" XDG_DATA_HOME="$H/default/data" XDG_CACHE_HOME="$H/default/cache" XDG_CONFIG_HOME="$H/default/config"
}

# ------------------------------------------------------------------ the stack
stack_up() { # stack_up [CHECK]
    local check="${1:-up_starts}" dbarg=() up="" out="$RUN/up" f
    [ -x "$SIGSTEAD_BIN" ] || { fail "$check" "no executable $SIGSTEAD_BIN (set SIGSTEAD_BIN)"; return 1; }
    if [ "$UP_STARTS" -eq 0 ]; then # the first start: a database, ports, paths
        if [ "$BACKEND" = postgres ] && [ -z "$DB" ]; then
            DB="sigstead_${E2E_NAME}_$$"
            psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >"$RUN/log/createdb.log" 2>&1 \
                || { fail setup_postgres "cannot create $DB: $(tail -2 "$RUN/log/createdb.log")"; DB=""; return 1; }
        fi
        BASE="$(python3 "$ROOT/tests/tools/free-port-base.py" 10)"
        REKOR="http://127.0.0.1:$BASE"
        FULCIO="http://127.0.0.1:$((BASE + 1))"
        CTLOG="http://127.0.0.1:$((BASE + 2))"
        ISSUER="http://127.0.0.1:$((BASE + 3))"
        TUF="http://127.0.0.1:$((BASE + 4))"
        TSA_BASE="http://127.0.0.1:$((BASE + 5))"; TSA="$TSA_BASE/api/v1/timestamp"
        EXPLORER="http://127.0.0.1:$((BASE + 6))"
        D="$RUN/data"
        TR="$D/trusted_root.json"; SC="$D/signing_config.v0.2.json"; TC="$D/trust_config.json"
        PIN="$D/tuf/repository/1.root.json"
    fi
    UP_STARTS=$((UP_STARTS + 1))
    [ "$UP_STARTS" -gt 1 ] && out="$RUN/up.$UP_STARTS"
    [ -n "$DB" ] && dbarg=(--database-url "$PG_URL/$DB")
    (cd "$WORK" && exec "$SIGSTEAD_BIN" up --data-dir "$D" --port-base "$BASE" "${dbarg[@]}") >"$out.out" 2>"$out.err" &
    UP_PID=$!
    for _ in $(seq 300); do
        if curl -fsS -o /dev/null "$REKOR/healthz" 2>/dev/null && curl -fsS -o /dev/null "$FULCIO/healthz" 2>/dev/null \
            && curl -fsS -o /dev/null "$CTLOG/healthz" 2>/dev/null && curl -fsS -o /dev/null "$TUF/timestamp.json" 2>/dev/null \
            && curl -fsS -o /dev/null "$TSA_BASE/readyz" 2>/dev/null \
            && curl -fsS -o /dev/null "$EXPLORER/readyz" 2>/dev/null \
            && grep -q "cosign verify-blob" "$out.out"; then up=1; break; fi
        kill -0 "$UP_PID" 2>/dev/null || break
        sleep 0.2
    done
    if [ -z "$up" ]; then fail "$check" "$(grep -v '^ ' "$out.err" | tail -3)"; return 1; fi
    for f in "$TR" "$SC" "$TC" "$PIN"; do [ -s "$f" ] || { fail "$check" "missing $f"; return 1; }; done
    pass "$check"
}
# mint_token: a fresh $WORK/token.jwt for $ID (log: $RUN/log/token.log).
mint_token() { "$SIGSTEAD_BIN" dev token --data-dir "$D" --email "$ID" --out "$WORK/token.jwt" >"$RUN/log/token.log" 2>&1; }
dev_token() {
    mint_token && [ -s "$WORK/token.jwt" ] && pass dev_token || { fail dev_token "$(tail -3 "$RUN/log/token.log")"; return 1; }
}
# other_ca_root OUT: OUT is $TR with certificateAuthorities[0] replaced by another CA's
# chain (`sigstead ca init` in $RUN/other-ca); false, and no OUT, if that failed
# (log: $RUN/log/other-ca.log).
other_ca_root() {
    "$SIGSTEAD_BIN" ca init --dir "$RUN/other-ca" >"$RUN/log/other-ca.log" 2>&1 || return 1
    python3 - "$TR" "$RUN/other-ca/ca-chain.pem" "$1" <<'PY' >>"$RUN/log/other-ca.log" 2>&1
import base64, json, re, sys
tr = json.load(open(sys.argv[1]))
pem = open(sys.argv[2]).read()
ders = [base64.b64decode("".join(b.split())) for b in re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)]
assert ders, "no certificates in the other CA's chain"
certs = [{"rawBytes": base64.b64encode(x).decode()} for x in ders]
assert certs != tr["certificateAuthorities"][0]["certChain"]["certificates"], "the other CA is this CA"
tr["certificateAuthorities"][0]["certChain"]["certificates"] = certs
json.dump(tr, open(sys.argv[3], "w"), indent=2)
PY
}
# other_ct_root OUT: OUT is $TR with ctlogs[0]'s public key and log ID replaced by
# the Rekor log's (log: $RUN/log/other-ct.log).
other_ct_root() {
    python3 - "$TR" "$1" <<'PY' >"$RUN/log/other-ct.log" 2>&1
import json, sys
tr = json.load(open(sys.argv[1]))
tr["ctlogs"][0]["publicKey"]["rawBytes"] = tr["tlogs"][0]["publicKey"]["rawBytes"]
tr["ctlogs"][0]["logId"] = tr["tlogs"][0]["logId"]
json.dump(tr, open(sys.argv[2], "w"))
PY
}
rekor_tree_size() {
    local size
    size="$(curl -fsS "$REKOR/api/v1/log" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["treeSize"])' 2>/dev/null)"
    echo "${size:-?}"
}

# ------------------------------------------------------------------ running clients
# home_of CLIENT: HENV=(env HOME=… XDG_…=…), a HOME and XDG dirs of CLIENT's own
# ($H/CLIENT), to prefix a command with (also in queued jobs, which cannot call
# shell functions).
home_of() {
    local h="$H/$1"
    mkdir -p "$h"
    HENV=(env HOME="$h" XDG_DATA_HOME="$h/data" XDG_CACHE_HOME="$h/cache" XDG_CONFIG_HOME="$h/config")
}
# in_home CLIENT CMD...: runs CMD (an executable) with CLIENT's HOME.
in_home() { home_of "$1"; shift; "${HENV[@]}" "$@"; }
# ok NAME CMD...
ok() {
    local name="$1"; shift
    if (cd "$WORK" && "$@") >"$RUN/log/$name.log" 2>&1; then pass "$name"; else fail "$name" "$(tail -4 "$RUN/log/$name.log")"; fi
}
# refuses NAME ERE CMD...: CMD must fail, and its output must name the reason (ERE),
# so that a usage error, a typo or an outage cannot pass for a refusal; the
# matching line is printed. REFUSES_ICASE=1 (set by a script) ignores case.
refuses() {
    local name="$1" why="$2" log="$RUN/log/$1.log" g=-E; shift 2
    [ -n "${REFUSES_ICASE:-}" ] && g=-iE
    if (cd "$WORK" && "$@") >"$log" 2>&1; then
        fail "$name" "accepted: $(tail -3 "$log")"
    elif grep -q "$g" -- "$why" "$log"; then
        pass "$name"; echo "     $(grep -m1 "$g" -- "$why" "$log" | sed 's/^ *//; s/^Error: //' | cut -c1-220)"
    else
        fail "$name" "refused for another reason (wanted /$why/): $(grep -v '^\s*$' "$log" | tail -3)"
    fi
}

# reason LOG: the most telling error line(s) of a client's output, on one line.
reason() {
    sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^\[[0-9:]*\] *//' -e 's/^ *//' -e 's/  \+[a-z_]*\.py:[0-9]* *$//' "$1" \
        | grep -vE '^at |^$|^For detailed error|^FAIL: |^error during command execution|^throw |^\^|^Node\.js v|^ERROR *FAIL|^WARNING' \
        | grep -iE 'error|fail|invalid|mismatch|not |unable|cannot|threshold|missing|refus|must|unsupported|no ' \
        | head -2 | sed 's/^ERROR *//' | tr '\n' ' ' | tr -s ' ' | cut -c1-220
}
# A refusal must come from verification, not from how the client was called.
E2E_USAGE_RE='usage:|unrecognized arguments|Nonexistent flag|unknown flag|unknown shorthand|No such file or directory|ENOENT|cannot load input|command not found|needs a value|required flag|Missing required'

declare -a Q_KIND=() Q_NAME=() Q_ARG1=() Q_ARG2=() Q_CTL=()
Q_CONTROL=""; Q_DONE=0
q_add() { # q_add KIND LANE NAME ARG1 ARG2 CMD...
    local i=${#Q_NAME[@]} lane="$2"
    Q_KIND[i]="$1"; Q_NAME[i]="$3"; Q_ARG1[i]="$4"; Q_ARG2[i]="$5"; Q_CTL[i]="$Q_CONTROL"
    shift 5
    {
        printf 'cd %q || exit 97\n' "$WORK"
        printf 'exec >%q 2>&1\n' "$RUN/log/${Q_NAME[i]}.log"
        printf 'exec timeout 120'; printf ' %q' "$@"; printf '\n'
    } >"$RUN/q/$i.sh"
    echo "$i" >>"$RUN/q/lane.$lane"
}
q_ok() { q_add ok "$1" "$2" "" "" "${@:3}"; }
q_refuses() { q_add refuses "$1" "$2" "" "" "${@:3}"; }
q_lax() { q_add lax "$1" "$2" "$3" "" "${@:4}"; }
q_limited() { q_add limited "$1" "$2" "$3" "$4" "${@:5}"; }

# q_judge I: one verdict for job I.
q_judge() {
    local i="$1" name="${Q_NAME[$1]}" rc log why
    log="$RUN/log/$name.log"
    rc="$(cat "$RUN/q/$i.rc" 2>/dev/null || echo 99)"
    if [ "$rc" = 124 ]; then fail "$name" "timed out after 120 s: $(tail -2 "$log")"; return; fi
    case "${Q_KIND[$i]}" in
        ok)
            if [ "$rc" = 0 ]; then pass "$name"; else fail "$name" "exit $rc: $(reason "$log") | $(tail -2 "$log")"; fi ;;
        limited)
            if [ "$rc" = 0 ]; then pass "$name"
            elif grep -qE "${Q_ARG1[$i]}" "$log"; then note "$name" "${Q_ARG2[$i]}; the client says: \"$(grep -m1 -oE "${Q_ARG1[$i]}" "$log")\""
            else fail "$name" "exit $rc (not the known limitation): $(reason "$log") | $(tail -2 "$log")"; fi ;;
        refuses|lax)
            if [ -n "${Q_CTL[$i]}" ] && [ "${RESULT[${Q_CTL[$i]}]:-}" != PASS ]; then
                fail "$name" "the control ${Q_CTL[$i]} (same command, untampered input) did not pass, so a refusal proves nothing"
            elif [ "$rc" = 0 ]; then
                if [ "${Q_KIND[$i]}" = lax ]; then note "$name" "ACCEPTED, a known client laxness: ${Q_ARG1[$i]} (client output: $(tail -1 "$log" | cut -c1-120))"
                else fail "$name" "accepted: $(tail -2 "$log")"; fi
            elif grep -qE "$E2E_USAGE_RE" "$log"; then
                fail "$name" "refused, but by a usage/driver error (exit $rc): $(grep -m1 -E "$E2E_USAGE_RE" "$log")"
            else
                why="$(reason "$log")"; pass "$name"; echo "     ${why:-exit $rc: $(tail -1 "$log" | cut -c1-200)}"
            fi ;;
    esac
}
# q_run: runs every job queued since the last q_run, then judges them in order.
q_run() {
    local lanes=() l i
    for l in "$RUN"/q/lane.*; do [ -e "$l" ] && lanes+=("$l"); done
    if [ "${#lanes[@]}" -gt 0 ]; then
        printf '%s\n' "${lanes[@]}" | xargs -P "$E2E_JOBS" -I{} bash -c \
            'while read -r i; do bash "$0/$i.sh"; echo $? >"$0/$i.rc"; done <"$1"; rm -f "$1"' "$RUN/q" {}
    fi
    for ((i = Q_DONE; i < ${#Q_NAME[@]}; i++)); do q_judge "$i"; done
    Q_DONE=${#Q_NAME[@]}
}
