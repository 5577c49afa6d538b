#!/usr/bin/env bash
# fuzz.sh [--seconds S | --runs N] [TARGET...]: coverage-guided fuzzing of the
# parsers reachable from the network (tests/fuzz, libFuzzer via cargo-fuzz).
#
# cargo-fuzz 0.13.2 is installed (crates.io, --locked) when missing. Its
# instrumented build needs nightly-only compiler flags; this machine has only
# the stable toolchain, so they are enabled for this build alone with
# RUSTC_BOOTSTRAP=1 (the shipped binary is never built that way). Corpora are
# seeded from ../shared/vectors (Rekor entries and the canonical bodies in
# real bundles, checkpoints and signed notes, the public-good TUF metadata,
# RFC 3161 queries made by openssl, certificates issued by upstream Fulcio,
# trust roots, ID tokens built from real claims). Every input under
# tests/fuzz/regressions/<target>/ is run first. Then each target runs for S
# seconds (default 20) or N executions. One PASS/FAIL line per target with
# its execution count; a crash's input is kept in tests/.work/fuzz/crashes/.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VEC="${SIGSTEAD_VECTORS:-$ROOT/../shared/vectors}"
FUZZ="$ROOT/tests/fuzz"
WORK="$ROOT/tests/.work/fuzz"
CARGO_FUZZ_VERSION=0.13.2
limit=(-max_total_time=20)
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) limit=(-max_total_time="$2"); shift 2 ;;
        --runs) limit=(-runs="$2"); shift 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
ALL=(rekor_entry checkpoint_note tuf_metadata tsa_query ct_structures verifier_material id_token trust_documents fulcio_request csr jwks)
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
mkdir -p "$WORK/log" "$WORK/crashes"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install --locked --quiet "cargo-fuzz@$CARGO_FUZZ_VERSION" >"$WORK/log/install.log" 2>&1 \
        || { echo "FAIL fuzz_setup: cargo install cargo-fuzz: $(tail -2 "$WORK/log/install.log")"; exit 1; }
fi
if ! (cd "$FUZZ" && cargo fuzz build --fuzz-dir . -O) >"$WORK/log/build.log" 2>&1; then
    echo "FAIL fuzz_build: $(grep -m3 -E '^error' "$WORK/log/build.log" | tr '\n' ' ') $(tail -2 "$WORK/log/build.log" | tr '\n' ' ')"
    exit 1
fi
echo "PASS fuzz_build"

