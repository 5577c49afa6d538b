#!/usr/bin/env bash
# replicas.sh postgres: three `sigstead serve rekor` replicas on one Postgres
# database, clients spread over all three (no load balancer), as an operator
# runs them:
#   - exactly one replica sequences (the tlog_leader gauge of /metrics);
#   - steady state: `sigstead bench rekor` over the three URLs acknowledges
#     at least 99.9% of submissions (no 503), and every entry read back at
#     once from another replica is there (read-your-writes);
#   - failover: under the same load the leader is SIGKILLed $KILLS times
#     (default 2; restarted each time); acknowledgements resume within 5 s
#     of each kill;
#   - afterwards (replicas_check.py): no index was acknowledged for two
#     entries, every acknowledged entry is served by every replica, every
#     replica serves the same newest checkpoint, and the checkpoint of every
#     receipt is consistent with it (consistency proofs verified);
#   - a replica stopped with SIGTERM hands its lease over at once.
# KILLS=20 makes it the failover benchmark of the README.
# Prints PASS/FAIL lines and a closing `N passed, N failed`.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
e2e_init replicas "${1:-postgres}"
[ "$BACKEND" = postgres ] || { echo "replicas.sh needs postgres (SQLite is single-process)"; exit 2; }
require_sigstead || finish
KILLS="${KILLS:-2}"
STEADY_SECONDS="${STEADY_SECONDS:-10}"
CONCURRENCY="${CONCURRENCY:-48}"

DB="sigstead_replicas_$$"
psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >"$RUN/log/createdb.log" 2>&1 \
    || { fail setup_postgres "$(tail -2 "$RUN/log/createdb.log")"; DB=""; finish; }
DB_URL="$PG_URL/$DB"
BASE="$(python3 "$ROOT/tests/tools/free-port-base.py" 3)"
URLS=(); for k in 0 1 2; do URLS+=("http://127.0.0.1:$((BASE + k))"); done
step() { local name="$1"; shift; if "$@" >"$RUN/log/$name.log" 2>&1; then pass "$name"; else fail "$name" "$(tail -2 "$RUN/log/$name.log")"; finish; fi; }
step migrate "$SIGSTEAD_BIN" migrate --database-url "$DB_URL"
step rekor_init "$SIGSTEAD_BIN" rekor init --data-dir "$RUN/rekor" --listen "127.0.0.1:$BASE" --database-url "$DB_URL"
# One key and one public URL (the checkpoint origin) for all; a listen address each.
for k in 0 1 2; do
    sed "s|^listen = .*|listen = \"127.0.0.1:$((BASE + k))\"|" "$RUN/rekor/rekor.toml" >"$RUN/rekor/rekor-$k.toml"
done

PID0=""; PID1=""; PID2=""
E2E_PIDS=(PID0 PID1 PID2)
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1"; }
start_replica() { # start_replica K
    "$SIGSTEAD_BIN" serve rekor --config "$RUN/rekor/rekor-$1.toml" >>"$RUN/log/replica-$1.log" 2>&1 &
    printf -v "PID$1" '%s' "$!"
    for _ in $(seq 100); do [ "$(code "${URLS[$1]}/readyz")" = 200 ] && return 0; sleep 0.1; done
    return 1
}
leaders() { # the indexes of the replicas whose tlog_leader gauge is 1
    local k
    for k in 0 1 2; do
        curl -s --max-time 5 "${URLS[$k]}/metrics" >"$RUN/metrics-$k.txt" 2>/dev/null
        grep -q '^tlog_leader{log="rekor"} 1$' "$RUN/metrics-$k.txt" && echo "$k"
    done
}
for k in 0 1 2; do
    start_replica "$k" && pass "replica_${k}_ready" || { fail "replica_${k}_ready" "$(tail -3 "$RUN/log/replica-$k.log")"; finish; }
done
L="$(leaders | tr '\n' ' ')"
[ "$(wc -w <<<"$L")" = 1 ] && pass "exactly_one_leader_at_once(replica_${L% })" || fail exactly_one_leader_at_once "leaders: [$L]"

