#!/usr/bin/env bash
# js.sh [sqlite|postgres]: the sigstore-js clients against a fresh `sigstead up`.
#
# Clients (pinned in tests/e2e/js/package.json, installed with `npm ci`):
# sigstore 4.1.1 / @sigstore/sign 4.1.1 / @sigstore/verify 3.1.1 through the
# drivers tests/e2e/js/sign.mjs and verify.mjs, and the @sigstore/cli 0.8.1
# executable; cross-checked with cosign 3.1.1 and sigstore-python 4.5.1.
#
# 1. js signs a blob (sigstore.sign with fixed URLs, and @sigstore/sign with the
#    stack's signing config); js, cosign and python verify the bundles.
# 2. js attests (DSSE, Rekor dsse 0.0.1), both ways; js, cosign
#    verify-blob-attestation and python verify the bundles.
# 3. cosign and python sign and attest; js verifies their bundles.
# 4. Negative cases js verify must refuse: wrong identity (also a prefix of the
#    right one, and one that matches only as an unescaped regex), wrong issuer,
#    changed artifact, trusted roots naming another CA or another CT key.
# 5. @sigstore/cli attest (Rekor intoto 0.0.2); cosign and js verify it. python is
#    expected to reject intoto bundles: reported as NOTE, not counted.
# Prints PASS/FAIL lines and a closing `N passed, N failed`; exits non-zero if any
# check failed. The server is stopped on exit; the temp dir (tests/.work/js-*) is
# removed when everything passed.
set -uo pipefail
BACKEND="${1:-sqlite}"
case "$BACKEND" in sqlite|postgres) ;; *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;; esac
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
JS="$HERE/js"
SIGSTEAD_BIN="${SIGSTEAD_BIN:-$ROOT/target/debug/sigstead}"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/tests/.work/bin}"
VENV_DIR="${VENV_DIR:-$ROOT/tests/.venv}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
mkdir -p "$ROOT/tests/.work"
RUN="$(mktemp -d "$ROOT/tests/.work/js-$BACKEND.XXXXXX")"
STARTED=$SECONDS
passed=0; failed=0; PID=""; DB=""
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $(printf '%s' "$2" | tr '\n' ' ' | cut -c1-400)"; failed=$((failed + 1)); }
note() { echo "NOTE $1: $(printf '%s' "$2" | tr '\n' ' ' | cut -c1-400)"; }
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""; fi; }
finish() {
    stop
    [ -n "$DB" ] && psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
    if [ "$failed" -eq 0 ]; then rm -rf "$RUN"; else echo "logs kept in $RUN"; fi
    echo "js.sh ($BACKEND): $((SECONDS - STARTED)) s"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]; exit $?
}
trap stop EXIT
trap 'echo "interrupted"; stop; exit 130' INT TERM

# ------------------------------------------------------------------ setup
[ -x "$SIGSTEAD_BIN" ] || { fail setup_sigstead "no executable $SIGSTEAD_BIN (set SIGSTEAD_BIN)"; finish; }

# npm ci, skipped when node_modules was installed by `npm ci` from this very
# package-lock.json with this node (stamp file), then an exact version check.
npm_setup() {
    local stamp want
    want="$(cat "$JS/package-lock.json" "$JS/package.json" | sha256sum | cut -d' ' -f1) $(node --version)"
    stamp="$JS/node_modules/.sigstead-npm-ci"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        (cd "$JS" && npm ci --no-audit --no-fund --loglevel=error) || return 1
        printf '%s\n' "$want" > "$stamp"
    fi
    node "$JS/check-versions.mjs"
}
if npm_setup >"$RUN/npm.log" 2>&1; then
    pass setup_npm_ci; echo "     $(tail -1 "$RUN/npm.log")"
else
    fail setup_npm_ci "$(tail -3 "$RUN/npm.log")"; finish