# ------------------------------------------------------------------ seed corpora
seed() { # seed TARGET: fills $WORK/corpus/TARGET (kept between runs: it only grows)
    local c="$WORK/corpus/$1"; mkdir -p "$c"
    case "$1" in
        rekor_entry)
            cp "$VEC"/api/rekor-v1/*.json "$c/" 2>/dev/null
            python3 - "$VEC/bundles" "$c" <<'PY'
import base64, glob, hashlib, json, os, sys
for p in glob.glob(os.path.join(sys.argv[1], "**", "*.json"), recursive=True):
    try:
        d = json.load(open(p))
        for e in d.get("verificationMaterial", {}).get("tlogEntries", []):
            b = base64.b64decode(e["canonicalizedBody"])
            open(os.path.join(sys.argv[2], hashlib.sha256(b).hexdigest()[:16]), "wb").write(b)
    except Exception:
        pass
PY
            ;;
        checkpoint_note) find "$VEC/checkpoints" -type f -exec cp {} "$c/" \; ;;
        tuf_metadata) find "$VEC/public-good" -name '*.json' -path '*tuf*' -exec cp {} "$c/" \; ;;
        tsa_query)
            echo data >"$WORK/tsa-data"
            for alg in sha256 sha384 sha512; do
                openssl ts -query -data "$WORK/tsa-data" -"$alg" -cert -out "$c/query-$alg-cert.tsq" 2>/dev/null
                openssl ts -query -data "$WORK/tsa-data" -"$alg" -no_nonce -out "$c/query-$alg.tsq" 2>/dev/null
            done ;;
        ct_structures|verifier_material)
            find "$VEC/upstream-issued" "$VEC/api/fulcio" -name '*.pem' -o -name '*.pub' | while read -r f; do
                cp "$f" "$c/$(basename "$(dirname "$f")")-$(basename "$f")"
                openssl x509 -in "$f" -outform DER -out "$c/$(basename "$(dirname "$f")")-$(basename "$f").der" 2>/dev/null || true
            done ;;
        id_token)
            python3 - "$VEC/oidc" "$c" <<'PY'
import base64, glob, json, os, sys
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
for i, p in enumerate(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    claims = json.load(open(p))
    tok = ".".join([b(json.dumps({"alg": "RS256", "kid": "k"}).encode()), b(json.dumps(claims).encode()), b(b"sig")])
    open(os.path.join(sys.argv[2], f"token-{i}"), "w").write(tok)
PY
            ;;
        fulcio_request)
            # The three client shapes, with a real key and CSR (openssl) in them.
            openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/fz-key.pem" 2>/dev/null
            openssl ec -in "$WORK/fz-key.pem" -pubout -out "$WORK/fz-pub.pem" 2>/dev/null
            printf 'ci@example.com' >"$WORK/fz-subject"
            openssl dgst -sha256 -sign "$WORK/fz-key.pem" -out "$WORK/fz-pop" "$WORK/fz-subject"
            openssl req -new -key "$WORK/fz-key.pem" -subj "/" -outform DER -out "$WORK/fz-csr.der" 2>/dev/null
            python3 - "$WORK" "$c" <<'PY'
import base64, json, os, sys
w, c = sys.argv[1], sys.argv[2]
pem = open(os.path.join(w, "fz-pub.pem")).read()
pop = base64.b64encode(open(os.path.join(w, "fz-pop"), "rb").read()).decode()
csr = base64.b64encode(open(os.path.join(w, "fz-csr.der"), "rb").read()).decode()
shapes = {
    "cosign": {"publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": pem}, "proofOfPossession": pop}},
    "js": {"credentials": {"oidcIdentityToken": "eyJ.eyJ.c2ln"}, "publicKeyRequest": {"publicKey": {"content": pem}, "proofOfPossession": pop}},
    "python": {"certificateSigningRequest": csr},
    "legacy": {"publicKey": {"content": base64.b64encode(pem.encode()).decode()}, "signedEmailAddress": pop},
}
for name, body in shapes.items():
    open(os.path.join(c, name + ".json"), "w").write(json.dumps(body))
PY
            ;;
        csr)
            for curve in prime256v1 secp384r1; do
                openssl ecparam -name "$curve" -genkey -noout -out "$WORK/fz-$curve.pem" 2>/dev/null
                openssl req -new -key "$WORK/fz-$curve.pem" -subj "/CN=fuzz" -outform DER -out "$c/$curve.der" 2>/dev/null
                openssl req -new -key "$WORK/fz-$curve.pem" -subj "/CN=fuzz" -addext "basicConstraints=CA:FALSE" -out "$c/$curve-bc.pem" 2>/dev/null
            done ;;
        jwks)
            # The JWKS shapes of the issuers the CA follows (RSA, EC P-256/P-384, and one Ed25519 OKP).
            python3 - "$c" <<'PY'
import json, os, sys
c = sys.argv[1]
keys = [
    {"kty": "RSA", "kid": "r", "alg": "RS256", "use": "sig", "n": "sXch" * 86, "e": "AQAB"},
    {"kty": "EC", "kid": "e", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
    {"kty": "EC", "kid": "e3", "crv": "P-384", "x": "AA", "y": "AA"},
    {"kty": "OKP", "kid": "o", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
]
open(os.path.join(c, "mixed.json"), "w").write(json.dumps({"keys": keys}))
open(os.path.join(c, "one.json"), "w").write(json.dumps({"keys": keys[1:2]}))
PY
            ;;
        trust_documents) find "$VEC" -name '*trusted_root*.json' -o -name 'signing_config*.json' | while read -r f; do cp "$f" "$c/$(echo "$f" | sha256sum | cut -c1-12).json"; done ;;
    esac
}

failed=0
for t in "${targets[@]}"; do
    seed "$t"
    # Regressions first: each input once.
    reg_fail=""
    for f in "$FUZZ/regressions/$t"/*; do
        [ -f "$f" ] || continue
        (cd "$FUZZ" && cargo fuzz run --fuzz-dir . -O "$t" "$f") >"$WORK/log/$t-regression.log" 2>&1 || reg_fail="$reg_fail $(basename "$f")"
    done
    if [ -n "$reg_fail" ]; then echo "FAIL fuzz_${t}_regressions: crashed on$reg_fail"; failed=$((failed + 1)); continue; fi
    log="$WORK/log/$t.log"
    (cd "$FUZZ" && cargo fuzz run --fuzz-dir . -O "$t" "$WORK/corpus/$t" -- "${limit[@]}" -print_final_stats=1 \
        -artifact_prefix="$WORK/crashes/$t-") >"$log" 2>&1
    rc=$?
    execs="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
    cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')"
    if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
        echo "PASS fuzz_${t}(${execs}_execs_cov_${cov:-?})"
    else
        echo "FAIL fuzz_${t}: exit $rc after ${execs:-?} executions: $(grep -m2 -E 'panicked|ERROR|SUMMARY' "$log" | tr '\n' ' ') (input in $WORK/crashes/)"
        failed=$((failed + 1))
    fi
done
[ "$failed" -eq 0 ]
