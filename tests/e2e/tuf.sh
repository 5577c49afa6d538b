#!/usr/bin/env bash
# tuf.sh [sqlite|postgres]: the TUF root of trust, end to end, with the real
# `sigstead` binary and real clients.
#
# Ports: `sigstead up` serves Rekor, CA, CT log and the dev OIDC issuer on
# BASE..BASE+3 (and its own TUF repository on BASE+4, not used here). This test
# runs its own repository server on BASE+8, and on BASE+9 one server at a time:
# the attack fixtures (python http.server), then the air-gapped mirror
# (`sigstead serve tuf`, static_only), then a tampered copy of the origin.
#
# 1. Operator flow: `sigstead tuf keygen` (root-1, root-2 ed25519, root-3 ecdsa-p256,
#    targets, snapshot, timestamp), a policy with root threshold 2, `tuf init` with
#    the stack's trusted_root.json and signing_config.v0.2.json as targets,
#    `sigstead serve tuf` with the online keys (re-signing every 2 s).
# 2. Clients bootstrap from 1.root.json: the TUF drivers (python-tuf 7.0.1, tough
#    0.24, sigstore-tuf 0.15) fetch both targets, byte-identical to the published
#    files; cosign 3.1.1 `initialize`, then keyless sign-blob / verify-blob with
#    no trust flags; sigstore-python 4.5.1 `--instance … trust-instance`, sign,
#    verify; sigstore-js 4.1.1 (tests/e2e/js/verify-tuf.mjs) and @sigstore/cli
#    0.8.1 `verify --tuf-mirror-url` verify bundles with trust from TUF.
# 3. Offline root rotation: root 2 revokes root-1, adds root-4, threshold 2 -> 3,
#    and replaces the targets key. `publish` refuses root 2 signed below either
#    threshold (nothing written); signed by two holders in turn it is published,
#    and every client above follows it on its existing cache. Then targets 3
#    publishes a trusted root naming another CA (every verifier now refuses the
#    earlier bundles) and targets 4 restores it (they accept again).
# 4. Attack fixtures (`sigstead tuf attack-fixtures`): `sigstead mirror` and the
#    three TUF drivers accept the good repositories and refuse every attack,
#    rollbacks after a baseline on the same cache; client deviations are NOTEs.
# 5. Air gap: `sigstead mirror` of the live repository, served by `sigstead serve
#    tuf` (static_only); every file byte-identical to the origin's; clients
#    bootstrap from it; a re-run after a new targets version writes only the new
#    files; a tampered origin is refused and the mirror left untouched.
# Legacy targets throughout: every TUF driver fetches rekor.pub, ctfe.pub,
#    fulcio_v1.crt.pem, … (derived from trusted_root.json by the editor), checked by
#    tuf_legacy_check.py against the trusted root and their custom.sigstore
#    metadata; cosign verifies with those files alone (SIGSTORE_* variables); they
#    follow the CA change of targets 3; cosign initialize fetches them through TUF from a
#    repository without a trusted root (its legacy fallback) and verifies with them alone.
# 6. Rekor key rotation (trust-documents --previous, targets 6): rekor.pub holds the
#    new key, the old one is listed Expired; earlier bundles keep verifying.
# 7. Offline kit (`sigstead kit export`): cosign (--trusted-root, and initialize from
#    the kit's mirror on a static server) and sigstore-python (--trust-config) verify
#    in a network namespace with only loopback; the mirrorFS tarball verifies with
#    python-tuf; the PEM files and policy.json match the trusted root; the admission
#    configurations validate against the upstream CRDs (tests/e2e/crds).
# 8. Federated trust root (trust-documents --include the public-good root): public-good
#    and private bundles verify under it with cosign, sigstore-python and kit verify,
#    a staging bundle is refused; published through TUF, cosign follows it.
# 9. `sigstead monitor --once` follows the live Rekor (consistency proven after growth)
#    and the CT log (consistency proven after growth), reports a watched identity and the
#    TUF expiry per role, and alerts on trusted roots with a wrong Rekor or CT key.
# Prints PASS/FAIL/NOTE lines and a closing `N passed, N failed`. NOTEs are not
# counted: what publish does with a root that revokes the served targets' key
# (observed on a scratch copy), and the TUF clients that accept the fixture
# key-id-not-hash-of-key (asserted as their actual behaviour). Setup, the stack,
# the counters and finish come from lib.sh; the run directory (tests/.work/tuf-*,
# logs in its log/) is removed when everything passed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
e2e_init tuf "${1:-sqlite}"
TUF_PID=""; AUX_PID=""; E2E_PIDS+=(AUX_PID TUF_PID)
REFUSES_ICASE=1     # refusal reasons (refuses NAME ERE …) are matched case-insensitively

# ------------------------------------------------------------------ setup
require_sigstead || finish
setup_npm && setup_cosign && setup_python && setup_rust_driver || finish
isolate_home
stack_up || finish
# stack_up's TUF repository (BASE+4) and its 1.root.json are not used here: $TUF
# and $PIN are this test's own.
TUF="http://127.0.0.1:$((BASE + 8))"      # this test's repository server
AUX="http://127.0.0.1:$((BASE + 9))"      # fixtures, then the mirror, then a tampered origin
ID="alice@example.com"
OPS="$RUN/offline"                        # the offline host: keys, policies, staged files
REPO="$RUN/repo"                          # the repository directory the server serves
PIN="$RUN/pinned-1.root.json"             # 1.root.json as clients get it out of band
mkdir -p "$OPS/keys" "$RUN/out" "$RUN/cache"

# wait_http URL PIDVAR: until URL answers 200 (false if the process died or 30 s passed).
wait_http() {
    local pid
    for _ in $(seq 150); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        pid="${!2}"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# ------------------------------------------------------------------ helpers
# Clients, each with its own HOME (in_home; cosign caches TUF under ~/.sigstore,
# python under XDG_DATA_HOME / XDG_CACHE_HOME).
cos() { local c="cosign-$1"; shift; in_home "$c" "$COSIGN" "$@"; }
pys() { local c="python-$1"; shift; in_home "$c" "$PYSIG" "$@"; }
jsv() { # jsv CACHE-NAME MIRROR-URL BUNDLE [IDENTITY]: sigstore-js verify with trust from TUF
    in_home js node "$JS/verify-tuf.mjs" --tuf-mirror-url "$2" --tuf-root-path "$PIN" --tuf-cache-path "$H/js/$1" \
        --bundle "$3" --certificate-identity "${4:-$ID}" --certificate-oidc-issuer "$ISSUER" artifact
}
cliv() { # cliv CACHE-NAME BUNDLE: @sigstore/cli 0.8.1 verify with trust from TUF
    in_home cli "$NPMSIG" verify "$2" --blob-file artifact --certificate-issuer "$ISSUER" \
        --certificate-identity-email "$ID" --tuf-mirror-url "$TUF" --tuf-root-path "$PIN" --tuf-cache-path "$H/cli/$1"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
json_get() { # json_get FILE-OR-URL PY-EXPR: evaluates PY-EXPR on the JSON document `d`
    local src="$1"
    case "$src" in http*) src="$(curl -fsS "$src" 2>/dev/null)" || return 1 ;; *) src="$(cat "$src" 2>/dev/null)" || return 1 ;; esac
    printf '%s' "$src" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)" 2>/dev/null
}
# tree_sum DIR: one checksum over every file's path and content ("" if absent).
tree_sum() { [ -d "$1" ] && (cd "$1" && find . -type f ! -name '.*' | LC_ALL=C sort | xargs -r sha256sum | sha256sum | cut -d' ' -f1); }

