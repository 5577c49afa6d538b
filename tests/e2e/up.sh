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
# Prints PASS/FAIL lines and a closing `N passed, N failed`; exits non-zero if
# any check failed. Setup, the stack (`sigstead up` with a data directory and a
# free port range of its own; started again, on the same, for step 4), the
# counters and finish come from lib.sh: the stack is stopped on exit; the run
# directory (tests/.work/up-*, logs in its log/) is removed when everything
# passed. SIGSTEAD_BIN defaults to target/release/sigstead here.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SIGSTEAD_BIN="${SIGSTEAD_BIN:-$(cd "$HERE/../.." && pwd)/target/release/sigstead}"
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
e2e_init up "${1:-sqlite}"

setup_cosign -q && setup_python -q || finish
isolate_home
export COSIGN_PASSWORD="up-test"

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
    (cd "$WORK" && eval "\"$first\" $rest") >"$RUN/log/$name.log" 2>&1
}
expect_ok() { if run "$1" "$2"; then pass "$1"; else fail "$1" "$2 => $(tail -3 "$RUN/log/$1.log")"; fi; }
# expect_fail NAME CMD-LINE WHY: the command must fail, and say why (WHY, an ERE, matches its output).
expect_fail() {
    if run "$1" "$2"; then fail "$1" "accepted: $2"
    elif [ -n "${3:-}" ] && ! grep -qE -- "$3" "$RUN/log/$1.log"; then
        fail "$1" "refused for another reason (wanted /$3/): $(grep -v '^\s*$' "$RUN/log/$1.log" | tail -2)"
    else pass "$1"; fi
}

stack_up || finish
for f in trusted_root.json signing_config.v0.2.json trust_config.json; do
    [ -s "$D/$f" ] && pass "up_writes_$f" || fail "up_writes_$f" "missing"
done

# An SQLite log is single-process: a second `sigstead up` on the same data
# directory is refused at start, naming the process that holds it.
if [ "$BACKEND" = sqlite ]; then
    expect_fail second_process_on_the_sqlite_log_refused "sigstead up --data-dir $D --port-base $((BASE + 10))" "in use by another process \(pid $UP_PID\)"
fi

# 1. Every printed command, verbatim.
echo "hello from a new user" > "$WORK/artifact"
n=0
while IFS= read -r line; do
    line="${line#"${line%%[![:space:]]*}"}"
    n=$((n + 1))
    expect_ok "printed_$n(${line%% --*})" "$line"
done < <(grep -E '^\s+(sigstead|cosign|sigstore) ' "$RUN/up.out")
[ "$n" -ge 14 ] && pass up_printed_all_flows || fail up_printed_all_flows "found $n commands"

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
expect_fail cosign_rejects_wrong_identity "cosign verify-blob --trusted-root $TR --bundle artifact.sigstore.json --certificate-identity bob@example.com --certificate-oidc-issuer $ISSUER artifact" 'expected SAN value "bob@example.com"'
expect_fail python_rejects_wrong_identity "sigstore --trust-config $TC verify identity --bundle artifact.sigstore.json --cert-identity bob@example.com --cert-oidc-issuer $ISSUER artifact" 'SANs do not match bob@example.com'
expect_fail cosign_rejects_wrong_issuer "cosign verify-blob --trusted-root $TR --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer https://accounts.example.com artifact" 'expected issuer value "https://accounts.example.com"'
expect_fail python_rejects_wrong_issuer "sigstore --trust-config $TC verify identity --bundle artifact.py.sigstore.json --cert-identity alice@example.com --cert-oidc-issuer https://accounts.example.com artifact" 'OIDCIssuer does not match'
cp "$WORK/artifact" "$WORK/changed"; echo "x" >> "$WORK/changed"
expect_fail cosign_rejects_changed_artifact "cosign verify-blob --trusted-root $TR --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER changed" 'invalid signature'
expect_fail python_rejects_changed_artifact "sigstore --trust-config $TC verify identity --bundle artifact.py.sigstore.json --cert-identity alice@example.com --cert-oidc-issuer $ISSUER changed" 'digest mismatch'
# Trust roots that name another CA, or another CT key (made by lib.sh), and
# trust configs (for python) holding them.
other_ca_root "$RUN/other-ca.trusted_root.json"
other_ct_root "$RUN/other-ct.trusted_root.json"
python3 - "$TC" "$RUN" <<'PY'
import json, sys
tc, run = sys.argv[1], sys.argv[2]
for name in ("other-ca", "other-ct"):
    doc = json.load(open(tc))
    doc["trustedRoot"] = json.load(open(f"{run}/{name}.trusted_root.json"))
    json.dump(doc, open(f"{run}/{name}.trust_config.json", "w"))
