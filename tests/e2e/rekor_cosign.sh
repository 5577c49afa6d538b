#!/usr/bin/env bash
# rekor_cosign.sh: end-to-end checks of a Rekor v1 log with cosign 3.1.1, key-based.
#
#   rekor_cosign.sh --cosign BIN --signing-config SC --trusted-root TR [--work DIR]
#
# SC is the signing_config.v0.2.json written by `sigstead rekor trust-material`,
# TR its trusted_root.json. cosign runs with an isolated HOME under the work dir.
#
#   cosign generate-key-pair                                   (COSIGN_PASSWORD)
#   cosign sign-blob --yes --key cosign.key --signing-config SC --trusted-root TR --bundle k.json art.txt
#   cosign verify-blob --key cosign.pub --trusted-root TR --bundle k.json art.txt     must succeed
# and must FAIL for: another artifact, another public key, a trusted root whose tlog key
# was replaced (with and without a matching logId), and a bundle whose SET, inclusion
# proof or canonicalized body was altered. Also the DSSE path:
#   cosign attest-blob --key ... (dsse 0.0.1 entry) / cosign verify-blob-attestation.
#
# `--trusted-root` is passed to sign-blob too: without it cosign 3.1.1 tries to fetch
# the public-good TUF root over the network first (only a warning, but pointless here).
#
# Prints `PASS name` / `FAIL name: reason` per check; exits 1 if any failed.
# Needs python3 (standard library only) for JSON handling.
set -uo pipefail

COSIGN="${COSIGN_BIN:-}"
SC=""
TR=""
WORK=""
while [ $# -gt 0 ]; do
    case "$1" in
        --cosign) COSIGN="$2"; shift 2 ;;
        --signing-config) SC="$2"; shift 2 ;;
        --trusted-root) TR="$2"; shift 2 ;;
        --work) WORK="$2"; shift 2 ;;
        *) echo "usage: $0 --cosign BIN --signing-config SC --trusted-root TR [--work DIR]" >&2; exit 2 ;;
    esac
done
[ -n "$COSIGN" ] && [ -n "$SC" ] && [ -n "$TR" ] || {
    echo "usage: $0 --cosign BIN --signing-config SC --trusted-root TR [--work DIR]" >&2; exit 2; }
PY="${PYTHON3:-python3}"

abspath() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
COSIGN="$(abspath "$COSIGN")"; SC="$(abspath "$SC")"; TR="$(abspath "$TR")"
if [ -z "$WORK" ]; then WORK="$(mktemp -d)"; CLEAN_WORK=1; else mkdir -p "$WORK"; CLEAN_WORK=0; fi
WORK="$(cd "$WORK" && pwd)"
[ "$CLEAN_WORK" = 1 ] && trap 'rm -rf "$WORK"' EXIT

# Isolated client state: cosign caches TUF data under ~/.sigstore.
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" XDG_CACHE_HOME="$WORK/home/.cache"
export COSIGN_PASSWORD="sigstead-e2e"
export TUF_ROOT="$WORK/home/.sigstore/root"
unset SIGSTORE_ID_TOKEN COSIGN_KEY COSIGN_REPOSITORY || true
mkdir -p "$HOME" "$WORK/logs"
cd "$WORK" || exit 2

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1: $(printf '%s' "$2" | tr '\n' ' ' | cut -c1-400)"; }
lastlog() { grep -v '^\s*$' "$WORK/logs/$1.log" 2>/dev/null | tail -n 2 | tr '\n' ' '; }

# run NAME CMD...: PASS when CMD exits 0.
run() {
    local name="$1"; shift
    if timeout 120 "$@" >"$WORK/logs/$name.log" 2>&1; then pass "$name"; return 0; fi
    fail "$name" "exit $? : $(lastlog "$name")"; return 1
}
# reject NAME PREREQ_OK CMD...: PASS when CMD exits non-zero with a verification error
# ("failed to verify ..."), and the matching positive check passed (otherwise a failure
# would prove nothing). A usage error, a bundle cosign could not even load, a crash or
# a timeout does not count as a rejection.
reject() {
    local name="$1" pre="$2"; shift 2
    if [ "$pre" != 1 ]; then fail "$name" "prerequisite missing (an earlier check failed)"; return 1; fi
    timeout 120 "$@" >"$WORK/logs/$name.log" 2>&1
    local rc=$?
    if [ $rc -eq 0 ]; then fail "$name" "cosign ACCEPTED it: $(lastlog "$name")"; return 1; fi
    if [ $rc -ge 124 ]; then fail "$name" "cosign timed out or crashed (exit $rc): $(lastlog "$name")"; return 1; fi
    if ! grep -q 'failed to verify' "$WORK/logs/$name.log"; then
        fail "$name" "cosign failed, but not with a verification error: $(lastlog "$name")"; return 1
    fi
    pass "$name"
}