# tuf_client CLIENT URL ROOT STATE OUT [--target NAME]...: one TUF client run.
# CLIENT: python | sigstore | tough (the drivers; STATE = their cache, OUT gets the
# targets) or mirror (`sigstead mirror`; STATE = the mirror directory, OUT unused).
tuf_client() {
    local client="$1" url="$2" root="$3" state="$4" out="$5"; shift 5
    rm -rf "$out"; mkdir -p "$out"
    case "$client" in
        python) "$PY" "$HERE/tuf_client.py" --url "$url" --root "$root" --cache "$state" --out "$out" "$@" ;;
        sigstore) "$DRIVER" tuf-sigstore --url "$url" --root "$root" --cache "$state" --out "$out" "$@" ;;
        tough) "$DRIVER" tuf-tough --url "$url" --root "$root" --cache "$state" --out "$out" "$@" ;;
        mirror) "$SIGSTEAD_BIN" mirror --url "$url" --root "$root" --out "$state" ;;
    esac
}
DRIVERS="python sigstore tough"
# fetch_ok NAME CLIENT URL CACHE ROOT-VERSION TARGET=EXPECTED-FILE...: the driver
# bootstraps from $PIN, ends on root ROOT-VERSION and returns each target
# byte-identical to EXPECTED-FILE.
fetch_ok() {
    local name="$1" client="$2" url="$3" cache="$4" rootv="$5"; shift 5
    local out="$RUN/out/$name" log="$RUN/log/$name.log" args=() spec
    for spec in "$@"; do args+=(--target "${spec%%=*}"); done
    if ! tuf_client "$client" "$url" "$PIN" "$cache" "$out" "${args[@]}" >"$log" 2>&1; then fail "$name" "$(tail -2 "$log")"; return; fi
    if [ "$(tail -1 "$log")" != "ok root=$rootv targets=$#" ]; then fail "$name" "printed '$(tail -1 "$log")', want 'ok root=$rootv targets=$#'"; return; fi
    for spec in "$@"; do
        cmp -s "$out/${spec%%=*}" "${spec#*=}" || { fail "$name" "${spec%%=*} differs from ${spec#*=}"; return; }
    done
    pass "$name"
}
# policy FILE ROOT-THRESHOLD "ROOT-KEY..." TARGETS-KEY: a policy over $OPS/keys/*.pub.
policy() {
    local k keys=""
    for k in $3; do keys="$keys${keys:+, }\"keys/$k.pub\""; done
    cat >"$1" <<EOF
[root]
threshold = $2
expires_days = 365
keys = [$keys]
[targets]
threshold = 1
expires_days = 180
keys = ["keys/$4.pub"]
[snapshot]
threshold = 1
expires_days = 7
keys = ["keys/snapshot.pub"]
[timestamp]
threshold = 1
expires_days = 1
keys = ["keys/timestamp.pub"]
EOF
}
tufc() { "$SIGSTEAD_BIN" tuf "$@"; }
key() { echo "$OPS/keys/$1.key"; }
# served_targets_version URL: the targets version the repository's timestamp leads to.
served_targets_version() {
    local sv
    sv="$(json_get "$1/timestamp.json" 'd["signed"]["meta"]["snapshot.json"]["version"]')" || return 1
    json_get "$1/$sv.snapshot.json" 'd["signed"]["meta"]["targets.json"]["version"]'
}
# wait_targets NAME VERSION: the running server re-signs snapshot and timestamp for
# a newly published targets VERSION at its next check (every 2 s).
wait_targets() {
    local v=""
    for _ in $(seq 75); do
        v="$(served_targets_version "$TUF")"; [ "$v" = "$2" ] && break
        sleep 0.2
    done
    [ "$v" = "$2" ] && pass "$1" || fail "$1" "after 15 s the timestamp leads to targets version '${v}', want $2"
}
# publish_targets VERSION NAME=FILE...: stage-targets (replacing the named targets),
# sign with the current targets key, publish; the server re-signs the online roles.
TARGETS_KEY=targets
publish_targets() {
    local v="$1" spec args=(); shift
    for spec in "$@"; do args+=(--target "$spec"); done
    ok "stage_targets_$v" tufc stage-targets --repo "$REPO" "${args[@]}" --out "$OPS/targets-$v.json"
    ok "sign_targets_$v" tufc sign --metadata "$OPS/targets-$v.json" --key "$(key "$TARGETS_KEY")" --password-file "$OPS/pw"
    local skip=()
    if [ -n "${DRIFT_WHY:-}" ]; then
        # The drift audit: publish refuses a trusted root that does not describe
        # the live services, naming the difference, and writes nothing; this
        # test then publishes it anyway to see what clients do with it.
        local before; before="$(tree_sum "$REPO")"
        refuses "publish_refuses_drifted_trust_root_$v" "refusing to publish.*$DRIFT_WHY" \
            bash -c "set -o pipefail; '$SIGSTEAD_BIN' tuf publish --repo '$REPO' --metadata '$OPS/targets-$v.json' 2>&1 | tr '\n' ' '"
        [ "$before" = "$(tree_sum "$REPO")" ] && pass "drifted_trust_root_${v}_wrote_nothing" || fail "drifted_trust_root_${v}_wrote_nothing" "the repository changed"
        skip=(--insecure-skip-audit)
    fi
    ok "publish_targets_$v" tufc publish --repo "$REPO" --metadata "$OPS/targets-$v.json" "${skip[@]}"
    wait_targets "server_resigns_for_targets_$v" "$v"
}

# offline CMD...: CMD in a network namespace of its own with only loopback: no URL
# outside this machine can be reached, so a client that needed the public instance
# or the origin would fail.
offline() { unshare --net -- sh -c 'ip link set lo up && exec "$@"' offline "$@"; }
# legacy_ok NAME CLIENT CACHE TRUSTED-ROOT: CLIENT fetches through TUF every legacy
# target the trusted root calls for (rekor.pub, ctfe.pub, fulcio_v1.crt.pem, … and
# every target listed Expired), and tuf_legacy_check.py confirms, independently of
# Sigstead, that each holds the trusted root's current key or chain and is described
# with custom.sigstore {usage, status, uri} in the served targets metadata.
legacy_ok() {
    local name="$1" client="$2" cache="$3" tr="$4" out="$RUN/out/$1" log="$RUN/log/$1.log" args=() n names tv
    names="$(python3 "$HERE/tuf_legacy_check.py" --trusted-root "$tr" --print-names)"
    [ -n "$names" ] || { fail "$name" "no legacy names for $tr"; return; }
    tv="$(served_targets_version "$TUF")"
    curl -fsS "$TUF/$tv.targets.json" -o "$RUN/$name.targets.json" || { fail "$name" "no $tv.targets.json"; return; }
    names="$names $(json_get "$RUN/$name.targets.json" '" ".join(n for n, t in d["signed"]["targets"].items() if (t.get("custom") or {}).get("sigstore", {}).get("status") == "Expired")')"
    for n in $names; do args+=(--target "$n"); done
    if ! tuf_client "$client" "$TUF" "$PIN" "$cache" "$out" "${args[@]}" >"$log" 2>&1; then fail "$name" "$(tail -2 "$log")"; return; fi
    python3 "$HERE/tuf_legacy_check.py" --trusted-root "$tr" --targets "$RUN/$name.targets.json" --dir "$out" >>"$log" 2>&1 \
        && pass "$name($((${#args[@]} / 2)) targets)" || fail "$name" "$(tail -1 "$log")"
}

# ------------------------------------------------------------------ 1. operator flow
printf 'offline-key-password\n' >"$OPS/pw"
for k in root-1 root-2 targets snapshot timestamp; do
    ok "keygen_$k" tufc keygen --out "$OPS/keys/$k" --password-file "$OPS/pw"
done
ok keygen_root-3_ecdsa tufc keygen --out "$OPS/keys/root-3" --algorithm ecdsa-p256 --password-file "$OPS/pw"
grep -q "BEGIN PUBLIC KEY" "$OPS/keys/root-3.pub" && [ -s "$OPS/keys/root-3.key" ] && ! grep -q "PUBLIC" "$OPS/keys/root-3.key" \
    && pass keygen_writes_key_pair || fail keygen_writes_key_pair "$(ls -l "$OPS/keys")"
refuses keygen_refuses_to_overwrite "exists" tufc keygen --out "$OPS/keys/root-1" --password-file "$OPS/pw"
policy "$OPS/policy-1.toml" 2 "root-1 root-2 root-3" targets
ok tuf_init tufc init --policy "$OPS/policy-1.toml" --repo "$REPO" \
    --target "trusted_root.json=$TR" --target "signing_config.v0.2.json=$SC" \
    --key "$(key root-1)" --key "$(key root-2)" --key "$(key targets)" --key "$(key snapshot)" --key "$(key timestamp)" \
    --password-file "$OPS/pw"
[ -s "$REPO/1.root.json" ] || finish
cp "$REPO/1.root.json" "$PIN"
kinds="$(json_get "$PIN" '" ".join(sorted(k["keytype"] for k in d["signed"]["keys"].values()))')"
thr="$(json_get "$PIN" 'd["signed"]["roles"]["root"]["threshold"]')"
nsig="$(json_get "$PIN" 'len(d["signatures"])')"
[ "$kinds" = "ecdsa ed25519 ed25519 ed25519 ed25519 ed25519" ] && [ "$thr" = 2 ] && [ "$nsig" = 2 ] \
    && pass root_1_matches_policy || fail root_1_matches_policy "keys [$kinds] threshold $thr signatures $nsig"
ok tuf_status_after_init tufc status --repo "$REPO"
grep -qE '^root +version 1 ' "$RUN/log/tuf_status_after_init.log" && grep -qE '^targets +version 1 ' "$RUN/log/tuf_status_after_init.log" \
    && pass tuf_status_reports_versions || fail tuf_status_reports_versions "$(cat "$RUN/log/tuf_status_after_init.log")"

cat >"$RUN/tuf.toml" <<EOF
listen = "127.0.0.1:$((BASE + 8))"
repository_dir = "repo"
check_interval_secs = 2
[timestamp_key.file]
path = "offline/keys/timestamp.key"
password_file = "offline/pw"
[snapshot_key.file]
path = "offline/keys/snapshot.key"
password_file = "offline/pw"
EOF
"$SIGSTEAD_BIN" serve tuf --config "$RUN/tuf.toml" >"$RUN/log/tuf-server.log" 2>&1 &
TUF_PID=$!
wait_http "$TUF/timestamp.json" TUF_PID && pass tuf_server_starts || { fail tuf_server_starts "$(tail -3 "$RUN/log/tuf-server.log")"; finish; }
# The wire layout: versioned roots, 404 past the newest, cache policy per file.
curl -fsS "$TUF/1.root.json" -o "$RUN/served-1.root.json" && cmp -s "$RUN/served-1.root.json" "$PIN" \
    && pass serves_1_root_json || fail serves_1_root_json "differs from the repository's"
code="$(curl -s -o /dev/null -w '%{http_code}' "$TUF/2.root.json")"
[ "$code" = 404 ] && pass no_2_root_json_is_404 || fail no_2_root_json_is_404 "HTTP $code"
cc_ts="$(curl -fsS -D - -o /dev/null "$TUF/timestamp.json" | tr -d '\r' | sed -n 's/^cache-control: //Ip')"
cc_root="$(curl -fsS -D - -o /dev/null "$TUF/1.root.json" | tr -d '\r' | sed -n 's/^cache-control: //Ip')"
[ "$cc_ts" = no-cache ] && case "$cc_root" in *immutable*) true ;; *) false ;; esac \
    && pass cache_headers || fail cache_headers "timestamp.json: '$cc_ts', 1.root.json: '$cc_root'"
