#!/usr/bin/env bash
# rust.sh [sqlite|postgres]: the sigstore-rust crates (0.15) as a real client
# of a fresh `sigstead up` stack, through the small driver in
# tests/e2e/rust-client (sigstore-rust-driver sign / verify).
#
# 1. rust signs keylessly (Fulcio + Rekor v1 hashedrekord) and verifies its
#    own bundle offline against trusted_root.json with an identity policy.
# 2. cosign and sigstore-python verify the rust bundle; rust verifies a
#    cosign-signed and a python-signed bundle.
# 3. rust verify refuses a wrong identity, a wrong issuer and a changed artifact.
# Prints PASS/FAIL lines and a closing `N passed, N failed`; exits non-zero if
# any check failed. Setup (the driver's build is the check rust_driver_builds),
# the stack, the counters and finish come from lib.sh: the stack is stopped on
# exit; the run directory (tests/.work/rust-*, logs in its log/) is removed when
# everything passed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
e2e_init rust "${1:-sqlite}"

setup_rust_driver rust_driver_builds || finish
setup_cosign -q && setup_python -q || finish
isolate_home
stack_up || finish
ID="alice@example.com"

# rust_verify BUNDLE IDENTITY ISSUER ARTIFACT: the driver's verify, trusted_root.json.
rust_verify() { "$DRIVER" verify --trusted-root "$TR" --bundle "$1" --identity "$2" --issuer "$3" "$4"; }

echo "hello from sigstore-rust" > "$WORK/artifact"
cp "$WORK/artifact" "$WORK/changed"; echo "x" >> "$WORK/changed"
ok token "$SIGSTEAD_BIN" dev token --data-dir "$D" --email "$ID" --out token.jwt

# 1. rust signs, rust verifies.
ok rust_signs "$DRIVER" sign --fulcio-url "$FULCIO" --rekor-url "$REKOR" --token-file token.jwt --bundle artifact.rust.json artifact
[ -s "$WORK/artifact.rust.json" ] && ok rust_verifies_own_bundle rust_verify artifact.rust.json "$ID" "$ISSUER" artifact
# SigningServices::from_signing_config (0.15.1) insists on a TSA; `sigstead up`
# has none and (correctly) lists no tsaUrls, so that path is only tried when
# the signing config names a TSA.
if python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("tsaUrls") else 1)' "$SC"; then
    ok rust_signs_via_signing_config "$DRIVER" sign --signing-config "$SC" --token-file token.jwt --bundle artifact.rust-sc.json artifact
    [ -s "$WORK/artifact.rust-sc.json" ] && ok rust_verifies_signing_config_bundle rust_verify artifact.rust-sc.json "$ID" "$ISSUER" artifact
else
    echo "SKIP rust_signs_via_signing_config: no TSA in signing_config (sigstore-sign 0.15.1 requires one there)"
fi

# 2. Cross-verification.
ok cosign_verifies_rust_bundle "$COSIGN" verify-blob --trusted-root "$TR" --bundle artifact.rust.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
ok python_verifies_rust_bundle "$PYSIG" --trust-config "$TC" verify identity --bundle artifact.rust.json --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact
ok cosign_signs "$COSIGN" sign-blob --yes --signing-config "$SC" --trusted-root "$TR" --identity-token token.jwt --bundle artifact.cosign.json artifact
ok rust_verifies_cosign_bundle rust_verify artifact.cosign.json "$ID" "$ISSUER" artifact
ok python_signs "$PYSIG" --trust-config "$TC" sign --identity-token "$(cat "$WORK/token.jwt")" --bundle artifact.py.json artifact
ok rust_verifies_python_bundle rust_verify artifact.py.json "$ID" "$ISSUER" artifact

# 3. Negative cases.
neg() { # neg NAME BUNDLE IDENTITY ISSUER ARTIFACT: rust verify must refuse (for any reason)
    if (cd "$WORK" && rust_verify "${@:2}") >"$RUN/log/$1.log" 2>&1; then fail "$1" "accepted $2 with identity=$3 issuer=$4 artifact=$5"; else pass "$1"; fi
}
neg rust_rejects_wrong_identity artifact.rust.json bob@example.com "$ISSUER" artifact
neg rust_rejects_wrong_identity_prefix artifact.rust.json xalice@example.com "$ISSUER" artifact
neg rust_rejects_wrong_issuer artifact.rust.json "$ID" https://accounts.example.com artifact
neg rust_rejects_changed_artifact artifact.rust.json "$ID" "$ISSUER" changed
neg rust_rejects_changed_artifact_cosign_bundle artifact.cosign.json "$ID" "$ISSUER" changed
neg rust_rejects_wrong_identity_python_bundle artifact.py.json bob@example.com "$ISSUER" artifact
finish
