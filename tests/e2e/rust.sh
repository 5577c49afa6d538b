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
# Prints PASS/FAIL lines and a closing `N passed, N failed`.
set -uo pipefail
BACKEND="${1:-sqlite}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SIGSTEAD_BIN="${SIGSTEAD_BIN:-$ROOT/target/debug/sigstead}"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/tests/.work/bin}"
VENV_DIR="${VENV_DIR:-$ROOT/tests/.venv}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
DRIVER_SRC="$HERE/rust-client"
export CARGO_TARGET_DIR="${RUST_CLIENT_TARGET:-$ROOT/tests/.work/rust-client-target}"
DRIVER="$CARGO_TARGET_DIR/release/sigstore-rust-driver"
mkdir -p "$ROOT/tests/.work"
RUN="$(mktemp -d "$ROOT/tests/.work/rust-$BACKEND.XXXXXX")"
passed=0; failed=0; PID=""; DB=""
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $(printf '%s' "$2" | tr '\n' ' ' | cut -c1-400)"; failed=$((failed + 1)); }
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""; fi; }
cleanup() {
    stop
    if [ -n "$DB" ]; then psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1; DB=""; fi
}
finish() {
    cleanup
    [ "$failed" -eq 0 ] && rm -rf "$RUN"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]; exit $?
}
trap cleanup EXIT

# Build the driver (its own workspace, lock file and target dir).
if (cd "$DRIVER_SRC" && cargo build --release --locked --quiet -j "${RUST_CLIENT_JOBS:-2}") >"$RUN/build.log" 2>&1 && [ -x "$DRIVER" ]; then
    pass rust_driver_builds
else
    fail rust_driver_builds "see $RUN/build.log: $(tail -3 "$RUN/build.log")"; finish
fi
bash "$ROOT/tests/tools/install-cosign.sh" "$TOOLS_DIR" >"$RUN/install.log" 2>&1 || { fail setup_cosign "see $RUN/install.log"; finish; }
bash "$ROOT/tests/tools/setup-python.sh" "$VENV_DIR" >"$RUN/python.log" 2>&1 || { fail setup_python "see $RUN/python.log"; finish; }
COSIGN="$TOOLS_DIR/cosign"
PYSIG="$VENV_DIR/bin/sigstore"

BASE="$(python3 "$ROOT/tests/tools/free-port-base.py" 8)"
REKOR="http://127.0.0.1:$BASE"
FULCIO="http://127.0.0.1:$((BASE + 1))"
ISSUER="http://127.0.0.1:$((BASE + 3))"
ID="alice@example.com"
WORK="$RUN/work"; mkdir -p "$WORK"
export HOME="$RUN/home" XDG_DATA_HOME="$RUN/xdg-data" XDG_CACHE_HOME="$RUN/xdg-cache" COLUMNS=200
mkdir -p "$HOME"
DBARG=()
if [ "$BACKEND" = postgres ]; then
    DB="sigstead_rust_$$"
    psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >/dev/null || { DB=""; fail setup_postgres "cannot create database"; finish; }
    DBARG=(--database-url "$PG_URL/$DB")
fi

(cd "$WORK" && exec "$SIGSTEAD_BIN" up --data-dir "$RUN/data" --port-base "$BASE" "${DBARG[@]}") >"$RUN/up.out" 2>"$RUN/up.err" &
PID=$!
up=0
for _ in $(seq 150); do
    if curl -fsS "$REKOR/healthz" >/dev/null 2>&1 && curl -fsS "$FULCIO/healthz" >/dev/null 2>&1 \
        && [ -s "$RUN/data/trusted_root.json" ] && grep -q "cosign verify-blob" "$RUN/up.out"; then up=1; break; fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.2
done
if [ "$up" = 1 ]; then pass up_starts; else fail up_starts "$(grep -v '^ ' "$RUN/up.err" | tail -3)"; finish; fi
D="$RUN/data"
TR="$D/trusted_root.json"; TC="$D/trust_config.json"; SC="$D/signing_config.v0.2.json"