# Nothing outside the repository directory is served (offline/pw sits next to it).
leaks=""
for p in "targets/../../offline/pw" "targets/..%2f..%2foffline%2fpw" "..%2foffline%2fpw" "targets/%2e%2e/%2e%2e/offline/pw"; do
    code="$(curl -s --path-as-is -o "$RUN/probe.out" -w '%{http_code}' "$TUF/$p")"
    { [ "$code" = 200 ] || grep -q offline-key-password "$RUN/probe.out" 2>/dev/null; } && leaks="$leaks $p(HTTP $code)"
done
[ -z "$leaks" ] && pass no_path_traversal || fail no_path_traversal "served:$leaks"

# ------------------------------------------------------------------ 2. clients bootstrap from 1.root.json
echo "hello from a TUF-configured client" >"$WORK/artifact"
for c in $DRIVERS; do
    fetch_ok "${c}_bootstraps" "$c" "$TUF" "$RUN/cache/$c" 1 "trusted_root.json=$TR" "signing_config.v0.2.json=$SC"
    legacy_ok "${c}_fetches_legacy_targets" "$c" "$RUN/cache/$c" "$TR"
done
# The legacy targets alone verify a signature: cosign's pre-bundle format (cosign 2
# style: signature, certificate and SET; cosign 3 requires a trusted root for the new
# bundle format) verified offline with only rekor.pub, ctfe.pub and the Fulcio chain
# that python-tuf fetched through TUF (SIGSTORE_* variables, no trusted root, no TUF),
# as a client that predates trusted_root.json does.
LEG="$RUN/out/python_fetches_legacy_targets"
cat "$LEG/fulcio_intermediate_v1.crt.pem" "$LEG/fulcio_v1.crt.pem" >"$RUN/legacy-fulcio-chain.pem" 2>/dev/null

# cosign 3.1.1: initialize, then keyless signing with the services the TUF
# signing config names, and verification with the TUF trusted root (no flags).
COSIGN_TUF_DIR="$H/cosign-main/.sigstore/root/127.0.0.1-$((BASE + 8))"
ok cosign_initialize cos main initialize --mirror "$TUF" --root "$PIN"
cmp -s "$COSIGN_TUF_DIR/targets/signing_config.v0.2.json" "$SC" && cmp -s "$COSIGN_TUF_DIR/targets/trusted_root.json" "$TR" \
    && pass cosign_caches_tuf_targets || fail cosign_caches_tuf_targets "$(ls -R "$H/cosign-main/.sigstore" 2>&1 | head -20)"
mint_token || fail token "$(tail -2 "$RUN/log/token.log")"
ok cosign_sign_blob_via_tuf cos main sign-blob --yes --identity-token token.jwt --bundle cosign-1.json artifact
ok cosign_verify_blob_via_tuf cos main verify-blob --bundle cosign-1.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
# The bundle came from the live stack: it verifies offline against up's trusted root.
ok cosign_bundle_is_from_the_stack cos offline verify-blob --trusted-root "$TR" --bundle cosign-1.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
mint_token
ok cosign_signs_pre_bundle_format cos main sign-blob --yes --new-bundle-format=false --use-signing-config=false \
    --fulcio-url "$FULCIO" --rekor-url "$REKOR" --trusted-root "$TR" --identity-token token.jwt --bundle cosign-legacy.json artifact
home_of legacy-only
ok cosign_verifies_with_legacy_targets_only offline "${HENV[@]}" \
    SIGSTORE_ROOT_FILE="$RUN/legacy-fulcio-chain.pem" SIGSTORE_REKOR_PUBLIC_KEY="$LEG/rekor.pub" SIGSTORE_CT_LOG_PUBLIC_KEY_FILE="$LEG/ctfe.pub" \
    "$COSIGN" verify-blob --new-bundle-format=false --bundle cosign-legacy.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
# cosign reads legacy targets through TUF only from a repository without
# trusted_root.json (it then falls back to its go-tuf v0.7 client and the individual
# targets): a repository holding exactly the legacy files python-tuf fetched from this
# one (same keys as this test's, init by `sigstead tuf init`), served offline by a
# static server: cosign initialize downloads them (byte-identical) and verifies the
# pre-bundle signature with nothing else.
LREPO="$RUN/legacy-only-repo"
ok legacy_only_repository tufc init --policy "$OPS/policy-1.toml" --repo "$LREPO" \
    --target "rekor.pub=$LEG/rekor.pub" --target "ctfe.pub=$LEG/ctfe.pub" --target "fulcio_v1.crt.pem=$LEG/fulcio_v1.crt.pem" \
    --target "fulcio_intermediate_v1.crt.pem=$LEG/fulcio_intermediate_v1.crt.pem" \
    --key "$(key root-1)" --key "$(key root-2)" --key "$(key targets)" --key "$(key snapshot)" --key "$(key timestamp)" --password-file "$OPS/pw"
home_of cosign-legacy-tuf
ok cosign_verifies_through_legacy_tuf_targets offline "${HENV[@]}" bash -c '
    python3 -m http.server --bind 127.0.0.1 --directory "$1" "$2" >/dev/null 2>&1 & srv=$!
    for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$2/timestamp.json" 2>/dev/null && break; sleep 0.1; done
    "$3" initialize --mirror "http://127.0.0.1:$2" --root "$1/1.root.json" && "$3" verify-blob --new-bundle-format=false \
        --bundle cosign-legacy.json --certificate-identity "$4" --certificate-oidc-issuer "$5" artifact; rc=$?; kill $srv; exit $rc' \
    legacy "$LREPO" "$((BASE + 9))" "$COSIGN" "$ID" "$ISSUER"
bad=""
for f in rekor.pub ctfe.pub fulcio_v1.crt.pem fulcio_intermediate_v1.crt.pem; do
    cmp -s "$H/cosign-legacy-tuf/.sigstore/root/targets/$f" "$LEG/$f" || bad="$bad $f"
done
[ -z "$bad" ] && pass cosign_fetched_the_legacy_targets_through_tuf || fail cosign_fetched_the_legacy_targets_through_tuf "differ or missing:$bad"
refuses cosign_legacy_targets_refuse_wrong_identity "expected|identity|subject" offline "${HENV[@]}" \
    SIGSTORE_ROOT_FILE="$RUN/legacy-fulcio-chain.pem" SIGSTORE_REKOR_PUBLIC_KEY="$LEG/rekor.pub" SIGSTORE_CT_LOG_PUBLIC_KEY_FILE="$LEG/ctfe.pub" \
    "$COSIGN" verify-blob --new-bundle-format=false --bundle cosign-legacy.json --certificate-identity bob@example.com --certificate-oidc-issuer "$ISSUER" artifact
refuses cosign_via_tuf_rejects_wrong_identity "none of the expected identities|identity|subject" \
    cos main verify-blob --bundle cosign-1.json --certificate-identity bob@example.com --certificate-oidc-issuer "$ISSUER" artifact

# sigstore-python 4.5.1 through the instance.
ok python_trust_instance pys main --instance "$TUF" trust-instance "$PIN"
mint_token
ok python_sign_via_instance pys main --instance "$TUF" sign --identity-token "$(cat "$WORK/token.jwt")" --bundle py-1.json artifact
ok python_verify_via_instance pys main --instance "$TUF" verify identity --bundle py-1.json --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact
ok python_verifies_cosign_bundle_via_instance pys main --instance "$TUF" verify identity --bundle cosign-1.json --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact
ok cosign_verifies_python_bundle_via_tuf cos main verify-blob --bundle py-1.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
PY_TUF_DIR="$H/python-main/data/sigstore-python/tuf/$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$TUF")"
[ -s "$PY_TUF_DIR/root_history/1.root.json" ] && pass python_tuf_state_under_instance || fail python_tuf_state_under_instance "no $PY_TUF_DIR/root_history/1.root.json"

# sigstore-js 4.1.1 (tufMirrorURL / tufRootPath / tufCachePath) and @sigstore/cli 0.8.1.
js_ok() { # js_ok NAME CACHE BUNDLE ROOT-VERSION EXPECTED-TRUSTED-ROOT
    ok "$1" jsv "$2" "$TUF" "$3"
    grep -q "^verified: root=$4 trusted_root_sha256=$(sha "$5")$" "$RUN/log/$1.log" \
        && pass "$1_trust_state" || fail "$1_trust_state" "$(tail -1 "$RUN/log/$1.log") (want root=$4, trusted_root $(sha "$5"))"
}
js_ok js_verifies_cosign_bundle_via_tuf main cosign-1.json 1 "$TR"
js_ok js_verifies_python_bundle_via_tuf main py-1.json 1 "$TR"
refuses js_via_tuf_rejects_wrong_identity "^verification failed: .*identity" jsv main "$TUF" cosign-1.json bob@example.com
ok cli_verifies_python_bundle_via_tuf cliv main py-1.json
ok cli_verifies_cosign_bundle_via_tuf cliv main cosign-1.json

# ------------------------------------------------------------------ 3. root rotation (offline flow)
ok keygen_root-4 tufc keygen --out "$OPS/keys/root-4" --password-file "$OPS/pw"
ok keygen_targets-2 tufc keygen --out "$OPS/keys/targets-2" --algorithm ecdsa-p256 --password-file "$OPS/pw"
# Root 2: root-1 revoked, root-4 added, threshold 2 -> 3, targets key -> targets-2.
policy "$OPS/policy-2.toml" 3 "root-2 root-3 root-4" targets-2