fi
bash "$ROOT/tests/tools/install-cosign.sh" "$TOOLS_DIR" >"$RUN/install.log" 2>&1 && pass setup_cosign || { fail setup_cosign "see $RUN/install.log"; finish; }
bash "$ROOT/tests/tools/setup-python.sh" "$VENV_DIR" >"$RUN/python.log" 2>&1 && pass setup_python || { fail setup_python "see $RUN/python.log"; finish; }
COSIGN="$TOOLS_DIR/cosign"
PYSIG="$VENV_DIR/bin/sigstore"      # the python `sigstore`; the npm one is $NPMSIG
NPMSIG="$JS/node_modules/.bin/sigstore"
BASE="$(python3 "$ROOT/tests/tools/free-port-base.py" 8)"
REKOR="http://127.0.0.1:$BASE"
FULCIO="http://127.0.0.1:$((BASE + 1))"
ISSUER="http://127.0.0.1:$((BASE + 3))"
ID="alice@example.com"
WORK="$RUN/work"; mkdir -p "$WORK"
export HOME="$RUN/home" XDG_DATA_HOME="$RUN/xdg-data" XDG_CACHE_HOME="$RUN/xdg-cache" COLUMNS=200
mkdir -p "$HOME"
unset CI SIGSTORE_ID_TOKEN SIGSTORE_IDENTITY_TOKEN
DBARG=()
if [ "$BACKEND" = postgres ]; then
    DB="sigstead_js_$$"
    psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >/dev/null || { fail setup_postgres "cannot create $DB"; finish; }
    DBARG=(--database-url "$PG_URL/$DB")
fi

(cd "$WORK" && exec "$SIGSTEAD_BIN" up --data-dir "$RUN/data" --port-base "$BASE" "${DBARG[@]}") >"$RUN/up.out" 2>"$RUN/up.err" &
PID=$!
up=""
for _ in $(seq 150); do
    if curl -fsS "$REKOR/healthz" >/dev/null 2>&1 && curl -fsS "$FULCIO/healthz" >/dev/null 2>&1 \
        && grep -q "cosign verify-blob" "$RUN/up.out"; then up=1; break; fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.2
done
if [ -n "$up" ]; then pass up_starts; else fail up_starts "$(grep -v '^ ' "$RUN/up.err" | tail -3)"; finish; fi
D="$RUN/data"
TR="$D/trusted_root.json"; TC="$D/trust_config.json"; SC="$D/signing_config.v0.2.json"
for f in "$TR" "$TC" "$SC"; do [ -s "$f" ] || { fail up_writes_trust_files "missing $f"; finish; }; done

