#!/usr/bin/env bash
# up.sh [sqlite|postgres]: the README's start command, tried as a new user
# would, and the keyless flow it enables, with real clients.
#
# 1. `sigstead up` in an empty data directory; every command it prints is run
#    verbatim (the first word mapped to the pinned binary: sigstead, cosign
#    3.1.1, sigstore-python 4.5.1): dev token, keyless cosign sign-blob /
#    verify-blob, keyless sigstore-python sign / verify, key-based cosign.
# 2. Cross-verification (each client verifies the other's keyless bundle),
#    cosign attest-blob / verify-blob-attestation, sigstore-python attest.
# 3. Negative cases every verifier must refuse: wrong identity, wrong issuer,
#    changed artifact, a trusted root naming another CA, another CT key.
# 4. A restart reuses the keys, and the earlier bundles still verify.
# Prints PASS/FAIL lines and a closing `N passed, N failed`.
set -uo pipefail
BACKEND="${1:-sqlite}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SIGSTEAD_BIN="${SIGSTEAD_BIN:-$ROOT/target/release/sigstead}"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/tests/.work/bin}"
VENV_DIR="${VENV_DIR:-$ROOT/tests/.venv}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
mkdir -p "$ROOT/tests/.work"
RUN="$(mktemp -d "$ROOT/tests/.work/up-$BACKEND.XXXXXX")"
passed=0; failed=0; PID=""; DB=""
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $(printf '%s' "$2" | tr '\n' ' ' | cut -c1-400)"; failed=$((failed + 1)); }
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""; fi; }
finish() {
    stop
    [ -n "$DB" ] && psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
    [ "$failed" -eq 0 ] && rm -rf "$RUN"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]; exit $?
}
trap stop EXIT

bash "$ROOT/tests/tools/install-cosign.sh" "$TOOLS_DIR" >"$RUN/install.log" 2>&1 || { fail setup_cosign "see $RUN/install.log"; finish; }
bash "$ROOT/tests/tools/setup-python.sh" "$VENV_DIR" >"$RUN/python.log" 2>&1 || { fail setup_python "see $RUN/python.log"; finish; }
COSIGN="$TOOLS_DIR/cosign"
PYSIG="$VENV_DIR/bin/sigstore"
BASE="$(python3 "$ROOT/tests/tools/free-port-base.py" 8)"
ISSUER="http://127.0.0.1:$((BASE + 3))"
WORK="$RUN/work"; mkdir -p "$WORK"
export HOME="$RUN/home" XDG_DATA_HOME="$RUN/xdg-data" XDG_CACHE_HOME="$RUN/xdg-cache" COSIGN_PASSWORD="up-test" COLUMNS=200
mkdir -p "$HOME"
DBARG=()
if [ "$BACKEND" = postgres ]; then
    DB="sigstead_up_$$"
    psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >/dev/null || { fail setup_postgres "cannot create $DB"; finish; }
    DBARG=(--database-url "$PG_URL/$DB")
fi

start_up() { # start_up LOGFILE
    (cd "$WORK" && exec "$SIGSTEAD_BIN" up --data-dir "$RUN/data" --port-base "$BASE" "${DBARG[@]}") >"$1" 2>"$1.err" &
    PID=$!
    for _ in $(seq 150); do
        if curl -fsS "http://127.0.0.1:$BASE/healthz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$((BASE + 1))/healthz" >/dev/null 2>&1 \
            && grep -q "cosign verify-blob" "$1"; then return 0; fi
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# run NAME CMD-LINE: runs a command line in $WORK with the pinned binaries.
run() {
    local name="$1" line="$2" first rest
    first="${line%% *}"; rest="${line#* }"
    case "$first" in
        sigstead) first="$SIGSTEAD_BIN" ;;
        cosign) first="$COSIGN" ;;
        sigstore) first="$PYSIG" ;;
        *) fail "$name" "unexpected command $first"; return 1 ;;
    esac
    (cd "$WORK" && eval "\"$first\" $rest") >"$RUN/$name.log" 2>&1
}
expect_ok() { if run "$1" "$2"; then pass "$1"; else fail "$1" "$2 => $(tail -3 "$RUN/$1.log")"; fi; }
expect_fail() { if run "$1" "$2"; then fail "$1" "accepted: $2"; else pass "$1"; fi; }

if start_up "$RUN/up1.out"; then pass up_starts; else fail up_starts "$(grep -v '^ ' "$RUN/up1.out.err" | tail -3)"; finish; fi
for f in trusted_root.json signing_config.v0.2.json trust_config.json; do
    [ -s "$RUN/data/$f" ] && pass "up_writes_$f" || fail "up_writes_$f" "missing"
done

# 1. Every printed command, verbatim.
echo "hello from a new user" > "$WORK/artifact"
n=0
while IFS= read -r line; do
    line="${line#"${line%%[![:space:]]*}"}"
    n=$((n + 1))
    expect_ok "printed_$n(${line%% --*})" "$line"
done < <(grep -E '^\s+(sigstead|cosign|sigstore) ' "$RUN/up1.out")
[ "$n" -ge 14 ] && pass up_printed_all_flows || fail up_printed_all_flows "found $n commands"
D="$RUN/data"
TR="$D/trusted_root.json"; TC="$D/trust_config.json"; SC="$D/signing_config.v0.2.json"