# Publishing a root that revokes the key of the targets currently served must be
# refused, with nothing written (on a scratch copy of the repository): clients
# would refuse the repository from then on.
cp -r "$REPO" "$RUN/scratch-repo"
tufc stage-root --policy "$OPS/policy-2.toml" --repo "$RUN/scratch-repo" --out "$RUN/scratch-root-2.json" >"$RUN/log/orphan.log" 2>&1
tufc sign --metadata "$RUN/scratch-root-2.json" --key "$(key root-1)" --key "$(key root-2)" --key "$(key root-3)" --key "$(key root-4)" --password-file "$OPS/pw" >>"$RUN/log/orphan.log" 2>&1
scratch_before="$(tree_sum "$RUN/scratch-repo")"
refuses publish_refuses_root_orphaning_served_targets "would not accept the served 1.targets.json" \
    tufc publish --repo "$RUN/scratch-repo" --metadata "$RUN/scratch-root-2.json" \
    --online-key "$(key snapshot)" --online-key "$(key timestamp)" --password-file "$OPS/pw"
[ ! -e "$RUN/scratch-repo/2.root.json" ] && [ "$scratch_before" = "$(tree_sum "$RUN/scratch-repo")" ] \
    && pass publish_orphaning_root_writes_nothing || fail publish_orphaning_root_writes_nothing "the scratch repository changed"
rm -rf "$RUN/scratch-repo"

# Transition: targets 2 (same files) signed by the old and the new targets key, so
# it verifies under root 1 now and under root 2 after the rotation.
ok stage_targets_2 tufc stage-targets --repo "$REPO" --out "$OPS/targets-2.json"
ok sign_targets_2_old_and_new_key tufc sign --metadata "$OPS/targets-2.json" --key "$(key targets)" --key "$(key targets-2)" --password-file "$OPS/pw"
ok publish_targets_2 tufc publish --repo "$REPO" --metadata "$OPS/targets-2.json"
wait_targets server_resigns_for_targets_2 2

ok stage_root_2 tufc stage-root --policy "$OPS/policy-2.toml" --repo "$REPO" --out "$OPS/root-2.json"
[ "$(json_get "$OPS/root-2.json" 'd["signed"]["version"], len(d["signatures"])')" = "2 0" ] \
    && pass staged_root_2_is_unsigned || fail staged_root_2_is_unsigned "$(head -c 300 "$OPS/root-2.json")"
# publish_refused NAME KEY...: root 2 signed only with KEYs must be refused, nothing written.
publish_refused() {
    local name="$1" k args=(); shift
    for k in "$@"; do args+=(--key "$(key "$k")"); done
    cp "$OPS/root-2.json" "$OPS/$name.json"
    tufc sign --metadata "$OPS/$name.json" "${args[@]}" --password-file "$OPS/pw" >"$RUN/log/$name.sign.log" 2>&1
    local before after code
    before="$(tree_sum "$REPO")"
    refuses "$name" "threshold|signatures" tufc publish --repo "$REPO" --metadata "$OPS/$name.json"
    after="$(tree_sum "$REPO")"
    code="$(curl -s -o /dev/null -w '%{http_code}' "$TUF/2.root.json")"
    [ ! -e "$REPO/2.root.json" ] && [ "$before" = "$after" ] && [ "$code" = 404 ] \
        && pass "${name}_wrote_nothing" || fail "${name}_wrote_nothing" "2.root.json: $(ls "$REPO"/2.root.json 2>&1), served: HTTP $code"
}
# Old root needs 2 of {1,2,3}: root-2 alone is 1.  New root needs 3 of {2,3,4}: root-1 + root-2 give 1.
publish_refused publish_refuses_root_below_old_threshold root-2 root-4
publish_refused publish_refuses_root_below_new_threshold root-1 root-2
# Two offline holders sign in turn; then publish.
ok sign_root_2_holder_a tufc sign --metadata "$OPS/root-2.json" --key "$(key root-1)" --key "$(key root-2)" --password-file "$OPS/pw"
ok sign_root_2_holder_b tufc sign --metadata "$OPS/root-2.json" --key "$(key root-3)" --key "$(key root-4)" --password-file "$OPS/pw"
ok publish_root_2 tufc publish --repo "$REPO" --metadata "$OPS/root-2.json"
code="$(curl -s -o /dev/null -w '%{http_code}' "$TUF/2.root.json")"
[ "$code" = 200 ] && curl -fsS "$TUF/root.json" | cmp -s - "$REPO/2.root.json" \
    && pass serves_root_2 || fail serves_root_2 "2.root.json: HTTP $code"
ok tuf_status_after_rotation tufc status --repo "$REPO"
grep -qE '^root +version 2 ' "$RUN/log/tuf_status_after_rotation.log" && pass tuf_status_reports_root_2 || fail tuf_status_reports_root_2 "$(cat "$RUN/log/tuf_status_after_rotation.log")"
TARGETS_KEY=targets-2

# Every client follows the rotation on its existing cache (and fresh ones from 1.root.json).
for c in $DRIVERS; do
    fetch_ok "${c}_follows_rotation" "$c" "$TUF" "$RUN/cache/$c" 2 "trusted_root.json=$TR" "signing_config.v0.2.json=$SC"
    fetch_ok "${c}_fresh_bootstrap_after_rotation" "$c" "$TUF" "$RUN/cache/$c-fresh" 2 "trusted_root.json=$TR" "signing_config.v0.2.json=$SC"
done
ok cosign_verifies_after_rotation cos main verify-blob --bundle cosign-1.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
v="$(json_get "$COSIGN_TUF_DIR/root.json" 'd["signed"]["version"]')"
[ "$v" = 2 ] && pass cosign_cache_follows_root_2 || fail cosign_cache_follows_root_2 "cached root.json version '$v'"
mint_token
ok cosign_signs_after_rotation cos main sign-blob --yes --identity-token token.jwt --bundle cosign-2.json artifact
ok cosign_verifies_new_bundle_after_rotation cos main verify-blob --bundle cosign-2.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
ok python_verifies_after_rotation pys main --instance "$TUF" verify identity --bundle py-1.json --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact
[ -s "$PY_TUF_DIR/root_history/2.root.json" ] && pass python_follows_root_2 || fail python_follows_root_2 "no root_history/2.root.json: $(ls "$PY_TUF_DIR/root_history" 2>&1)"
mint_token
ok python_signs_after_rotation pys main --instance "$TUF" sign --identity-token "$(cat "$WORK/token.jwt")" --bundle py-2.json artifact
ok python_verifies_new_bundle_after_rotation pys main --instance "$TUF" verify identity --bundle py-2.json --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact
js_ok js_follows_rotation main cosign-2.json 2 "$TR"
js_ok js_verifies_python_bundle_after_rotation main py-2.json 2 "$TR"
ok cli_verifies_after_rotation cliv main cosign-2.json
v="$(json_get "$H/cli/main/$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "127.0.0.1:$((BASE + 8))")/root.json" 'd["signed"]["version"]')"
[ "$v" = 2 ] && pass cli_cache_follows_root_2 || fail cli_cache_follows_root_2 "cached root.json version '$v'"

# The revoked targets key can no longer publish.
ok stage_targets_by_revoked_key tufc stage-targets --repo "$REPO" --out "$OPS/targets-revoked.json"
tufc sign --metadata "$OPS/targets-revoked.json" --key "$(key targets)" --password-file "$OPS/pw" >"$RUN/log/sign-revoked.log" 2>&1
before="$(tree_sum "$REPO")"
refuses publish_refuses_targets_signed_by_revoked_key "threshold|signatures" tufc publish --repo "$REPO" --metadata "$OPS/targets-revoked.json"
[ "$before" = "$(tree_sum "$REPO")" ] && pass revoked_key_publication_wrote_nothing || fail revoked_key_publication_wrote_nothing "the repository changed"

# The drift audit of the live documents: every service of the signing config
# answers with what the trusted root lists.
ok tuf_audit_live_trust_documents tufc audit --trusted-root "$TR" --signing-config "$SC"

# New targets: a trusted root naming another CA (targets 3); every verifier must
# now refuse the earlier bundles. Then targets 4 restores the real one.
other_ca_root "$RUN/other-ca.trusted_root.json"
OTHER="$RUN/other-ca.trusted_root.json"
[ -s "$OTHER" ] || fail other_ca_trusted_root "$(tail -3 "$RUN/log/other-ca.log")"
DRIFT_WHY="DIFF ca [^ ]+: the trusted root lists 2 certificate" publish_targets 3 "trusted_root.json=$OTHER"
for c in $DRIVERS; do
    fetch_ok "${c}_sees_targets_3" "$c" "$TUF" "$RUN/cache/$c" 2 "trusted_root.json=$OTHER" "signing_config.v0.2.json=$SC"
done
# The legacy Fulcio targets moved with the trusted root, in the same targets version.
legacy_ok python_legacy_targets_follow_targets_3 python "$RUN/cache/python" "$OTHER"
refuses cosign_refuses_after_trusted_root_change "leaf certificate verification failed" \
    cos main verify-blob --bundle cosign-1.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
refuses python_refuses_after_trusted_root_change "certificate chain was not valid" \
    pys main --instance "$TUF" verify identity --bundle py-1.json --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact
refuses js_refuses_after_trusted_root_change "^verification failed: .*certificate" jsv main "$TUF" cosign-1.json
refuses cli_refuses_after_trusted_root_change "Failed to verify certificate chain" cliv main py-1.json

publish_targets 4 "trusted_root.json=$TR"
for c in $DRIVERS; do
    fetch_ok "${c}_sees_targets_4" "$c" "$TUF" "$RUN/cache/$c" 2 "trusted_root.json=$TR" "signing_config.v0.2.json=$SC"
done
ok cosign_accepts_after_restore cos main verify-blob --bundle cosign-1.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
ok python_accepts_after_restore pys main --instance "$TUF" verify identity --bundle py-1.json --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact
js_ok js_accepts_after_restore main cosign-1.json 2 "$TR"
ok cli_accepts_after_restore cliv main py-1.json

