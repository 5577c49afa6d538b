#!/usr/bin/env bash
# gitsign.sh [sqlite|postgres]: keyless git commit signing with gitsign 0.16.1
# (Debian sid build) against a private `sigstead up` stack.
#
# gitsign signs through the legacy Fulcio v1 API (POST /api/v1/signingCert,
# answered 201 with a PEM chain) and uploads a hashedrekord to Rekor v1. Its
# verifier (cosign v3.0.6 inside) needs the stack's trust material instead of the
# public Sigstore TUF root:
#   * CA chain         SIGSTORE_ROOT_FILE (= gitsign.fulcioRoot), a PEM bundle
#   * Rekor key        SIGSTORE_REKOR_PUBLIC_KEY, PEM file
#   * CT log key       SIGSTORE_CT_LOG_PUBLIC_KEY_FILE, PEM file
#   * trusted root     cosign.TrustedRoot() is called unconditionally to check the
#                      Rekor SET, and it only reads TUF: gitsign is pointed at the
#                      stack's own TUF repository (`sigstead up`, port BASE+4) with
#                      TUF_MIRROR + TUF_ROOT_JSON (its 1.root.json) and TUF_ROOT
#                      as the cache.
# Checks: `git commit -S` succeeds; `gitsign verify` with the right identity and
# issuer succeeds; a wrong identity and a wrong issuer are refused.
# Prints PASS/FAIL lines and a closing `N passed, N failed`.
set -uo pipefail
BACKEND="${1:-sqlite}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SIGSTEAD_BIN="${SIGSTEAD_BIN:-$ROOT/target/debug/sigstead}"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/tests/.work/bin}"
VENV_DIR="${VENV_DIR:-$ROOT/tests/.venv}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
mkdir -p "$ROOT/tests/.work"
RUN="$(mktemp -d "$ROOT/tests/.work/gitsign-$BACKEND.XXXXXX")"
passed=0; failed=0; PID=""; DB=""
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $(printf '%s' "$2" | tr '\n' ' ' | cut -c1-600)"; failed=$((failed + 1)); }
stop() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""; fi
}
finish() {
    stop
    [ -n "$DB" ] && psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
    [ "$failed" -eq 0 ] && [ -z "${KEEP_RUN:-}" ] && rm -rf "$RUN"
    [ "$failed" -ne 0 ] && echo "logs kept in $RUN"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]; exit $?
}
trap stop EXIT

bash "$ROOT/tests/tools/install-gitsign.sh" "$TOOLS_DIR" >"$RUN/install.log" 2>&1 || { fail setup_gitsign "see $RUN/install.log"; finish; }
bash "$ROOT/tests/tools/setup-python.sh" "$VENV_DIR" >"$RUN/python.log" 2>&1 || { fail setup_python "see $RUN/python.log"; finish; }
GITSIGN="$TOOLS_DIR/gitsign"
PY="$VENV_DIR/bin/python"
BASE="$(python3 "$ROOT/tests/tools/free-port-base.py" 8)"
REKOR="http://127.0.0.1:$BASE"
FULCIO="http://127.0.0.1:$((BASE + 1))"
ISSUER="http://127.0.0.1:$((BASE + 3))"
TUF_PORT=$((BASE + 4))
D="$RUN/data"

# Isolated client state: no ~/.gitconfig, ~/.sigstore or TUF cache from the machine.
export HOME="$RUN/home" XDG_CONFIG_HOME="$RUN/xdg-config" XDG_CACHE_HOME="$RUN/xdg-cache" XDG_DATA_HOME="$RUN/xdg-data"
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
unset GIT_CONFIG_GLOBAL GIT_DIR GIT_WORK_TREE SIGSTORE_ID_TOKEN GITSIGN_CREDENTIAL_CACHE TUF_MIRROR TUF_ROOT_JSON
mkdir -p "$HOME"

DBARG=()
if [ "$BACKEND" = postgres ]; then
    DB="sigstead_gitsign_$$"
    psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >/dev/null || { fail setup_postgres "cannot create $DB"; finish; }
    DBARG=(--database-url "$PG_URL/$DB")
fi

# ------------------------------------------------------------------ the stack
"$SIGSTEAD_BIN" up --data-dir "$D" --port-base "$BASE" "${DBARG[@]}" >"$RUN/up.out" 2>"$RUN/up.err" &
PID=$!
up=0
for _ in $(seq 150); do
    if curl -fsS "$REKOR/healthz" >/dev/null 2>&1 && curl -fsS "$FULCIO/healthz" >/dev/null 2>&1 && [ -s "$D/trusted_root.json" ]; then up=1; break; fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.2
done
if [ "$up" = 1 ]; then pass up_starts; else fail up_starts "$(tail -3 "$RUN/up.err")"; finish; fi