PY
# The refusals below count only if the variants exist and really differ from the
# stack's trusted root in the CA chain / CT key (a missing file would also fail).
if python3 - "$TR" "$RUN" <<'PY'
import json, sys
tr = json.load(open(sys.argv[1]))
ca = json.load(open(f"{sys.argv[2]}/other-ca.trusted_root.json"))
ct = json.load(open(f"{sys.argv[2]}/other-ct.trusted_root.json"))
assert ca["certificateAuthorities"] != tr["certificateAuthorities"] and ca["ctlogs"] == tr["ctlogs"]
assert ct["ctlogs"][0]["publicKey"] != tr["ctlogs"][0]["publicKey"] and ct["certificateAuthorities"] == tr["certificateAuthorities"]
PY
then pass trust_root_variants_differ_only_where_intended; else fail trust_root_variants_differ_only_where_intended "see the other-*.trusted_root.json files"; fi
# The reasons: another CA fails the certificate chain; another CT key fails the SCT.
declare -A COSIGN_WHY=([other-ca]="leaf certificate verification failed" [other-ct]="signed certificate timestamp")
declare -A PYTHON_WHY=([other-ca]="certificate chain" [other-ct]="SCT")
for variant in other-ca other-ct; do
    expect_fail "cosign_rejects_trust_root_with_$variant" "cosign verify-blob --trusted-root $RUN/$variant.trusted_root.json --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER artifact" "${COSIGN_WHY[$variant]}"
    expect_fail "python_rejects_trust_root_with_$variant" "sigstore --trust-config $RUN/$variant.trust_config.json verify identity --bundle artifact.py.sigstore.json --cert-identity alice@example.com --cert-oidc-issuer $ISSUER artifact" "${PYTHON_WHY[$variant]}"
done

# 3b. A Rekor key rotation published with `sigstead tuf trust-documents --previous`:
# the old key stays listed with a closed validity window, so bundles logged under
# it keep verifying; a trusted root with only the new key refuses them.
ROT="$RUN/rotated"; mkdir -p "$ROT"; printf rotation > "$ROT/pw"
TD_BASE="tuf trust-documents --rekor-url http://127.0.0.1:$BASE --ct-key $D/ctlog/ct-key.pub --ctlog-url http://127.0.0.1:$((BASE + 2)) --fulcio-url http://127.0.0.1:$((BASE + 1)) --ca-chain $D/fulcio/ca-chain.pem --oidc-url $ISSUER --tsa-url $TSA"
TD="$TD_BASE --tsa-chain $D/tsa/tsa-chain.pem"
expect_ok rotation_new_rekor_key "sigstead tuf keygen --out $ROT/new-rekor --algorithm ecdsa-p256 --password-file $ROT/pw"
expect_ok rotation_trust_documents "sigstead $TD --rekor-key $ROT/new-rekor.pub --previous $TR --out-dir $ROT/with-history"
expect_ok rotation_trust_documents_without_history "sigstead $TD --rekor-key $ROT/new-rekor.pub --out-dir $ROT/new-only"
if python3 - "$TR" "$ROT/with-history/trusted_root.json" <<'PY'
import json, sys
old, new = (json.load(open(p)) for p in sys.argv[1:3])
t = new["tlogs"]
assert len(t) == 2 and t[1]["logId"] == old["tlogs"][0]["logId"] and "end" in t[1]["publicKey"]["validFor"]
assert t[1]["publicKey"]["validFor"]["start"] == old["tlogs"][0]["publicKey"]["validFor"]["start"]
assert "end" not in t[0]["publicKey"]["validFor"] and t[0]["logId"] != old["tlogs"][0]["logId"]
PY
then pass rotation_keeps_old_rekor_key_with_closed_window; else fail rotation_keeps_old_rekor_key_with_closed_window "$(head -c 300 "$ROT/with-history/trusted_root.json")"; fi
expect_ok cosign_verifies_old_bundle_after_rekor_rotation "cosign verify-blob --trusted-root $ROT/with-history/trusted_root.json --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER artifact"
expect_ok python_verifies_old_bundle_after_rekor_rotation "sigstore --trust-config $ROT/with-history/trust_config.json verify identity --bundle artifact.py.sigstore.json --cert-identity alice@example.com --cert-oidc-issuer $ISSUER artifact"
expect_fail cosign_rejects_old_bundle_without_rekor_history "cosign verify-blob --trusted-root $ROT/new-only/trusted_root.json --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER artifact" "log inclusion|transparency log"
expect_fail python_rejects_old_bundle_without_rekor_history "sigstore --trust-config $ROT/new-only/trust_config.json verify identity --bundle artifact.py.sigstore.json --cert-identity alice@example.com --cert-oidc-issuer $ISSUER artifact" "invalid log entry|checkpoint|log key"