# ------------------------------------------------------------------ 4. attack fixtures
FX="$RUN/fixtures"
ok attack_fixtures tufc attack-fixtures --out "$FX"
nfx="$(ls "$FX" 2>/dev/null | wc -l)"
[ "$nfx" -ge 10 ] && pass "attack_fixtures_written($nfx)" || fail attack_fixtures_written "$nfx fixtures"
# One static server for every fixture; the directory it serves is a symlink moved
# from fixture to fixture (baseline first for rollbacks).
ln -sfn "$FX" "$RUN/fx-serve"
(cd "$RUN" && exec python3 -m http.server --bind 127.0.0.1 --directory "$RUN/fx-serve" "$((BASE + 9))") >"$RUN/log/fx-http.log" 2>&1 &
AUX_PID=$!
ln -sfn "$FX/good/repo" "$RUN/fx-serve"
wait_http "$AUX/timestamp.json" AUX_PID && pass fixture_server_starts || fail fixture_server_starts "$(tail -3 "$RUN/log/fx-http.log")"
serve_fixture() { ln -sfn "$1" "$RUN/fx-serve"; }
# What each attack must be refused for (matched against the client's error).
why() {
    case "$1" in
        freeze-*) echo "expired" ;;
        key-id-*) echo "key ?id" ;;
        rollback-*|mix-and-match-*) echo "roll|version|pin" ;;
        target-hash-*) echo "hash|length" ;;
        *) echo "threshold|signed by|signatures" ;;
    esac
}
# Known client deviations, observed and asserted as such (reported as NOTEs):
# python-tuf 7.0.1 and sigstore-tuf 0.15 do not recompute key IDs from the keys.
deviation() {
    case "$2/$1" in
        python/key-id-not-hash-of-key) echo "accept:python-tuf 7.0.1 does not check that a key ID is the hash of its key, and the signature under the fake ID verifies" ;;
        sigstore/key-id-not-hash-of-key) echo "accept:sigstore-tuf 0.15 does not check that a key ID is the hash of its key, and the signature under the fake ID verifies" ;;
    esac
}
# expected_target FIXTURE-REPO NAME: the file the newest targets metadata lists for NAME.
expected_target() {
    local tv sum
    tv="$(cd "$1" && ls | sed -n 's/^\([0-9]*\)\.targets\.json$/\1/p' | sort -n | tail -1)"
    sum="$(json_get "$1/$tv.targets.json" "d['signed']['targets']['$2']['hashes']['sha256']")"
    echo "$1/targets/$sum.$2"
}
for fx in "$FX"/*/; do
    fx="${fx%/}"; name="$(basename "$fx")"; expect="$(cat "$fx/expect")"
    for client in mirror $DRIVERS; do
        t="fixture_${name}_$client"; state="$RUN/fx-state/$name-$client"; out="$RUN/out/$t"
        want="$expect"; dev="$(deviation "$name" "$client")"; [ -n "$dev" ] && want="${dev%%:*}"
        if [ -d "$fx/baseline" ]; then
            serve_fixture "$fx/baseline"
            if ! tuf_client "$client" "$AUX" "$fx/1.root.json" "$state" "$out" >"$RUN/log/$t.baseline.log" 2>&1; then
                fail "$t" "the baseline was refused: $(tail -1 "$RUN/log/$t.baseline.log")"; continue
            fi
        fi
        serve_fixture "$fx/repo"
        before="$(tree_sum "$state")"
        tuf_client "$client" "$AUX" "$fx/1.root.json" "$state" "$out" >"$RUN/log/$t.log" 2>&1
        rc=$?
        if [ "$want" = refuse ]; then
            if [ "$rc" -eq 0 ]; then fail "$t" "accepted ($(cat "$fx/attack" | tr -d '\n')): $(tail -1 "$RUN/log/$t.log")"
            elif ! grep -qiE "$(why "$name")" "$RUN/log/$t.log"; then fail "$t" "refused for another reason: $(tail -1 "$RUN/log/$t.log")"
            elif [ "$client" = mirror ] && [ "$(tree_sum "$state")" != "$before" ]; then fail "$t" "refused, but changed the mirror directory"
            elif [ "$client" != mirror ] && [ -n "$(ls -A "$out")" ]; then fail "$t" "refused, but wrote $(ls "$out")"
            else pass "$t"; fi
            continue
        fi
        # Accepted: the newest root, and exactly the bytes the repository lists.
        rootv="$(cd "$fx/repo" && ls | sed -n 's/^\([0-9]*\)\.root\.json$/\1/p' | sort -n | tail -1)"
        if [ "$rc" -ne 0 ]; then fail "$t" "refused: $(tail -1 "$RUN/log/$t.log")"; continue; fi
        bad=""
        if [ "$client" = mirror ]; then
            grep -q "^mirrored root $rootv " "$RUN/log/$t.log" || bad="printed: $(tail -1 "$RUN/log/$t.log")"
            for f in $(cd "$state" && find . -type f | sed 's#^\./##'); do cmp -s "$state/$f" "$fx/repo/$f" || bad="$bad $f differs"; done
        else
            [ "$(tail -1 "$RUN/log/$t.log")" = "ok root=$rootv targets=2" ] || bad="printed: $(tail -1 "$RUN/log/$t.log")"
            for n in trusted_root.json signing_config.v0.2.json; do cmp -s "$out/$n" "$(expected_target "$fx/repo" "$n")" || bad="$bad $n differs"; done
        fi
        if [ -n "$bad" ]; then fail "$t" "$bad"
        else
            pass "$t"
            [ -n "$dev" ] && note "$t" "ACCEPTED although the fixture expects a refusal ($(tr -d '\n' <"$fx/attack")): ${dev#*:}; tough and sigstead mirror refuse it"
        fi
    done
    # Rollbacks: a fresh client (no baseline) accepts the same repository, so the
    # refusals above come from the remembered newer versions.
    if [ -d "$fx/baseline" ] && [ "$name" != rollback-root ]; then
        for client in mirror $DRIVERS; do
            t="fixture_${name}_fresh_${client}_accepts"
            if tuf_client "$client" "$AUX" "$fx/1.root.json" "$RUN/fx-state/$name-$client-fresh" "$RUN/out/$t" >"$RUN/log/$t.log" 2>&1; then pass "$t"
            else fail "$t" "$(tail -1 "$RUN/log/$t.log")"; fi
        done
    fi
done
stop_pid AUX_PID

# ------------------------------------------------------------------ 5. air gap
MIRROR="$RUN/airgap/repository"
ok mirror_live_repository "$SIGSTEAD_BIN" mirror --url "$TUF" --root "$PIN" --out "$MIRROR"
echo "     $(grep '^mirrored' "$RUN/log/mirror_live_repository.log")"
# Files: 2 roots, targets, snapshot, timestamp, trusted_root.json, signing_config and the legacy targets.
NLEG="$(python3 "$HERE/tuf_legacy_check.py" --trusted-root "$TR" --print-names | wc -l)"
grep -qE "^mirrored root 2 / targets 4 .*\($((7 + NLEG)) files written, 0 up to date\)" "$RUN/log/mirror_live_repository.log" \
    && pass mirror_copies_the_current_state || fail mirror_copies_the_current_state "$(grep -v fetched "$RUN/log/mirror_live_repository.log" | tail -1)"
# Freshness: every role's days left; a copy whose timestamp (1 day) expires within
# the threshold makes `mirror` and `tuf status` exit non-zero, naming the role.
grep -qE '^timestamp +version [0-9]+ +expires .* \([0-9.]+ days left\)' "$RUN/log/mirror_live_repository.log" \
    && pass mirror_prints_days_left || fail mirror_prints_days_left "$(grep -i expires "$RUN/log/mirror_live_repository.log" | head -3)"
ok tuf_status_fresh_enough "$SIGSTEAD_BIN" tuf status --repo "$MIRROR" --min-days 0.5
for cmd in "tuf status --repo $MIRROR --min-days 2" "mirror --url $TUF --root $PIN --out $MIRROR --min-days 2"; do
    name="stale_$(echo "${cmd%% --*}" | tr ' ' _)_exits_non_zero"
    if "$SIGSTEAD_BIN" $cmd >"$RUN/log/$name.log" 2>&1; then fail "$name" "exit 0"
    elif grep -qE 'timestamp expires in [0-9.]+ days.*threshold 2 days' "$RUN/log/$name.log"; then pass "$name"
    else fail "$name" "$(tail -1 "$RUN/log/$name.log")"; fi
done
cat >"$RUN/airgap/tuf.toml" <<EOF
listen = "127.0.0.1:$((BASE + 9))"
repository_dir = "repository"
static_only = true
EOF
"$SIGSTEAD_BIN" serve tuf --config "$RUN/airgap/tuf.toml" >"$RUN/log/airgap-server.log" 2>&1 &
AUX_PID=$!
wait_http "$AUX/timestamp.json" AUX_PID && pass mirror_server_starts || { fail mirror_server_starts "$(tail -3 "$RUN/log/airgap-server.log")"; finish; }
# same_as_origin NAME: every mirrored file, and root.json, is served byte-identical by both.
same_as_origin() {
    local f bad="" n=0
    for f in $(cd "$MIRROR" && find . -type f ! -name '.*' | sed 's#^\./##' | LC_ALL=C sort) root.json; do
        curl -fsS "$TUF/$f" -o "$RUN/origin.file" 2>/dev/null && curl -fsS "$AUX/$f" -o "$RUN/mirror.file" 2>/dev/null \
            && cmp -s "$RUN/origin.file" "$RUN/mirror.file" || bad="$bad $f"
        [ "$f" = root.json ] || cmp -s "$RUN/mirror.file" "$MIRROR/$f" || bad="$bad $f(disk)"
        n=$((n + 1))
    done
    [ -z "$bad" ] && pass "$1($n files)" || fail "$1" "differ:$bad"
}
same_as_origin mirror_serves_origin_bytes
code="$(curl -s -o /dev/null -w '%{http_code}' "$AUX/3.root.json")"
[ "$code" = 404 ] && pass mirror_3_root_json_is_404 || fail mirror_3_root_json_is_404 "HTTP $code"
for c in $DRIVERS; do
    fetch_ok "${c}_bootstraps_from_mirror" "$c" "$AUX" "$RUN/cache/$c-airgap" 2 "trusted_root.json=$TR" "signing_config.v0.2.json=$SC"
done
# Air-gapped verifiers: trust only from the mirror.
ok cosign_initialize_from_mirror cos airgap initialize --mirror "$AUX" --root "$PIN"
ok cosign_verifies_with_mirror_trust cos airgap verify-blob --bundle cosign-2.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
ok python_trust_instance_mirror pys airgap --instance "$AUX" trust-instance "$PIN"
ok python_verifies_with_mirror_trust pys airgap --instance "$AUX" verify identity --bundle py-2.json --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact
ok js_verifies_with_mirror_trust jsv airgap "$AUX" py-2.json

# A new targets version at the origin (a target in a subdirectory), then an incremental re-mirror.
printf 'release notes for the air-gapped site\n' >"$RUN/readme.txt"
publish_targets 5 "notes/readme.txt=$RUN/readme.txt"
ok mirror_rerun "$SIGSTEAD_BIN" mirror --url "$TUF" --root "$PIN" --out "$MIRROR"
echo "     $(grep '^mirrored' "$RUN/log/mirror_rerun.log")"
fetched="$(sed -n 's/^ *fetched \([^ ]*\) .*/\1/p' "$RUN/log/mirror_rerun.log" | tr '\n' ' ')"
if grep -qE "^mirrored root 2 / targets 5 .*\(4 files written, $((4 + NLEG)) up to date\)" "$RUN/log/mirror_rerun.log" \
    && ! grep -qE 'fetched .*(\.root\.json|trusted_root\.json|signing_config)' "$RUN/log/mirror_rerun.log"; then
    pass mirror_rerun_is_incremental