# run NAME CMD...: runs a command in $WORK, output to $RUN/NAME.log.
run() { local name="$1"; shift; (cd "$WORK" && "$@") >"$RUN/$name.log" 2>&1; }
expect_ok() { local name="$1"; if run "$@"; then pass "$name"; else fail "$name" "$(tail -3 "$RUN/$name.log")"; fi; }
expect_fail() { local name="$1"; if run "$@"; then fail "$name" "accepted: ${*:2}"; else pass "$name"; fi; }
rust_verify() { # rust_verify NAME BUNDLE IDENTITY ISSUER ARTIFACT
    run "$1" "$DRIVER" verify --trusted-root "$TR" --bundle "$2" --identity "$3" --issuer "$4" "$5"
}

echo "hello from sigstore-rust" > "$WORK/artifact"
cp "$WORK/artifact" "$WORK/changed"; echo "x" >> "$WORK/changed"
expect_ok token "$SIGSTEAD_BIN" dev token --data-dir "$D" --email "$ID" --out token.jwt

# 1. rust signs, rust verifies.
expect_ok rust_signs "$DRIVER" sign --fulcio-url "$FULCIO" --rekor-url "$REKOR" --token-file token.jwt --bundle artifact.rust.json artifact
if [ -s "$WORK/artifact.rust.json" ]; then
    if rust_verify rust_verifies_own_bundle artifact.rust.json "$ID" "$ISSUER" artifact; then pass rust_verifies_own_bundle
    else fail rust_verifies_own_bundle "$(tail -3 "$RUN/rust_verifies_own_bundle.log")"; fi
fi
# SigningServices::from_signing_config (0.15.1) insists on a TSA; `sigstead up`
# has none and (correctly) lists no tsaUrls, so that path is only tried when
# the signing config names a TSA.
if python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("tsaUrls") else 1)' "$SC"; then
    expect_ok rust_signs_via_signing_config "$DRIVER" sign --signing-config "$SC" --token-file token.jwt --bundle artifact.rust-sc.json artifact
    if [ -s "$WORK/artifact.rust-sc.json" ]; then
        if rust_verify rust_verifies_signing_config_bundle artifact.rust-sc.json "$ID" "$ISSUER" artifact; then pass rust_verifies_signing_config_bundle
        else fail rust_verifies_signing_config_bundle "$(tail -3 "$RUN/rust_verifies_signing_config_bundle.log")"; fi
    fi
else
    echo "SKIP rust_signs_via_signing_config: no TSA in signing_config (sigstore-sign 0.15.1 requires one there)"
fi

# 2. Cross-verification.
expect_ok cosign_verifies_rust_bundle "$COSIGN" verify-blob --trusted-root "$TR" --bundle artifact.rust.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
expect_ok python_verifies_rust_bundle "$PYSIG" --trust-config "$TC" verify identity --bundle artifact.rust.json --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact
expect_ok cosign_signs "$COSIGN" sign-blob --yes --signing-config "$SC" --trusted-root "$TR" --identity-token token.jwt --bundle artifact.cosign.json artifact
if rust_verify rust_verifies_cosign_bundle artifact.cosign.json "$ID" "$ISSUER" artifact; then pass rust_verifies_cosign_bundle
else fail rust_verifies_cosign_bundle "$(tail -3 "$RUN/rust_verifies_cosign_bundle.log")"; fi
expect_ok python_signs "$PYSIG" --trust-config "$TC" sign --identity-token "$(cat "$WORK/token.jwt")" --bundle artifact.py.json artifact
if rust_verify rust_verifies_python_bundle artifact.py.json "$ID" "$ISSUER" artifact; then pass rust_verifies_python_bundle
else fail rust_verifies_python_bundle "$(tail -3 "$RUN/rust_verifies_python_bundle.log")"; fi

# 3. Negative cases.
neg() { # neg NAME BUNDLE IDENTITY ISSUER ARTIFACT
    if rust_verify "$@"; then fail "$1" "accepted $2 with identity=$3 issuer=$4 artifact=$5"; else pass "$1"; fi
}
neg rust_rejects_wrong_identity artifact.rust.json bob@example.com "$ISSUER" artifact
neg rust_rejects_wrong_identity_prefix artifact.rust.json xalice@example.com "$ISSUER" artifact
neg rust_rejects_wrong_issuer artifact.rust.json "$ID" https://accounts.example.com artifact
neg rust_rejects_changed_artifact artifact.rust.json "$ID" "$ISSUER" changed
neg rust_rejects_changed_artifact_cosign_bundle artifact.cosign.json "$ID" "$ISSUER" changed
neg rust_rejects_wrong_identity_python_bundle artifact.py.json bob@example.com "$ISSUER" artifact
finish
