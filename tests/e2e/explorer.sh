#!/usr/bin/env bash
# explorer.sh [sqlite|postgres]: the log explorer in a real browser.
#
# A fresh `sigstead up` (which serves the explorer on BASE+6); cosign 3.1.1
# signs a blob keylessly; then playwright-core (npm, pinned in
# tests/e2e/explorer/package-lock.json) drives Debian's Chromium (installed
# with apt when missing) through tests/e2e/explorer/explorer.test.mjs:
#   - the entry is found by identity (through the form), by digest, by
#     index (typed, Enter), by issuer and by UUID; empty, error and
#     not-found states;
#   - its page shows the decoded certificate (SAN, OIDC issuer, the Fulcio
#     issuer extension by name and OID, the SCT and which CT log issued it,
#     key type) and "Inclusion proof verified", computed in the browser (4
#     steps: leaf hash, proof to root, checkpoint root, checkpoint signature
#     by the trusted root's key with WebCrypto); at a phone's width too,
#     without horizontal overflow; the search is reachable by keyboard;
#   - two hostile fixtures in front of the explorer (tamper_proxy.py):
#     `tampered-proof` (one bit of a proof hash flipped, BASE+7) and
#     `forged-checkpoint` (the checkpoint signed by another key under the
#     log's name and key hint, BASE+8): the page shows a failed verification
#     with the reason;
#   - the trust page shows the TUF roles with versions, expiry and days
#     left, the root history, the logs of the trusted root;
#   - no request goes to another origin (and the CSP forbids it).
# Screenshots of every page are kept in tests/.work/artifacts/explorer-BACKEND/.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
e2e_init explorer "${1:-sqlite}"
TAMPER_PID=""; FORGE_PID=""; STANDALONE_PID=""; E2E_PIDS+=(TAMPER_PID FORGE_PID)
EXJS="$HERE/explorer"
SHOTS="$ROOT/tests/.work/artifacts/explorer-$BACKEND"

# ------------------------------------------------------------------ setup
require_sigstead || finish
chromium_package() {
    command -v chromium >/dev/null && return 0
    [ "$(id -u)" -eq 0 ] || { echo "chromium missing and not root: apt-get install -y chromium"; return 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq chromium
}
if chromium_package >"$RUN/log/apt.log" 2>&1; then
    pass setup_chromium; echo "     $(chromium --version 2>&1 | tail -1)"
else
    fail setup_chromium "$(tail -3 "$RUN/log/apt.log")"; finish
fi
if (cd "$EXJS" && npm ci --no-audit --no-fund --loglevel=error) >"$RUN/log/npm.log" 2>&1 \
    && [ -f "$EXJS/node_modules/playwright-core/package.json" ]; then
    pass setup_playwright_core
else
    fail setup_playwright_core "$(tail -3 "$RUN/log/npm.log")"; finish
fi
setup_cosign && setup_python || finish
isolate_home

# ------------------------------------------------------------------ a signed entry
stack_up || finish
ID="explorer-$$@example.com"
dev_token || finish
printf 'explorer artifact %s %s\n' "$$" "$(date +%s%N)" >"$WORK/artifact"
ok cosign_sign_blob "$COSIGN" sign-blob --yes --signing-config "$SC" --trusted-root "$TR" \
    --identity-token "$WORK/token.jwt" --bundle "$WORK/artifact.sigstore.json" "$WORK/artifact" || finish
DIGEST="$(sha256sum "$WORK/artifact" | cut -d' ' -f1)"
INDEX="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verificationMaterial"]["tlogEntries"][0]["logIndex"])' "$WORK/artifact.sigstore.json")"
echo "     entry $INDEX, sha256:$DIGEST, $ID"

# ------------------------------------------------------------------ hostile fixtures
TAMPERED="http://127.0.0.1:$((BASE + 7))"; FORGED="http://127.0.0.1:$((BASE + 8))"
"$PY" "$EXJS/tamper_proxy.py" --listen "$((BASE + 7))" --upstream "$EXPLORER" --mode tampered-proof >"$RUN/log/tamper.log" 2>&1 &
TAMPER_PID=$!
"$PY" "$EXJS/tamper_proxy.py" --listen "$((BASE + 8))" --upstream "$EXPLORER" --mode forged-checkpoint >"$RUN/log/forge.log" 2>&1 &
FORGE_PID=$!
for _ in $(seq 100); do
    curl -fsS -o /dev/null "$TAMPERED/healthz" 2>/dev/null && curl -fsS -o /dev/null "$FORGED/healthz" 2>/dev/null && break
    sleep 0.1
done

# ------------------------------------------------------------------ the browser
rm -rf "$SHOTS"
EXPLORER="$EXPLORER" TAMPERED="$TAMPERED" FORGED="$FORGED" IDENTITY="$ID" ISSUER="$ISSUER" DIGEST="$DIGEST" \
    INDEX="$INDEX" CTLOG="$CTLOG" REKOR="$REKOR" SHOTS="$SHOTS" CHROMIUM="$(command -v chromium)" \
    node "$EXJS/explorer.test.mjs" >"$RUN/log/browser.log" 2>&1
rc=$?
while IFS= read -r line; do
    case "$line" in
        "PASS "*) pass "${line#PASS }" ;;
        "FAIL "*) rest="${line#FAIL }"; fail "${rest%%:*}" "${rest#*: }" ;;
    esac
done <"$RUN/log/browser.log"
if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$RUN/log/browser.log"; then
    fail browser_tests "exit $rc: $(tail -3 "$RUN/log/browser.log")"
