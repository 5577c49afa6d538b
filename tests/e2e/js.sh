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
# Prints PASS/FAIL (and NOTE) lines and a closing `N passed, N failed`; exits
# non-zero if any check failed. Setup, the stack, the counters and finish come
# from lib.sh: the server is stopped on exit; the run directory (tests/.work/js-*,
# logs in its log/) is removed when everything passed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
e2e_init js "${1:-sqlite}"

# ------------------------------------------------------------------ setup
require_sigstead || finish
setup_npm && setup_cosign && setup_python || finish
isolate_home
stack_up || finish
ID="alice@example.com"

# ------------------------------------------------------------------ helpers
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
    local name="$1" bundle="$2" log="$RUN/log/$1.log" rc; shift 2
    if [ ! -s "$WORK/$bundle" ]; then fail "$name" "skipped: $bundle was not produced"; return; fi
    (cd "$WORK" && node "$JS/verify.mjs" --bundle "$bundle" "$@") >"$log" 2>&1
    rc=$?
    if [ "$rc" -eq 1 ] && grep -q '^verification failed: ' "$log"; then
        pass "$name"; echo "     $(grep -m1 '^verification failed: ' "$log" | cut -c1-200)"
    elif [ "$rc" -eq 0 ]; then fail "$name" "accepted: $(tail -1 "$log")"
    else fail "$name" "driver error (exit $rc): $(tail -3 "$log")"; fi
}
jsv() { node "$JS/verify.mjs" --trusted-root "$TR" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" "$@"; }
cosign_vb() { "$COSIGN" verify-blob --trusted-root "$TR" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" "$@"; }
cosign_vba() { "$COSIGN" verify-blob-attestation --trusted-root "$TR" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" "$@"; }
py_verify() { "$PYSIG" --trust-config "$TC" verify identity --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" "$@"; }

dev_token || finish
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
# (the Rekor key in its place), made by lib.sh as for up.sh.
other_ca_root "$RUN/other-ca.trusted_root.json"
other_ct_root "$RUN/other-ct.trusted_root.json"
[ -s "$RUN/other-ca.trusted_root.json" ] && [ -s "$RUN/other-ct.trusted_root.json" ] \
    || fail trust_root_variants "$(tail -3 "$RUN/log/other-ca.log" "$RUN/log/other-ct.log")"

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
    if (cd "$WORK" && py_verify --bundle cli-att.json artifact) >"$RUN/log/python_on_cli_attestation.log" 2>&1; then
        note python_on_cli_attestation "python ACCEPTED the intoto 0.0.2 bundle (clients.md expects a rejection)"
    else
        note python_on_cli_attestation "rejected as expected: $(grep -v '^\s*$' "$RUN/log/python_on_cli_attestation.log" | sed 's/^.*ERROR *//; s/ *[a-z_]*\.py:[0-9]* *$//' | tr -s ' ' | tr '\n' ' ' | cut -c1-200)"
    fi
fi

echo "     rekor treeSize $(rekor_tree_size)"
finish