# ------------------------------------------------------------------ helpers
# ok NAME CMD...: CMD (run in $WORK, output in $RUN/NAME.log) must succeed.
ok() {
    local name="$1"; shift
    if (cd "$WORK" && "$@") >"$RUN/$name.log" 2>&1; then pass "$name"; else fail "$name" "$(tail -5 "$RUN/$name.log")"; fi
}
# ok_after NAME PREREQ-FILE CMD...: as ok, but FAIL at once when an earlier step
# did not produce PREREQ-FILE (so one failure does not masquerade as another).
ok_after() {
    local name="$1" need="$2"; shift 2
    if [ ! -s "$WORK/$need" ]; then fail "$name" "skipped: $need was not produced"; return; fi
    ok "$name" "$@"
}
# js_rejects NAME BUNDLE VERIFY-ARGS...: verify.mjs must refuse, with exit 1 and
# "verification failed" (exit 2 = usage/input error, which proves nothing).
js_rejects() {
    local name="$1" bundle="$2" rc; shift 2
    if [ ! -s "$WORK/$bundle" ]; then fail "$name" "skipped: $bundle was not produced"; return; fi
    (cd "$WORK" && node "$JS/verify.mjs" --bundle "$bundle" "$@") >"$RUN/$name.log" 2>&1
    rc=$?
    if [ "$rc" -eq 1 ] && grep -q '^verification failed: ' "$RUN/$name.log"; then
        pass "$name"; echo "     $(grep -m1 '^verification failed: ' "$RUN/$name.log" | cut -c1-200)"
    elif [ "$rc" -eq 0 ]; then fail "$name" "accepted: $(tail -1 "$RUN/$name.log")"
    else fail "$name" "driver error (exit $rc): $(tail -3 "$RUN/$name.log")"; fi
}
jsv() { node "$JS/verify.mjs" --trusted-root "$TR" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" "$@"; }
cosign_vb() { "$COSIGN" verify-blob --trusted-root "$TR" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" "$@"; }
cosign_vba() { "$COSIGN" verify-blob-attestation --trusted-root "$TR" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" "$@"; }
py_verify() { "$PYSIG" --trust-config "$TC" verify identity --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" "$@"; }

"$SIGSTEAD_BIN" dev token --data-dir "$D" --email "$ID" --out "$WORK/token.jwt" >"$RUN/token.log" 2>&1 \
    && [ -s "$WORK/token.jwt" ] && pass dev_token || { fail dev_token "$(tail -3 "$RUN/token.log")"; finish; }
echo "hello from sigstore-js" > "$WORK/artifact"
cp "$WORK/artifact" "$WORK/changed"; echo "x" >> "$WORK/changed"
printf '%s' '{"buildDefinition":{"buildType":"https://example.com/bt","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/b"}}}' > "$WORK/pred.json"
SLSA=https://slsa.dev/provenance/v1
FIXED=(--fulcio-url "$FULCIO" --rekor-url "$REKOR")

# ------------------------------------------------------------------ 1. blobs signed by js
ok js_sign_blob node "$JS/sign.mjs" blob --token token.jwt "${FIXED[@]}" --bundle js-blob.json artifact
ok_after js_verifies_js_blob js-blob.json jsv --bundle js-blob.json artifact
ok_after cosign_verifies_js_blob js-blob.json cosign_vb --bundle js-blob.json artifact
ok_after python_verifies_js_blob js-blob.json py_verify --bundle js-blob.json artifact
ok js_sign_blob_signing_config node "$JS/sign.mjs" blob --token token.jwt --signing-config "$SC" --bundle js-blob-sc.json artifact
ok_after js_verifies_js_blob_signing_config js-blob-sc.json jsv --bundle js-blob-sc.json artifact
ok_after cosign_verifies_js_blob_signing_config js-blob-sc.json cosign_vb --bundle js-blob-sc.json artifact
ok_after python_verifies_js_blob_signing_config js-blob-sc.json py_verify --bundle js-blob-sc.json artifact

# ------------------------------------------------------------------ 2. DSSE attestations by js
ok js_attest node "$JS/sign.mjs" attest --token token.jwt "${FIXED[@]}" --predicate-type "$SLSA" --predicate pred.json --bundle js-att.json artifact
ok_after js_verifies_js_attestation js-att.json jsv --bundle js-att.json --predicate-type "$SLSA" artifact
ok_after cosign_verifies_js_attestation js-att.json cosign_vba --bundle js-att.json --type "$SLSA" artifact
ok_after python_verifies_js_attestation js-att.json py_verify --bundle js-att.json artifact
ok js_attest_signing_config node "$JS/sign.mjs" attest --token token.jwt --signing-config "$SC" --predicate-type "$SLSA" --predicate pred.json --bundle js-att-sc.json artifact
ok_after js_verifies_js_attestation_signing_config js-att-sc.json jsv --bundle js-att-sc.json --predicate-type "$SLSA" artifact
ok_after cosign_verifies_js_attestation_signing_config js-att-sc.json cosign_vba --bundle js-att-sc.json --type "$SLSA" artifact
ok_after python_verifies_js_attestation_signing_config js-att-sc.json py_verify --bundle js-att-sc.json artifact
# Which Rekor entry kinds the js bundles carry (the brief: hashedrekord 0.0.1 / dsse 0.0.1).
kinds="$(cd "$WORK" && for b in js-blob.json js-blob-sc.json js-att.json js-att-sc.json; do
    [ -s "$b" ] && python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["verificationMaterial"]["tlogEntries"][0]["kindVersion"]; print(sys.argv[1]+"="+e["kind"]+"/"+e["version"])' "$b"; done | tr '\n' ' ')"
case "$kinds" in
    *"js-blob.json=hashedrekord/0.0.1 js-blob-sc.json=hashedrekord/0.0.1 js-att.json=dsse/0.0.1 js-att-sc.json=dsse/0.0.1 "*) pass js_entry_kinds ;;
    *) fail js_entry_kinds "got: $kinds" ;;
esac

# ------------------------------------------------------------------ 3. other clients' bundles, verified by js
ok cosign_sign_blob "$COSIGN" sign-blob --yes --signing-config "$SC" --trusted-root "$TR" --identity-token token.jwt --bundle cosign-blob.json artifact
ok_after js_verifies_cosign_blob cosign-blob.json jsv --bundle cosign-blob.json artifact
ok python_sign_blob "$PYSIG" --trust-config "$TC" sign --identity-token "$(cat "$WORK/token.jwt")" --bundle py-blob.json artifact
ok_after js_verifies_python_blob py-blob.json jsv --bundle py-blob.json artifact
ok cosign_attest_blob "$COSIGN" attest-blob --yes --signing-config "$SC" --trusted-root "$TR" --identity-token token.jwt --predicate pred.json --type slsaprovenance1 --bundle cosign-att.json artifact
ok_after js_verifies_cosign_attestation cosign-att.json jsv --bundle cosign-att.json --predicate-type "$SLSA" artifact
ok python_attest "$PYSIG" --trust-config "$TC" attest --identity-token "$(cat "$WORK/token.jwt")" --predicate pred.json --predicate-type "$SLSA" --bundle py-att.json artifact
ok_after js_verifies_python_attestation py-att.json jsv --bundle py-att.json --predicate-type "$SLSA" artifact

# ------------------------------------------------------------------ 4. negative cases for js verify
# Trust roots naming another CA (the leaf does not chain to it) or another CT key
# (the Rekor key in its place), substituted as up.sh does.
"$SIGSTEAD_BIN" ca init --dir "$RUN/other-ca" >"$RUN/other-ca.log" 2>&1
python3 - "$TR" "$RUN" <<'PY' >"$RUN/trust-variants.log" 2>&1
import base64, json, re, sys
tr_path, run = sys.argv[1], sys.argv[2]
tr = json.load(open(tr_path))
pem = open(f"{run}/other-ca/ca-chain.pem").read()
ders = [base64.b64decode("".join(b.split())) for b in re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)]
assert ders, "no certificates in other-ca/ca-chain.pem"
other_ca = json.loads(json.dumps(tr))
other_ca["certificateAuthorities"][0]["certChain"]["certificates"] = [{"rawBytes": base64.b64encode(x).decode()} for x in ders]
assert other_ca["certificateAuthorities"] != tr["certificateAuthorities"]
other_ct = json.loads(json.dumps(tr))
other_ct["ctlogs"][0]["publicKey"]["rawBytes"] = tr["tlogs"][0]["publicKey"]["rawBytes"]
other_ct["ctlogs"][0]["logId"] = tr["tlogs"][0]["logId"]
for name, doc in [("other-ca", other_ca), ("other-ct", other_ct)]:
    json.dump(doc, open(f"{run}/{name}.trusted_root.json", "w"))
PY
[ -s "$RUN/other-ca.trusted_root.json" ] || fail trust_root_variants "$(tail -3 "$RUN/other-ca.log" "$RUN/trust-variants.log")"

js_rejects js_rejects_wrong_identity js-blob.json --trusted-root "$TR" --certificate-identity bob@example.com --certificate-oidc-issuer "$ISSUER" artifact
js_rejects js_rejects_identity_prefix js-blob.json --trusted-root "$TR" --certificate-identity alice@example.co --certificate-oidc-issuer "$ISSUER" artifact
js_rejects js_rejects_identity_unescaped_regex js-blob.json --trusted-root "$TR" --certificate-identity 'alice.example.com' --certificate-oidc-issuer "$ISSUER" artifact
js_rejects js_rejects_wrong_issuer js-blob.json --trusted-root "$TR" --certificate-identity "$ID" --certificate-oidc-issuer https://accounts.example.com artifact
js_rejects js_rejects_issuer_prefix js-blob.json --trusted-root "$TR" --certificate-identity "$ID" --certificate-oidc-issuer "http://127.0.0.1" artifact
js_rejects js_rejects_changed_artifact js-blob.json --trusted-root "$TR" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" changed
js_rejects js_rejects_changed_artifact_python_bundle py-blob.json --trusted-root "$TR" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" changed
js_rejects js_rejects_attestation_for_changed_artifact js-att.json --trusted-root "$TR" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" changed
js_rejects js_rejects_attestation_wrong_identity js-att.json --trusted-root "$TR" --certificate-identity bob@example.com --certificate-oidc-issuer "$ISSUER" artifact
for variant in other-ca other-ct; do
    js_rejects "js_rejects_trust_root_with_$variant" js-blob.json --trusted-root "$RUN/$variant.trusted_root.json" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
    js_rejects "js_rejects_trust_root_with_${variant}_attestation" js-att.json --trusted-root "$RUN/$variant.trusted_root.json" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
done

# ------------------------------------------------------------------ 5. @sigstore/cli 0.8.1 attest (Rekor intoto 0.0.2)
printf '{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"artifact","digest":{"sha256":"%s"}}],"predicateType":"https://example.com/p/v1","predicate":{}}' \
    "$(sha256sum "$WORK/artifact" | cut -d' ' -f1)" > "$WORK/stmt.json"
ok cli_attest env CI=true SIGSTORE_ID_TOKEN="$(cat "$WORK/token.jwt")" "$NPMSIG" attest stmt.json --fulcio-url "$FULCIO" --rekor-url "$REKOR" --timeout 20 -o cli-att.json
if [ -s "$WORK/cli-att.json" ]; then
    kind="$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["verificationMaterial"]["tlogEntries"][0]["kindVersion"]; print(e["kind"]+"/"+e["version"])' "$WORK/cli-att.json" 2>&1)"
    [ "$kind" = intoto/0.0.2 ] && pass cli_attest_logs_intoto_0.0.2 || fail cli_attest_logs_intoto_0.0.2 "entry kind $kind"
else
    fail cli_attest_logs_intoto_0.0.2 "skipped: cli-att.json was not produced"
fi
ok_after cosign_verifies_cli_attestation cli-att.json cosign_vba --bundle cli-att.json --type https://example.com/p/v1 artifact
ok_after js_verifies_cli_attestation cli-att.json jsv --bundle cli-att.json --predicate-type https://example.com/p/v1 artifact
js_rejects js_rejects_cli_attestation_wrong_identity cli-att.json --trusted-root "$TR" --certificate-identity bob@example.com --certificate-oidc-issuer "$ISSUER" artifact
# Expected: sigstore-python 4.5.1 refuses intoto entries. Reported, not counted.
if [ -s "$WORK/cli-att.json" ]; then
    if (cd "$WORK" && py_verify --bundle cli-att.json artifact) >"$RUN/python_on_cli_attestation.log" 2>&1; then
        note python_on_cli_attestation "python ACCEPTED the intoto 0.0.2 bundle (clients.md expects a rejection)"
    else
        note python_on_cli_attestation "rejected as expected: $(grep -v '^\s*$' "$RUN/python_on_cli_attestation.log" | sed 's/^.*ERROR *//; s/ *[a-z_]*\.py:[0-9]* *$//' | tr -s ' ' | tr '\n' ' ' | cut -c1-200)"
    fi
fi

size="$(curl -fsS "$REKOR/api/v1/log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["treeSize"])' 2>/dev/null)"
echo "     rekor treeSize ${size:-?}"
finish