# 2. Cross-verification and attestations.
expect_ok cosign_verifies_python_bundle "cosign verify-blob --trusted-root $TR --bundle artifact.py.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER artifact"
expect_ok python_verifies_cosign_bundle "sigstore --trust-config $TC verify identity --bundle artifact.sigstore.json --cert-identity alice@example.com --cert-oidc-issuer $ISSUER artifact"
printf '%s' '{"buildDefinition":{"buildType":"https://example.com/bt","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/b"}}}' > "$WORK/pred.json"
expect_ok token_for_attest "sigstead dev token --data-dir $D --email alice@example.com --out token.jwt"
expect_ok cosign_attest_blob "cosign attest-blob --yes --signing-config $SC --trusted-root $TR --identity-token token.jwt --predicate pred.json --type slsaprovenance1 --bundle att.cosign.json artifact"
expect_ok cosign_verify_blob_attestation "cosign verify-blob-attestation --trusted-root $TR --bundle att.cosign.json --type slsaprovenance1 --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER artifact"
expect_ok python_attest "sigstore --trust-config $TC attest --identity-token \"\$(cat token.jwt)\" --predicate pred.json --predicate-type https://slsa.dev/provenance/v1 --bundle att.py.json artifact"
expect_ok python_verifies_own_attestation "sigstore --trust-config $TC verify identity --bundle att.py.json --cert-identity alice@example.com --cert-oidc-issuer $ISSUER artifact"
expect_ok cosign_verifies_python_attestation "cosign verify-blob-attestation --trusted-root $TR --bundle att.py.json --type https://slsa.dev/provenance/v1 --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER artifact"

# 3. Negative cases.
expect_fail cosign_rejects_wrong_identity "cosign verify-blob --trusted-root $TR --bundle artifact.sigstore.json --certificate-identity bob@example.com --certificate-oidc-issuer $ISSUER artifact"
expect_fail python_rejects_wrong_identity "sigstore --trust-config $TC verify identity --bundle artifact.sigstore.json --cert-identity bob@example.com --cert-oidc-issuer $ISSUER artifact"
expect_fail cosign_rejects_wrong_issuer "cosign verify-blob --trusted-root $TR --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer https://accounts.example.com artifact"
expect_fail python_rejects_wrong_issuer "sigstore --trust-config $TC verify identity --bundle artifact.py.sigstore.json --cert-identity alice@example.com --cert-oidc-issuer https://accounts.example.com artifact"
cp "$WORK/artifact" "$WORK/changed"; echo "x" >> "$WORK/changed"
expect_fail cosign_rejects_changed_artifact "cosign verify-blob --trusted-root $TR --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER changed"
expect_fail python_rejects_changed_artifact "sigstore --trust-config $TC verify identity --bundle artifact.py.sigstore.json --cert-identity alice@example.com --cert-oidc-issuer $ISSUER changed"
# Trust roots that name another CA, or another CT key.
"$SIGSTEAD_BIN" ca init --dir "$RUN/other-ca" >/dev/null 2>&1
python3 - "$D" "$RUN" <<'PY'
import base64, json, re, sys
d, run = sys.argv[1], sys.argv[2]
tc = json.load(open(f"{d}/trust_config.json"))
pem = open(f"{run}/other-ca/ca-chain.pem").read()
ders = [base64.b64decode("".join(b.split())) for b in re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)]
other_ca = json.loads(json.dumps(tc))
other_ca["trustedRoot"]["certificateAuthorities"][0]["certChain"]["certificates"] = [{"rawBytes": base64.b64encode(x).decode()} for x in ders]
other_ct = json.loads(json.dumps(tc))
other_ct["trustedRoot"]["ctlogs"][0]["publicKey"]["rawBytes"] = tc["trustedRoot"]["tlogs"][0]["publicKey"]["rawBytes"]
other_ct["trustedRoot"]["ctlogs"][0]["logId"] = tc["trustedRoot"]["tlogs"][0]["logId"]
for name, doc in [("other-ca", other_ca), ("other-ct", other_ct)]:
    json.dump(doc, open(f"{run}/{name}.trust_config.json", "w"))
    json.dump(doc["trustedRoot"], open(f"{run}/{name}.trusted_root.json", "w"))
PY
for variant in other-ca other-ct; do
    expect_fail "cosign_rejects_trust_root_with_$variant" "cosign verify-blob --trusted-root $RUN/$variant.trusted_root.json --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER artifact"
    expect_fail "python_rejects_trust_root_with_$variant" "sigstore --trust-config $RUN/$variant.trust_config.json verify identity --bundle artifact.py.sigstore.json --cert-identity alice@example.com --cert-oidc-issuer $ISSUER artifact"
done

# 4. Restart: same keys, same trust root, the earlier bundles still verify.
sum1="$(sha256sum "$TR" | cut -d' ' -f1)"
stop
if start_up "$RUN/up2.out"; then pass up_restarts; else fail up_restarts "$(grep -v '^ ' "$RUN/up2.out.err" | tail -3)"; fi
sum2="$(sha256sum "$TR" | cut -d' ' -f1)"
[ "$sum1" = "$sum2" ] && pass up_reuses_keys || fail up_reuses_keys "trusted_root.json changed across restarts"
expect_ok old_bundle_verifies_after_restart "cosign verify-blob --trusted-root $TR --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER artifact"
expect_ok token_after_restart "sigstead dev token --data-dir $D --email carol@example.com --out token2.jwt"
expect_ok sign_after_restart "cosign sign-blob --yes --signing-config $SC --trusted-root $TR --identity-token token2.jwt --bundle after.json artifact"
size="$(curl -fsS "http://127.0.0.1:$BASE/api/v1/log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["treeSize"])')"
[ "${size:-0}" -ge 6 ] && pass log_kept_entries || fail log_kept_entries "treeSize $size"
finish