# 3c. A TSA rotation (a new key and chain from `sigstead tsa init`) published the
# same way: the old chain stays listed with a closed window, so the timestamps
# in earlier bundles keep verifying (cosign --use-signed-timestamps requires one).
expect_ok rotation_new_tsa "sigstead tsa init --data-dir $ROT/new-tsa --listen 127.0.0.1:1"
expect_ok tsa_rotation_trust_documents "sigstead $TD_BASE --tsa-chain $ROT/new-tsa/tsa-chain.pem --rekor-key $D/rekor/rekor-key.pub --previous $TR --out-dir $ROT/tsa-history"
# Without history, but with the original start, so that only the TSA differs.
START="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tlogs"][0]["publicKey"]["validFor"]["start"])' "$TR")"
expect_ok tsa_rotation_trust_documents_without_history "sigstead $TD_BASE --tsa-chain $ROT/new-tsa/tsa-chain.pem --rekor-key $D/rekor/rekor-key.pub --start $START --out-dir $ROT/tsa-new-only"
if python3 - "$TR" "$ROT/tsa-history/trusted_root.json" <<'PY'
import json, sys
old, new = (json.load(open(p)) for p in sys.argv[1:3])
t = new["timestampAuthorities"]
assert len(t) == 2, len(t)
assert t[1]["certChain"] == old["timestampAuthorities"][0]["certChain"] and "end" in t[1]["validFor"]
assert t[1]["validFor"]["start"] == old["timestampAuthorities"][0]["validFor"]["start"]
assert "end" not in t[0]["validFor"] and t[0]["certChain"] != t[1]["certChain"]
PY
then pass tsa_rotation_keeps_old_chain_with_closed_window; else fail tsa_rotation_keeps_old_chain_with_closed_window "$(head -c 300 "$ROT/tsa-history/trusted_root.json")"; fi
expect_ok cosign_verifies_old_timestamp_after_tsa_rotation "cosign verify-blob --use-signed-timestamps --trusted-root $ROT/tsa-history/trusted_root.json --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER artifact"
expect_fail cosign_rejects_old_timestamp_without_tsa_history "cosign verify-blob --use-signed-timestamps --trusted-root $ROT/tsa-new-only/trusted_root.json --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER artifact" "signed timestamp"

# 4. Restart: same keys, same trust root, the earlier bundles still verify.
sum1="$(sha256sum "$TR" | cut -d' ' -f1)"
stack_stop
stack_up up_restarts
sum2="$(sha256sum "$TR" | cut -d' ' -f1)"
[ "$sum1" = "$sum2" ] && pass up_reuses_keys || fail up_reuses_keys "trusted_root.json changed across restarts"
expect_ok old_bundle_verifies_after_restart "cosign verify-blob --trusted-root $TR --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer $ISSUER artifact"
expect_ok token_after_restart "sigstead dev token --data-dir $D --email carol@example.com --out token2.jwt"
expect_ok sign_after_restart "cosign sign-blob --yes --signing-config $SC --trusted-root $TR --identity-token token2.jwt --bundle after.json artifact"
size="$(rekor_tree_size)"
[ "$size" != "?" ] && [ "$size" -ge 6 ] && pass log_kept_entries || fail log_kept_entries "treeSize $size"
finish