else
    fail mirror_rerun_is_incremental "$(grep '^mirrored' "$RUN/log/mirror_rerun.log"); fetched: $fetched"
fi
echo "     fetched: $fetched"
same_as_origin mirror_serves_origin_bytes_after_rerun
fetch_ok python_sees_new_target_via_mirror python "$AUX" "$RUN/cache/python-airgap" 2 \
    "notes/readme.txt=$RUN/readme.txt" "trusted_root.json=$TR" "signing_config.v0.2.json=$SC"
stop_pid AUX_PID

# A tampered origin (the timestamp's signature changed) is refused, the mirror untouched.
cp -r "$REPO" "$RUN/tampered"
python3 - "$RUN/tampered/timestamp.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
s = d["signatures"][0]["sig"]
d["signatures"][0]["sig"] = s[:-2] + ("00" if s[-2:] != "00" else "11")
json.dump(d, open(p, "w"), indent=2)
PY
(cd "$RUN" && exec python3 -m http.server --bind 127.0.0.1 --directory "$RUN/tampered" "$((BASE + 9))") >"$RUN/log/tampered-http.log" 2>&1 &
AUX_PID=$!
wait_http "$AUX/timestamp.json" AUX_PID && pass tampered_origin_served || fail tampered_origin_served "$(tail -3 "$RUN/log/tampered-http.log")"
before="$(tree_sum "$MIRROR")"
refuses mirror_refuses_tampered_origin "signature|threshold" "$SIGSTEAD_BIN" mirror --url "$AUX" --root "$PIN" --out "$MIRROR"
[ "$(tree_sum "$MIRROR")" = "$before" ] && pass tampered_origin_left_mirror_untouched || fail tampered_origin_left_mirror_untouched "the mirror changed"
refuses fresh_mirror_refuses_tampered_origin "signature|threshold" "$SIGSTEAD_BIN" mirror --url "$AUX" --root "$PIN" --out "$RUN/airgap/fresh"
[ -z "$(ls -A "$RUN/airgap/fresh" 2>/dev/null)" ] && pass tampered_origin_fresh_mirror_empty || fail tampered_origin_fresh_mirror_empty "$(ls "$RUN/airgap/fresh")"
stop_pid AUX_PID

# ------------------------------------------------------------------ 6. a Rekor key rotation reaches the legacy targets
# The operator rotates Rekor's key as the runbook says (a new key; trust-documents
# --previous keeps the old one listed with its window closed). Targets 6 carries the
# new trusted root and, derived from it in the same version, rekor.pub with the new
# key (Active) and the old key as rekor_<log id>.pub (Expired); bundles logged under
# the old key keep verifying through TUF.
ROT="$RUN/rotation"; mkdir -p "$ROT"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl ec -pubout -out "$ROT/new-rekor.pub" 2>/dev/null
python3 - "$TR" "$ROT" <<'PY' >"$RUN/log/rotation-inputs.log" 2>&1
import base64, json, sys, textwrap
tr, out = json.load(open(sys.argv[1])), sys.argv[2]
def pem(label, b64):
    return f"-----BEGIN {label}-----\n" + "\n".join(textwrap.wrap(b64, 64)) + f"\n-----END {label}-----\n"
open(f"{out}/ct.pub", "w").write(pem("PUBLIC KEY", tr["ctlogs"][0]["publicKey"]["rawBytes"]))
open(f"{out}/ca-chain.pem", "w").write("".join(pem("CERTIFICATE", c["rawBytes"]) for c in tr["certificateAuthorities"][0]["certChain"]["certificates"]))
open(f"{out}/tsa-chain.pem", "w").write("".join(pem("CERTIFICATE", c["rawBytes"]) for c in tr["timestampAuthorities"][0]["certChain"]["certificates"]))
open(f"{out}/urls", "w").write(" ".join([tr["tlogs"][0]["baseUrl"], tr["ctlogs"][0]["baseUrl"], tr["certificateAuthorities"][0]["uri"], tr["timestampAuthorities"][0]["uri"]]))
PY
read -r R_URL CT_URL CA_URL TSA_URL <"$ROT/urls"
ok rotation_trust_documents tufc trust-documents --rekor-url "$R_URL" --rekor-key "$ROT/new-rekor.pub" --ctlog-url "$CT_URL" \
    --ct-key "$ROT/ct.pub" --fulcio-url "$CA_URL" --ca-chain "$ROT/ca-chain.pem" --tsa-url "$TSA_URL" --tsa-chain "$ROT/tsa-chain.pem" \
    --previous "$TR" --out-dir "$ROT"
DRIFT_WHY="DIFF rekor [^ ]+: the trusted root lists key [^ ]+, the live log serves key" publish_targets 6 "trusted_root.json=$ROT/trusted_root.json"
legacy_ok python_legacy_targets_follow_rekor_rotation python "$RUN/cache/python" "$ROT/trusted_root.json"
RL="$RUN/out/python_legacy_targets_follow_rekor_rotation"
expired="$(json_get "$RUN/python_legacy_targets_follow_rekor_rotation.targets.json" '" ".join(n for n, t in d["signed"]["targets"].items() if (t.get("custom") or {}).get("sigstore") == {"usage": "Rekor", "status": "Expired", "uri": "'"$R_URL"'"})')"
old_key="$(json_get "$TR" 'd["tlogs"][0]["publicKey"]["rawBytes"]')"
new_key="$(openssl pkey -pubin -in "$ROT/new-rekor.pub" -outform DER 2>/dev/null | base64 -w0)"
got_old="$( [ -n "$expired" ] && openssl pkey -pubin -in "$RL/$expired" -outform DER 2>/dev/null | base64 -w0)"
got_new="$(openssl pkey -pubin -in "$RL/rekor.pub" -outform DER 2>/dev/null | base64 -w0)"
case "$expired" in rekor_*.pub) true ;; *) false ;; esac && [ "$got_old" = "$old_key" ] && [ "$got_new" = "$new_key" ] \
    && pass rekor_rotation_expires_old_key_in_legacy_targets \
    || fail rekor_rotation_expires_old_key_in_legacy_targets "Expired Rekor targets: '$expired'; rekor.pub new key: $([ "$got_new" = "$new_key" ] && echo yes || echo no)"
ok cosign_verifies_old_bundle_after_rekor_rotation cos main verify-blob --bundle cosign-1.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
ok python_verifies_old_bundle_after_rekor_rotation pys main --instance "$TUF" verify identity --bundle py-1.json --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact

# ------------------------------------------------------------------ 7. the offline verification kit
# `sigstead kit export` from the live repository; then every verifier uses the kit
# alone, offline.
KIT="$RUN/kit"
mkdir -p "$RUN/other-ca-kit" && cp "$OTHER" "$RUN/other-ca-kit/trusted_root.json"
ok kit_export "$SIGSTEAD_BIN" kit export --url "$TUF" --root "$PIN" --out "$KIT" --tar "$RUN/kit.tar.gz" \
    --issuer "$ISSUER" --subject-regexp '^alice@example\.com$' --subject-email "$ID"
missing=""
for f in trusted_root.json signing_config.v0.2.json trust_config.json tuf/root.json tuf/repository/timestamp.json \
    tuf/repository.tar.gz tuf/repository.tar.gz.b64 pem/rekor.pub pem/ctfe.pub pem/fulcio-chain.pem pem/fulcio-root.pem pem/tsa-chain.pem \
    admission/kyverno-values.yaml admission/kyverno-clusterpolicy.yaml admission/kyverno-clusterpolicy-keys.yaml \
    admission/policy-controller-trustroot.yaml admission/policy-controller-trustroot-remote.yaml \
    admission/policy-controller-clusterimagepolicy.yaml admission/flux-ocirepository.yaml admission/kyverno-imagevalidatingpolicy.yaml \
    admission/containers-policy.json admission/containers-registries.d-sigstead.yaml README.txt; do
    [ -s "$KIT/$f" ] || missing="$missing $f"