fi
# ------------------------------------------------------------------ standalone, read-only (Postgres)
# `sigstead serve explorer` as production runs it: its own process, a role
# with the SELECT grants of RUNBOOK §5.2 only, the trust root through TUF.
if [ "$BACKEND" = postgres ]; then
    ROLE="sigstead_explorer_$$"
    grants="CREATE ROLE $ROLE LOGIN; GRANT CONNECT ON DATABASE $DB TO $ROLE; GRANT USAGE ON SCHEMA public TO $ROLE;
            GRANT SELECT ON logs, entries, index_keys, nodes, checkpoints, _sqlx_migrations TO $ROLE;"
    if psql "$PG_URL/$DB" -v ON_ERROR_STOP=1 -qc "$grants" >"$RUN/log/role.log" 2>&1; then
        STANDALONE="http://127.0.0.1:$((BASE + 9))"
        cat >"$WORK/explorer.toml" <<TOML
listen = "127.0.0.1:$((BASE + 9))"
database_url = "postgres://$ROLE@127.0.0.1:5432/$DB"
rekor_url = "$REKOR"
[tuf]
url = "$TUF"
root = "$PIN"
TOML
        "$SIGSTEAD_BIN" serve explorer --config "$WORK/explorer.toml" >"$RUN/log/standalone.log" 2>&1 &
        STANDALONE_PID=$!; E2E_PIDS+=(STANDALONE_PID)
        for _ in $(seq 100); do curl -fsS -o /dev/null "$STANDALONE/readyz" 2>/dev/null && break; sleep 0.1; done
        page="$(curl -fsS "$STANDALONE/search?kind=identity&q=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$ID")" 2>&1)"
        if grep -q ">$INDEX</a>" <<<"$page"; then pass standalone_read_only_explorer_finds_the_entry
        else fail standalone_read_only_explorer_finds_the_entry "$(tail -c 300 <<<"$page") $(tail -2 "$RUN/log/standalone.log")"; fi
        trust="$(curl -fsS "$STANDALONE/trust" 2>&1)"
        if grep -q 'id="tuf-roles"' <<<"$trust" && grep -q "$REKOR" <<<"$trust"; then pass standalone_explorer_trust_through_tuf
        else fail standalone_explorer_trust_through_tuf "$(tail -c 300 <<<"$trust")"; fi
        # The grants really are read-only.
        refuses explorer_role_cannot_write 'permission denied' \
            psql "postgres://$ROLE@127.0.0.1:5432/$DB" -v ON_ERROR_STOP=1 -qc "DELETE FROM entries WHERE leaf_index = 0"
        stop_pid STANDALONE_PID
    else
        fail explorer_role "$(tail -2 "$RUN/log/role.log")"
    fi
    psql "$PG_URL/$DB" -qc "REASSIGN OWNED BY $ROLE TO postgres; DROP OWNED BY $ROLE" >/dev/null 2>&1
    ROLE_TO_DROP="$ROLE"
fi

# ------------------------------------------------------------------ fsck of the same log
# `sigstead fsck` re-derives the tree from the stored entries and checks
# every node, checkpoint (signature with the log key of the trusted root),
# canonical body and search key; then a copy with one body changed is refused.
python3 -c 'import base64,json,sys; open(sys.argv[2],"wb").write(base64.b64decode(json.load(open(sys.argv[1]))["tlogs"][0]["publicKey"]["rawBytes"]))' "$TR" "$WORK/rekor.der"
if [ "$BACKEND" = postgres ]; then REKOR_DB="$PG_URL/$DB"; else REKOR_DB="sqlite://$D/rekor/rekor.db"; fi
if "$SIGSTEAD_BIN" fsck --database-url "$REKOR_DB" --public-key "$WORK/rekor.der" >"$WORK/fsck.json" 2>"$RUN/log/fsck.log" \
    && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["clean"] and d["bodies_checked"] >= 1 and d["signatures_checked"] >= 1 and d["entries_checked"] == d["tree_size"] else 1)' "$WORK/fsck.json"; then
    pass fsck_clean_log; echo "     $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["entries_checked"], "entries,", d["nodes_checked"], "nodes,", d["checkpoints_checked"], "checkpoints,", d["bodies_checked"], "bodies checked")' "$WORK/fsck.json")"
else
    fail fsck_clean_log "$(head -c 600 "$WORK/fsck.json") $(tail -2 "$RUN/log/fsck.log")"
fi
if [ "$BACKEND" = sqlite ]; then
    # tampered-body: a copy of the log whose entry $INDEX has another body.
    cp "$D/rekor/rekor.db" "$WORK/tampered.db"
    [ -f "$D/rekor/rekor.db-wal" ] && cp "$D/rekor/rekor.db-wal" "$WORK/tampered.db-wal"
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE entries SET body = CAST(? AS BLOB) WHERE leaf_index = ?", (b"{}", int(sys.argv[2]))); c.commit()' "$WORK/tampered.db" "$INDEX"
    refuses fsck_refuses_tampered_body "leaf_hash_mismatch" \
        sh -c "'$SIGSTEAD_BIN' fsck --database-url 'sqlite://$WORK/tampered.db' --public-key '$WORK/rekor.der' 2>&1"
fi

n=$(find "$SHOTS" -name '*.png' 2>/dev/null | wc -l)
[ "$n" -ge 8 ] && pass screenshots_saved || fail screenshots_saved "$n screenshots in $SHOTS"
echo "     screenshots: $SHOTS"
e2e_cleanup
[ -n "${ROLE_TO_DROP:-}" ] && psql "$PG_URL/postgres" -qc "DROP ROLE IF EXISTS $ROLE_TO_DROP" >/dev/null 2>&1
finish