REKOR_URL="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["rekorTlogUrls"][0]["url"].rstrip("/"))' "$SC" 2>/dev/null)"
tree_size() {
    "$PY" - "$REKOR_URL" <<'EOF'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/api/v1/log", timeout=30) as r:
    print(json.load(r)["treeSize"])
EOF
}

# ------------------------------------------------------------------ setup
if "$COSIGN" version >"$WORK/logs/cosign_version.log" 2>&1; then pass cosign_runs
else fail cosign_runs "$(lastlog cosign_version)"; fi

head -c 512 /dev/urandom | base64 > art.txt
echo "some other artifact" > other.txt
run cosign_generate_key_pair "$COSIGN" generate-key-pair
mkdir -p other && (cd other && "$COSIGN" generate-key-pair >/dev/null 2>&1) || true

# ------------------------------------------------------------------ hashedrekord via sign-blob
SIGNED=0
size0="$(tree_size 2>/dev/null || echo x)"
if run cosign_sign_blob "$COSIGN" sign-blob --yes --key cosign.key --signing-config "$SC" \
        --trusted-root "$TR" --bundle k.json art.txt; then
    SIGNED=1
fi
size1="$(tree_size 2>/dev/null || echo y)"
if [ "$SIGNED" = 1 ] && [ "$size0" != x ] && [ "$size1" = "$((size0 + 1))" ]; then pass cosign_sign_blob_logged
else fail cosign_sign_blob_logged "tree size $size0 -> $size1 at $REKOR_URL (want +1)"; fi

# What cosign put into the bundle must come from our log.
if [ "$SIGNED" = 1 ] && out="$("$PY" - k.json "$TR" cosign.pub 2>&1 <<'EOF'
import base64, json, sys
b = json.load(open(sys.argv[1]))
tr = json.load(open(sys.argv[2]))
pub = open(sys.argv[3], "rb").read()
es = b["verificationMaterial"]["tlogEntries"]
assert len(es) == 1, f"{len(es)} tlog entries"
e = es[0]
assert e["kindVersion"] == {"kind": "hashedrekord", "version": "0.0.1"}, e["kindVersion"]
ids = [t["logId"]["keyId"] for t in tr["tlogs"]]
assert e["logId"]["keyId"] in ids, f"logId {e['logId']['keyId']} not in trusted root {ids}"
assert int(e["logIndex"]) > 0, "logIndex 0"
assert e.get("inclusionPromise", {}).get("signedEntryTimestamp"), "no SET"
assert e.get("inclusionProof", {}).get("checkpoint", {}).get("envelope"), "no checkpoint"
body = json.loads(base64.b64decode(e["canonicalizedBody"]))
pem = base64.b64decode(body["spec"]["signature"]["publicKey"]["content"])
assert pem == pub, f"body publicKey {pem!r} != cosign.pub {pub!r}"
EOF
)"; then pass cosign_bundle_entry; else fail cosign_bundle_entry "$out"; fi

# A second, independent valid entry (other key, other artifact): its body is
# transplanted into k.json below, a self-consistent body that is not the logged one.

(cd other && timeout 120 "$COSIGN" sign-blob --yes --key cosign.key --signing-config "$SC" \
    --trusted-root "$TR" --bundle ../k_other.json ../other.txt) >"$WORK/logs/sign_other.log" 2>&1 \
    || echo "rekor_cosign: signing the second entry failed, see logs/sign_other.log" >&2

VERIFIED=0
run cosign_verify_blob "$COSIGN" verify-blob --key cosign.pub --trusted-root "$TR" \
    --bundle k.json art.txt && VERIFIED=1

reject cosign_reject_wrong_artifact "$VERIFIED" \
    "$COSIGN" verify-blob --key cosign.pub --trusted-root "$TR" --bundle k.json other.txt
reject cosign_reject_wrong_public_key "$VERIFIED" \
    "$COSIGN" verify-blob --key other/cosign.pub --trusted-root "$TR" --bundle k.json art.txt

# Trusted roots whose tlog key is replaced by a fresh P-256 key (other/cosign.pub):
# tr_wrong.json with a matching logId, tr_wrong_keyonly.json keeping the old logId.
"$PY" - "$TR" other/cosign.pub <<'EOF' > "$WORK/logs/make_wrong_roots.log" 2>&1
import base64, hashlib, json, sys
tr = json.load(open(sys.argv[1]))
pem = open(sys.argv[2]).read()
der = base64.b64decode("".join(l for l in pem.splitlines() if not l.startswith("-----")))
a = json.loads(json.dumps(tr)); b = json.loads(json.dumps(tr))
for t in a["tlogs"]:
    t["publicKey"]["rawBytes"] = base64.b64encode(der).decode()
    t["logId"]["keyId"] = base64.b64encode(hashlib.sha256(der).digest()).decode()