done
tar -tzf "$RUN/kit.tar.gz" >"$RUN/kit.tar.list" 2>&1
[ -z "$missing" ] && grep -qx 'sigstead-kit/trusted_root.json' "$RUN/kit.tar.list" && pass kit_has_every_file \
    || fail kit_has_every_file "missing:$missing; tarball: $(head -3 "$RUN/kit.tar.list")"
# The kit's trust documents are the ones TUF serves now (after the Rekor rotation).
fetch_ok kit_trust_documents_are_the_served_ones python "$TUF" "$RUN/cache/python" 2 \
    "trusted_root.json=$KIT/trusted_root.json" "signing_config.v0.2.json=$KIT/signing_config.v0.2.json"
home_of kit-cosign; KIT_COSIGN=("${HENV[@]}")
home_of kit-python; KIT_PYTHON=("${HENV[@]}")
ok kit_cosign_verifies_offline offline "${KIT_COSIGN[@]}" "$COSIGN" verify-blob --trusted-root "$KIT/trusted_root.json" \
    --bundle cosign-1.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
ok kit_cosign_verifies_python_bundle_offline offline "${KIT_COSIGN[@]}" "$COSIGN" verify-blob --trusted-root "$KIT/trusted_root.json" \
    --bundle py-2.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
ok kit_python_verifies_offline offline "${KIT_PYTHON[@]}" "$PYSIG" --trust-config "$KIT/trust_config.json" verify identity \
    --bundle cosign-2.json --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact
refuses kit_cosign_offline_refuses_wrong_identity "none of the expected identities|identity|subject" offline "${KIT_COSIGN[@]}" "$COSIGN" \
    verify-blob --trusted-root "$KIT/trusted_root.json" --bundle cosign-1.json --certificate-identity bob@example.com --certificate-oidc-issuer "$ISSUER" artifact
# `sigstead kit verify`: the kit alone (its trusted root) verifies the bundles of both
# clients, offline, and refuses another identity, another issuer, another artifact.
ok kit_verify_cosign_bundle_offline offline "$SIGSTEAD_BIN" kit verify "$KIT" --bundle cosign-1.json --artifact artifact --identity "$ID" --issuer "$ISSUER"
ok kit_verify_python_bundle_offline offline "$SIGSTEAD_BIN" kit verify "$KIT" --bundle py-2.json --artifact artifact --identity-regexp '^alice@example\.com$' --issuer "$ISSUER"
refuses kit_verify_refuses_wrong_identity "identity .* does not match" offline "$SIGSTEAD_BIN" kit verify "$KIT" --bundle cosign-1.json --artifact artifact --identity bob@example.com --issuer "$ISSUER"
refuses kit_verify_refuses_wrong_issuer "OIDC issuer .* is not" offline "$SIGSTEAD_BIN" kit verify "$KIT" --bundle cosign-1.json --artifact artifact --identity "$ID" --issuer https://accounts.google.com
printf 'not the signed artifact\n' >"$WORK/other-artifact"
refuses kit_verify_refuses_other_artifact "digest|logged digest" offline "$SIGSTEAD_BIN" kit verify "$KIT" --bundle cosign-1.json --artifact other-artifact --identity "$ID" --issuer "$ISSUER"
refuses kit_verify_refuses_other_ca_root "does not chain to a certificate authority" offline "$SIGSTEAD_BIN" kit verify "$RUN/other-ca-kit" --bundle cosign-1.json --artifact artifact --identity "$ID" --issuer "$ISSUER"
# The kit's mirror, served offline by a plain static file server: cosign initialize
# from it (with the kit's pinned root), then verify through TUF.
KPORT=$((BASE + 9))
ok kit_cosign_initialize_from_kit_mirror offline "${KIT_COSIGN[@]}" bash -c '
    python3 -m http.server --bind 127.0.0.1 --directory "$1/tuf/repository" "$2" >/dev/null 2>&1 & srv=$!
    for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$2/timestamp.json" 2>/dev/null && break; sleep 0.1; done
    "$3" initialize --mirror "http://127.0.0.1:$2" --root "$1/tuf/root.json" && "$3" verify-blob --bundle cosign-1.json \
        --certificate-identity "$4" --certificate-oidc-issuer "$5" artifact; rc=$?; kill $srv; exit $rc' kit "$KIT" "$KPORT" "$COSIGN" "$ID" "$ISSUER"
# policy-controller's mirrorFS: the tarball, unpacked, is a repository python-tuf
# verifies from the pinned root, with the kit's trust documents as its targets.
mkdir -p "$RUN/kit-untar" && tar -xzf "$KIT/tuf/repository.tar.gz" -C "$RUN/kit-untar" 2>"$RUN/log/kit-untar.log"
(cd "$RUN" && exec python3 -m http.server --bind 127.0.0.1 --directory "$RUN/kit-untar/repository" "$KPORT") >"$RUN/log/kit-tar-http.log" 2>&1 &
AUX_PID=$!
wait_http "$AUX/timestamp.json" AUX_PID && fetch_ok kit_mirrorfs_tarball_verifies python "$AUX" "$RUN/cache/kit-tarball" 2 \
    "trusted_root.json=$KIT/trusted_root.json" "signing_config.v0.2.json=$KIT/signing_config.v0.2.json" \
    || fail kit_mirrorfs_tarball_verifies "$(tail -2 "$RUN/log/kit-tar-http.log")"
stop_pid AUX_PID
[ "$(base64 -d "$KIT/tuf/repository.tar.gz.b64" | sha256sum)" = "$(sha256sum <"$KIT/tuf/repository.tar.gz")" ] \
    && pass kit_mirrorfs_base64_is_the_tarball || fail kit_mirrorfs_base64_is_the_tarball "differs"