# Steady state.
bench() { # bench NAME SECONDS: the load over the three URLs, recorded
    "$SIGSTEAD_BIN" bench rekor "${URLS[@]/#/--url=}" --duration "$2" --concurrency "$CONCURRENCY" \
        --max-requests $(( $2 * 2500 )) --entry-shape key --clients 64 --record "$RUN/$1.jsonl" --read-back-every 10 \
        >"$RUN/$1.json" 2>"$RUN/log/bench-$1.log"
}
if bench steady "$STEADY_SECONDS"; then pass steady_load_runs; else fail steady_load_runs "$(tail -3 "$RUN/log/bench-steady.log")"; finish; fi
read -r ok errs misses backs <<<"$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["appended"], sum(r["errors"].values()), r.get("read_back_misses", -1), r.get("read_backs", 0))' "$RUN/steady.json")"
python3 -c "import sys; ok, e = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if ok > 0 and e * 1000 <= ok + e else 1)" "$ok" "$errs" \
    && pass "steady_state_acknowledges_99.9pct(${ok}_ok_${errs}_errors)" \
    || fail steady_state_acknowledges_99.9pct "$ok acknowledged, $errs errors: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["errors"])' "$RUN/steady.json")"
[ "$misses" = 0 ] && [ "$backs" -gt 0 ] && pass "read_your_writes_on_another_replica(${backs}_reads)" \
    || fail read_your_writes_on_another_replica "$misses of $backs entries read back from another replica at once were missing"

# Failover under load: SIGKILL the leader $KILLS times.
: >"$RUN/kills.txt"
bench failover $((KILLS * 9 + 4)) &
BENCH_PID=$!
# Kill only once the load runs (the bench signs its requests first).
for _ in $(seq 600); do [ -s "$RUN/failover.jsonl" ] && break; kill -0 "$BENCH_PID" 2>/dev/null || break; sleep 0.1; done
sleep 2
killed=0
for round in $(seq "$KILLS"); do
    L="$(leaders | head -1)"
    if [ -z "$L" ]; then fail "leader_found_before_kill_$round" "no replica reports tlog_leader 1"; break; fi
    pid_var="PID$L"
    echo "$(date +%s%3N) $L" >>"$RUN/kills.txt"
    kill -9 "${!pid_var}" 2>/dev/null; wait "${!pid_var}" 2>/dev/null
    killed=$((killed + 1))
    sleep 6
    start_replica "$L" || { fail "replica_${L}_restarts_after_kill_$round" "$(tail -3 "$RUN/log/replica-$L.log")"; break; }
    sleep 3
done
wait "$BENCH_PID" && pass "load_ran_through_${killed}_leader_kills" || fail "load_ran_through_${killed}_leader_kills" "$(tail -3 "$RUN/log/bench-failover.log")"
L="$(leaders | tr '\n' ' ')"
[ "$(wc -w <<<"$L")" = 1 ] && pass exactly_one_leader_after_the_kills || fail exactly_one_leader_after_the_kills "leaders: [$L]"

cat "$RUN/steady.jsonl" "$RUN/failover.jsonl" >"$RUN/all.jsonl"
python3 "$HERE/replicas_check.py" "$RUN/all.jsonl" "$RUN/kills.txt" "${URLS[@]}" >"$RUN/check.out" 2>"$RUN/log/check.err"
while read -r line; do
    case "$line" in
        PASS\ *) pass "${line#PASS }" ;;
        FAIL\ *) n="${line#FAIL }"; fail "${n%%:*}" "${n#*: }" ;;
        \{*) echo "figures: $line"; cp "$RUN/check.out" "$ROOT/tests/.work/replicas-figures.txt" 2>/dev/null ;;
    esac
done <"$RUN/check.out"
[ -s "$RUN/log/check.err" ] && fail replicas_check_ran "$(tail -3 "$RUN/log/check.err")"

# A graceful stop (SIGTERM, a rolling restart) hands the lease over at once.
L="$(leaders | head -1)"
if [ -n "$L" ]; then
    pid_var="PID$L"; t0=$(date +%s%3N)
    stop_pid "$pid_var"
    new=""
    for _ in $(seq 50); do new="$(leaders | head -1)"; [ -n "$new" ] && break; sleep 0.1; done
    ms=$(( $(date +%s%3N) - t0 ))
    [ -n "$new" ] && [ "$new" != "$L" ] && [ "$ms" -lt 2000 ] && pass "sigterm_hands_the_lease_over(${ms}ms)" \
        || fail sigterm_hands_the_lease_over "new leader [$new] after $ms ms"
fi
finish