for t in b["tlogs"]:
    t["publicKey"]["rawBytes"] = base64.b64encode(der).decode()
json.dump(a, open("tr_wrong.json", "w"), indent=1)
json.dump(b, open("tr_wrong_keyonly.json", "w"), indent=1)
EOF
WR=0; [ -s tr_wrong.json ] && [ -s tr_wrong_keyonly.json ] && WR="$VERIFIED"
reject cosign_reject_wrong_tlog_key "$WR" \
    "$COSIGN" verify-blob --key cosign.pub --trusted-root tr_wrong.json --bundle k.json art.txt
reject cosign_reject_wrong_tlog_key_same_logid "$WR" \
    "$COSIGN" verify-blob --key cosign.pub --trusted-root tr_wrong_keyonly.json --bundle k.json art.txt

# Bundles with one part of the log entry altered.
if [ "$SIGNED" = 1 ]; then
"$PY" - k.json k_other.json <<'EOF' > "$WORK/logs/make_tampered.log" 2>&1
import base64, copy, json, sys
b = json.load(open(sys.argv[1]))
try:
    other = json.load(open(sys.argv[2]))["verificationMaterial"]["tlogEntries"][0]
except (OSError, ValueError, KeyError):
    other = None
def flip(b64):
    raw = bytearray(base64.b64decode(b64)); raw[-1] ^= 1
    return base64.b64encode(bytes(raw)).decode()
def write(name, fn):
    c = copy.deepcopy(b); fn(c["verificationMaterial"]["tlogEntries"][0])
    json.dump(c, open(name, "w"), indent=1)
def set_(e): e["inclusionPromise"]["signedEntryTimestamp"] = flip(e["inclusionPromise"]["signedEntryTimestamp"])
def proof(e):
    h = e["inclusionProof"]["hashes"]; assert h, "no proof hashes"; h[0] = flip(h[0])
def cp(e):
    env = e["inclusionProof"]["checkpoint"]["envelope"]
    note, sig = env.split("\n\n")
    name, s = sig.rstrip("\n").split(" ")[1:3]
    e["inclusionProof"]["checkpoint"]["envelope"] = note + "\n\n\u2014 " + name + " " + flip(s) + "\n"
def body(e):
    # A flipped digest would make the body fail cosign's own entry parsing (it checks the
    # signature inside the body); transplant another valid entry's body instead.
    e["canonicalizedBody"] = other["canonicalizedBody"]
write("k_bad_set.json", set_)
write("k_bad_proof.json", proof)
write("k_bad_checkpoint.json", cp)
if other is not None:
    write("k_bad_body.json", body)
EOF
fi
for t in set proof checkpoint body; do
    ok=0; [ -s "k_bad_$t.json" ] && ok="$VERIFIED"
    reject "cosign_reject_tampered_$t" "$ok" \
        "$COSIGN" verify-blob --key cosign.pub --trusted-root "$TR" --bundle "k_bad_$t.json" art.txt
done

# ------------------------------------------------------------------ dsse via attest-blob
cat > pred.json <<'EOF'
{"buildDefinition":{"buildType":"https://example.com/bt","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/b"}}}
EOF
ATT=0
run cosign_attest_blob "$COSIGN" attest-blob --yes --key cosign.key --predicate pred.json \
    --type slsaprovenance1 --signing-config "$SC" --trusted-root "$TR" --bundle a.json art.txt && ATT=1
if [ "$ATT" = 1 ] && out="$("$PY" -c '
import json, sys
e = json.load(open("a.json"))["verificationMaterial"]["tlogEntries"][0]
assert e["kindVersion"] == {"kind": "dsse", "version": "0.0.1"}, e["kindVersion"]
' 2>&1)"; then pass cosign_attest_blob_dsse_entry; else fail cosign_attest_blob_dsse_entry "${out:-attest-blob failed}"; fi
AV=0
run cosign_verify_blob_attestation "$COSIGN" verify-blob-attestation --key cosign.pub \
    --trusted-root "$TR" --bundle a.json --type slsaprovenance1 art.txt && AV=1
reject cosign_reject_attestation_wrong_artifact "$AV" \
    "$COSIGN" verify-blob-attestation --key cosign.pub --trusted-root "$TR" --bundle a.json \
    --type slsaprovenance1 other.txt
reject cosign_reject_attestation_wrong_tlog_key "$([ -s tr_wrong.json ] && echo "$AV" || echo 0)" \
    "$COSIGN" verify-blob-attestation --key cosign.pub --trusted-root tr_wrong.json --bundle a.json \
    --type slsaprovenance1 art.txt

echo "# rekor_cosign: $PASSED checks ok, $FAILED not ok (logs in $WORK/logs)" >&2
[ "$FAILED" -eq 0 ]