"$SIGSTEAD_BIN" dev token --data-dir "$D" --email alice@example.com --out "$RUN/token.jwt" >"$RUN/token.log" 2>&1 \
    && [ -s "$RUN/token.jwt" ] && pass dev_token || { fail dev_token "$(tail -3 "$RUN/token.log")"; finish; }

# ------------------------------------------------------------------ trust material
# PEM files from trusted_root.json, for gitsign's environment variables.
TRUST="$RUN/trust"; mkdir -p "$TRUST" "$HOME/.sigstore/root"
"$PY" - "$D/trusted_root.json" "$TRUST" >"$RUN/trust.log" 2>&1 <<'PY'
import json, sys, textwrap
src, out = sys.argv[1], sys.argv[2]
tr = json.load(open(src))
def pem(kind, raw_b64):
    body = "\n".join(textwrap.wrap("".join(raw_b64.split()), 64))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"
certs = [c["rawBytes"] for ca in tr["certificateAuthorities"] for c in ca["certChain"]["certificates"]]
open(f"{out}/fulcio-chain.pem", "w").write("".join(pem("CERTIFICATE", c) for c in certs))
open(f"{out}/rekor.pub", "w").write(pem("PUBLIC KEY", tr["tlogs"][0]["publicKey"]["rawBytes"]))
open(f"{out}/ctlog.pub", "w").write(pem("PUBLIC KEY", tr["ctlogs"][0]["publicKey"]["rawBytes"]))
PY
if [ $? -eq 0 ]; then pass trust_material; else fail trust_material "$(tail -3 "$RUN/trust.log")"; finish; fi
if curl -fsS "http://127.0.0.1:$TUF_PORT/timestamp.json" >/dev/null 2>&1; then pass stack_tuf_serving
else fail stack_tuf_serving "no timestamp.json at http://127.0.0.1:$TUF_PORT"; finish; fi

export SIGSTORE_ROOT_FILE="$TRUST/fulcio-chain.pem"
export SIGSTORE_REKOR_PUBLIC_KEY="$TRUST/rekor.pub"
export SIGSTORE_CT_LOG_PUBLIC_KEY_FILE="$TRUST/ctlog.pub"
export TUF_ROOT="$HOME/.sigstore/root"
export TUF_MIRROR="http://127.0.0.1:$TUF_PORT"
export TUF_ROOT_JSON="$D/tuf/repository/1.root.json"
export GITSIGN_LOG="$RUN/gitsign.log"

# ------------------------------------------------------------------ the repository
R="$RUN/repo"
git init -q "$R" && cd "$R" || { fail git_init "git init failed"; finish; }
git config user.name "Alice"
git config user.email alice@example.com
git config gpg.format x509
git config gpg.x509.program "$GITSIGN"
git config gitsign.fulcio "$FULCIO"
git config gitsign.rekor "$REKOR"
git config gitsign.issuer "$ISSUER"
git config gitsign.fulcioRoot "$SIGSTORE_ROOT_FILE"
echo "hello from gitsign" > file.txt
git add file.txt

if SIGSTORE_ID_TOKEN="$(cat "$RUN/token.jwt")" git commit -q -S -m "signed by gitsign" >"$RUN/commit.log" 2>&1 \
    && git cat-file commit HEAD | grep -q '^gpgsig -----BEGIN SIGNED MESSAGE-----'; then
    pass git_commit_signed
else
    fail git_commit_signed "$(tail -5 "$RUN/commit.log") | GITSIGN_LOG: $(tail -5 "$GITSIGN_LOG" 2>/dev/null)"
    finish
fi

verify() { # verify NAME IDENTITY ISSUER
    "$GITSIGN" verify --certificate-identity "$2" --certificate-oidc-issuer "$3" HEAD >"$RUN/$1.log" 2>&1
}
if verify gitsign_verify alice@example.com "$ISSUER"; then pass gitsign_verify
else fail gitsign_verify "$(tail -5 "$RUN/gitsign_verify.log") | GITSIGN_LOG: $(tail -5 "$GITSIGN_LOG" 2>/dev/null)"; fi
# The refusals must come from the identity check, not from some earlier failure.
expect_refused() { # expect_refused NAME IDENTITY ISSUER
    if verify "$1" "$2" "$3"; then fail "gitsign_rejects_$1" "accepted identity $2 / issuer $3"
    elif grep -q 'none of the expected identities matched' "$RUN/$1.log"; then pass "gitsign_rejects_$1"
    else fail "gitsign_rejects_$1" "refused for another reason: $(tail -3 "$RUN/$1.log")"; fi
}
expect_refused wrong_identity bob@example.com "$ISSUER"
expect_refused wrong_issuer alice@example.com https://accounts.example.com
# git's own verification path (gitsign --verify, run by git): signature + tlog, no identity.
if git verify-commit HEAD >"$RUN/verify-commit.log" 2>&1; then pass git_verify_commit
else fail git_verify_commit "$(tail -5 "$RUN/verify-commit.log")"; fi
finish