# The admission configurations validate strictly against the upstream CRDs
# (Kyverno ClusterPolicy and ImageValidatingPolicy, policy-controller TrustRoot and
# ClusterImagePolicy, Flux OCIRepository: tests/e2e/crds/ORIGIN.md).
ok kit_admission_configs_match_upstream_crds bash "$HERE/deploy-lint.sh" --crd "$KIT"/admission/*.yaml
sed 's/subjectRegExp/subjectRegexp/' "$KIT/admission/kyverno-imagevalidatingpolicy.yaml" >"$RUN/misspelt-policy.yaml"
refuses crd_check_refuses_a_misspelt_field "'subjectRegexp' was unexpected" bash "$HERE/deploy-lint.sh" --crd "$RUN/misspelt-policy.yaml"
grep -c '^PASS crd_schema' "$RUN/log/kit_admission_configs_match_upstream_crds.log" | sed 's/^/     documents validated: /'
# The PEM files hold the trusted root's current keys; policy.json names them.
python3 - "$KIT" <<'PY' >"$RUN/log/kit_pem_files.log" 2>&1 && pass kit_pem_files_match_trusted_root || fail kit_pem_files_match_trusted_root "$(tail -1 "$RUN/log/kit_pem_files.log")"
import base64, json, re, sys
kit = sys.argv[1]
tr = json.load(open(f"{kit}/trusted_root.json"))
def ders(path):
    return [base64.b64decode("".join(b.split())) for b in re.findall(r"-----BEGIN [A-Z ]+-----(.*?)-----END", open(path).read(), re.S)]
cur = lambda xs, w: next(x for x in xs if "end" not in w(x))
assert ders(f"{kit}/pem/rekor.pub") == [base64.b64decode(cur(tr["tlogs"], lambda x: x["publicKey"]["validFor"])["publicKey"]["rawBytes"])], "rekor.pub"
assert ders(f"{kit}/pem/ctfe.pub") == [base64.b64decode(cur(tr["ctlogs"], lambda x: x["publicKey"]["validFor"])["publicKey"]["rawBytes"])], "ctfe.pub"
ca = cur(tr["certificateAuthorities"], lambda x: x["validFor"])
assert ders(f"{kit}/pem/fulcio-chain.pem") == [base64.b64decode(c["rawBytes"]) for c in ca["certChain"]["certificates"]], "fulcio-chain.pem"
tsa = cur(tr["timestampAuthorities"], lambda x: x["validFor"])
assert ders(f"{kit}/pem/tsa-chain.pem") == [base64.b64decode(c["rawBytes"]) for c in tsa["certChain"]["certificates"]], "tsa-chain.pem"
pol = json.load(open(f"{kit}/admission/containers-policy.json"))
req = pol["transports"]["docker"]["registry.example.internal"][0]
assert req["type"] == "sigstoreSigned" and req["fulcio"]["caPath"].endswith("/fulcio-chain.pem") and req["rekorPublicKeyPath"].endswith("/rekor.pub"), req
assert pol["default"] == [{"type": "reject"}]
print("ok")
PY

# ------------------------------------------------------------------ 8. a federated trust root
# trust-documents --include the public-good trusted root (from ../shared/vectors:
# this machine cannot reach the public TUF repository to mirror it): one trusted root
# and trust config list both instances. A public-good bundle (sigstore-conformance
# happy-path-v0.3) and this stack's bundles verify under it, offline, with cosign,
# sigstore-python and kit verify; a bundle of neither (the public staging instance)
# is refused. Published as targets 7, cosign verifies the public-good bundle through
# this stack's TUF repository.
VEC="$ROOT/../shared/vectors"
CONF="$VEC/bundles/sigstore-conformance/bundle-verify"
BEACON=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
GHA=https://token.actions.githubusercontent.com
FED="$RUN/federated"
ok federated_trust_documents tufc trust-documents --rekor-url "$R_URL" --rekor-key "$ROT/new-rekor.pub" --ctlog-url "$CT_URL" \
    --ct-key "$ROT/ct.pub" --fulcio-url "$CA_URL" --ca-chain "$ROT/ca-chain.pem" --tsa-url "$TSA_URL" --tsa-chain "$ROT/tsa-chain.pem" \
    --previous "$ROT/trusted_root.json" --include "$VEC/public-good/targets/trusted_root.json" --out-dir "$FED"
n_fed="$(json_get "$FED/trusted_root.json" 'len(d["tlogs"]), len(d["certificateAuthorities"])')"
n_own="$(json_get "$ROT/trusted_root.json" 'len(d["tlogs"]), len(d["certificateAuthorities"])')"
n_pg="$(json_get "$VEC/public-good/targets/trusted_root.json" 'len(d["tlogs"]), len(d["certificateAuthorities"])')"
read -r own_logs own_cas <<<"$n_own"; read -r pg_logs pg_cas <<<"$n_pg"
[ "$n_fed" = "$((own_logs + pg_logs)) $((own_cas + pg_cas))" ] \
    && pass "federated_root_lists_both_instances(${n_fed% *} logs, ${n_fed#* } CAs)" || fail federated_root_lists_both_instances "federated $n_fed, own $n_own, public-good $n_pg"
ok federated_cosign_verifies_public_good_bundle offline "${KIT_COSIGN[@]}" "$COSIGN" verify-blob --trusted-root "$FED/trusted_root.json" \
    --bundle "$CONF/happy-path-v0.3/bundle.sigstore.json" --certificate-identity "$BEACON" --certificate-oidc-issuer "$GHA" "$CONF/a.txt"
ok federated_cosign_verifies_private_bundle offline "${KIT_COSIGN[@]}" "$COSIGN" verify-blob --trusted-root "$FED/trusted_root.json" \
    --bundle cosign-1.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
ok federated_python_verifies_public_good_bundle offline "${KIT_PYTHON[@]}" "$PYSIG" --trust-config "$FED/trust_config.json" verify identity \
    --bundle "$CONF/happy-path-v0.3/bundle.sigstore.json" --cert-identity "$BEACON" --cert-oidc-issuer "$GHA" "$CONF/a.txt"
ok federated_python_verifies_private_bundle offline "${KIT_PYTHON[@]}" "$PYSIG" --trust-config "$FED/trust_config.json" verify identity \
    --bundle py-2.json --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact
ok federated_kit_verify_public_good_bundle offline "$SIGSTEAD_BIN" kit verify "$FED" --bundle "$CONF/happy-path-v0.3/bundle.sigstore.json" \
    --artifact "$CONF/a.txt" --identity "$BEACON" --issuer "$GHA"
ok federated_kit_verify_private_bundle offline "$SIGSTEAD_BIN" kit verify "$FED" --bundle cosign-1.json --artifact artifact --identity "$ID" --issuer "$ISSUER"
refuses federated_kit_verify_refuses_staging_bundle "not in the trusted root" offline "$SIGSTEAD_BIN" kit verify "$FED" \
    --bundle "$CONF/bundle-from-wrong-instance_fail/bundle.sigstore.json" --artifact "$CONF/a.txt" --identity "$BEACON" --issuer "$GHA"
refuses federated_cosign_refuses_staging_bundle "not enough verified log entries|log inclusion" offline "${KIT_COSIGN[@]}" "$COSIGN" verify-blob --trusted-root "$FED/trusted_root.json" \
    --bundle "$CONF/bundle-from-wrong-instance_fail/bundle.sigstore.json" --certificate-identity "$BEACON" --certificate-oidc-issuer "$GHA" "$CONF/a.txt"
refuses federated_python_refuses_staging_bundle "certificate chain was not valid" offline "${KIT_PYTHON[@]}" "$PYSIG" --trust-config "$FED/trust_config.json" verify identity \
    --bundle "$CONF/bundle-from-wrong-instance_fail/bundle.sigstore.json" --cert-identity "$BEACON" --cert-oidc-issuer "$GHA" "$CONF/a.txt"
# Without the federation, this stack's own root refuses the public-good bundle.
refuses own_root_refuses_public_good_bundle "not in the trusted root" offline "$SIGSTEAD_BIN" kit verify "$KIT" \
    --bundle "$CONF/happy-path-v0.3/bundle.sigstore.json" --artifact "$CONF/a.txt" --identity "$BEACON" --issuer "$GHA"
DRIFT_WHY="DIFF rekor [^ ]+: the trusted root lists key" publish_targets 7 "trusted_root.json=$FED/trusted_root.json"
ok federated_cosign_verifies_public_good_bundle_via_tuf cos main verify-blob --bundle "$CONF/happy-path-v0.3/bundle.sigstore.json" \
    --certificate-identity "$BEACON" --certificate-oidc-issuer "$GHA" "$CONF/a.txt"
ok federated_cosign_verifies_private_bundle_via_tuf cos main verify-blob --bundle cosign-1.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
legacy_ok python_legacy_targets_of_federated_root python "$RUN/cache/python" "$FED/trusted_root.json"

# ------------------------------------------------------------------ 9. the monitor follows the live Rekor
# `sigstead monitor --once` with the stack's trusted root, following Rekor and the CT
# log: first sight, then after a new keyless signature (one Rekor entry, one CT entry)
# a consistency proof from each verified tree and the watched identity reported once
# (identity alerts); the TUF repository's expiry per role, with a tuf-expiring alert
# below a threshold; a trusted root naming another Rekor or CT key is a bad-signature
# alert with a non-zero exit.
MON="$RUN/monitor"
ok monitor_first_sight "$SIGSTEAD_BIN" monitor --rekor-url "$REKOR" --ctlog-url "$CT_URL" --trusted-root "$TR" --state-dir "$MON" --once
mint_token
ok monitor_sign_one_more cos monitor sign-blob --yes --signing-config "$SC" --trusted-root "$TR" --identity-token token.jwt --bundle cosign-monitor.json artifact
ok monitor_proves_growth_consistent "$SIGSTEAD_BIN" monitor --rekor-url "$REKOR" --ctlog-url "$CT_URL" --trusted-root "$TR" --state-dir "$MON" --once \
    --watch-identity "$ID" --watch-issuer "$ISSUER" --watch-identity-regexp '^nobody@'
n_seen="$(grep -c '"identity_seen":"'"$ID"' from '"$ISSUER"'"' "$RUN/log/monitor_proves_growth_consistent.log")"
[ "$n_seen" = 1 ] && pass monitor_reports_the_watched_identity_once \
    || fail monitor_reports_the_watched_identity_once "$n_seen sightings: $(cat "$RUN/log/monitor_proves_growth_consistent.log")"
n_proved="$(grep -c '"consistency_proved":true' "$RUN/log/monitor_proves_growth_consistent.log")"
[ "$n_proved" = 2 ] && pass monitor_checked_rekor_and_ct_consistency_proofs \
    || fail monitor_checked_rekor_and_ct_consistency_proofs "$(cat "$RUN/log/monitor_proves_growth_consistent.log")"
# TUF freshness for the verifiers: the monitor refreshes this test's repository from
# the pinned root each round (expiry per role); a threshold above the timestamp's one
# day left is a tuf-expiring alert naming the role.
ok monitor_reports_tuf_expiry "$SIGSTEAD_BIN" monitor --rekor-url "$REKOR" --trusted-root "$TR" --state-dir "$MON" --once \
    --tuf-url "$TUF" --tuf-root "$PIN" --tuf-min-days 0.5
grep -q '"tuf_verified":"'"$TUF"'"' "$RUN/log/monitor_reports_tuf_expiry.log" && grep -q '"timestamp":{"secs_left":' "$RUN/log/monitor_reports_tuf_expiry.log" \
    && pass monitor_prints_days_left_per_role || fail monitor_prints_days_left_per_role "$(cat "$RUN/log/monitor_reports_tuf_expiry.log")"
refuses monitor_alerts_on_tuf_expiring '"alert":"tuf-expiring","detail":"tuf-expiring: timestamp expires in' "$SIGSTEAD_BIN" monitor \
    --rekor-url "$REKOR" --trusted-root "$TR" --state-dir "$MON" --once --tuf-url "$TUF" --tuf-root "$PIN" --tuf-min-days 2
other_ct_root "$RUN/wrong-ct-key.trusted_root.json"
refuses monitor_alerts_on_a_wrong_ct_key '"alert":"bad-signature","detail":"[^"]*","log":"'"$CT_URL" "$SIGSTEAD_BIN" monitor --rekor-url "$REKOR" \
    --ctlog-url "$CT_URL" --trusted-root "$RUN/wrong-ct-key.trusted_root.json" --state-dir "$MON" --once
python3 - "$TR" "$RUN/wrong-rekor-key.trusted_root.json" <<'PY' >"$RUN/log/wrong-rekor-key.log" 2>&1
import json, sys
tr = json.load(open(sys.argv[1]))
tr["tlogs"][0]["publicKey"]["rawBytes"] = tr["ctlogs"][0]["publicKey"]["rawBytes"]
json.dump(tr, open(sys.argv[2], "w"))
PY
refuses monitor_alerts_on_a_wrong_log_key '"alert":"bad-signature"' "$SIGSTEAD_BIN" monitor --rekor-url "$REKOR" \
    --trusted-root "$RUN/wrong-rekor-key.trusted_root.json" --state-dir "$MON" --once

echo "     rekor treeSize $(rekor_tree_size); $(tufc status --repo "$REPO" | tr -s ' ' | tr '\n' ';')"
finish
