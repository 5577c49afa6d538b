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
# Prints PASS/FAIL lines and a closing `N passed, N failed`; exits non-zero if
# any check failed. Setup, the stack, the counters and finish come from lib.sh:
# the stack is stopped on exit; the run directory (tests/.work/gitsign-*, logs
# in its log/) is removed when everything passed (KEEP_RUN=1: kept anyway).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
e2e_init gitsign "${1:-sqlite}"

bash "$ROOT/tests/tools/install-gitsign.sh" "$TOOLS_DIR" >"$RUN/log/install-gitsign.log" 2>&1 \
    || { fail setup_gitsign "see $RUN/log/install-gitsign.log"; finish; }
setup_python -q || finish
GITSIGN="$TOOLS_DIR/gitsign"
# Isolated client state: no ~/.gitconfig, ~/.sigstore or TUF cache from the machine.
isolate_home
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
unset GIT_CONFIG_GLOBAL GIT_DIR GIT_WORK_TREE GITSIGN_CREDENTIAL_CACHE

stack_up || finish
ID="alice@example.com"
dev_token || finish

# ------------------------------------------------------------------ trust material
# PEM files from trusted_root.json, for gitsign's environment variables.
TRUST="$RUN/trust"; mkdir -p "$TRUST" "$HOME/.sigstore/root"
"$PY" - "$TR" "$TRUST" >"$RUN/log/trust.log" 2>&1 <<'PY'
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
if [ $? -eq 0 ]; then pass trust_material; else fail trust_material "$(tail -3 "$RUN/log/trust.log")"; finish; fi
if curl -fsS "$TUF/timestamp.json" >/dev/null 2>&1; then pass stack_tuf_serving
else fail stack_tuf_serving "no timestamp.json at $TUF"; finish; fi

export SIGSTORE_ROOT_FILE="$TRUST/fulcio-chain.pem"
export SIGSTORE_REKOR_PUBLIC_KEY="$TRUST/rekor.pub"
export SIGSTORE_CT_LOG_PUBLIC_KEY_FILE="$TRUST/ctlog.pub"
export TUF_ROOT="$HOME/.sigstore/root"
export TUF_MIRROR="$TUF"
export TUF_ROOT_JSON="$PIN"
export GITSIGN_LOG="$RUN/log/gitsign.log"

# ------------------------------------------------------------------ the repository
R="$RUN/repo"
git init -q "$R" && cd "$R" || { fail git_init "git init failed"; finish; }
git config user.name "Alice"
git config user.email "$ID"
git config gpg.format x509
git config gpg.x509.program "$GITSIGN"
git config gitsign.fulcio "$FULCIO"
git config gitsign.rekor "$REKOR"
git config gitsign.issuer "$ISSUER"
git config gitsign.fulcioRoot "$SIGSTORE_ROOT_FILE"
echo "hello from gitsign" > file.txt
git add file.txt

if SIGSTORE_ID_TOKEN="$(cat "$WORK/token.jwt")" git commit -q -S -m "signed by gitsign" >"$RUN/log/commit.log" 2>&1 \
    && git cat-file commit HEAD | grep -q '^gpgsig -----BEGIN SIGNED MESSAGE-----'; then
    pass git_commit_signed
else
    fail git_commit_signed "$(tail -5 "$RUN/log/commit.log") | GITSIGN_LOG: $(tail -5 "$GITSIGN_LOG" 2>/dev/null)"
    finish
fi

# in_repo CMD...: CMD in the repository (ok and refuses run commands in $WORK).
in_repo() { cd "$R" && "$@"; }
verify_as() { # verify_as IDENTITY ISSUER: gitsign verify of HEAD
    "$GITSIGN" verify --certificate-identity "$1" --certificate-oidc-issuer "$2" HEAD
}
if (verify_as "$ID" "$ISSUER") >"$RUN/log/gitsign_verify.log" 2>&1; then pass gitsign_verify
else fail gitsign_verify "$(tail -5 "$RUN/log/gitsign_verify.log") | GITSIGN_LOG: $(tail -5 "$GITSIGN_LOG" 2>/dev/null)"; fi
# The refusals must come from the identity check, not from some earlier failure.
refuses gitsign_rejects_wrong_identity 'none of the expected identities matched' in_repo verify_as bob@example.com "$ISSUER"
refuses gitsign_rejects_wrong_issuer 'none of the expected identities matched' in_repo verify_as "$ID" https://accounts.example.com
# git's own verification path (gitsign --verify, run by git): signature + tlog, no identity.
ok git_verify_commit in_repo git verify-commit HEAD
finish
