#!/usr/bin/env bash
# oci.sh [sqlite|postgres]: the container flow against a fresh `sigstead up`,
# with the real cosign 3.1.1 and @sigstore/cli 0.8.1 and a real OCI registry.
#
# Registry: Debian's docker-registry (distribution 2.8.2) on 127.0.0.1 over
# plain HTTP, filesystem storage in the run directory, htpasswd (bcrypt) auth
# (@sigstore/cli needs an auth challenge); images are pushed with skopeo 1.9.3.
# Both are installed with apt when missing (needs root, as in CI). There is no
# Docker engine: the images are OCI layouts written by hand (one tar.gz layer
# with one file, a config, a manifest, index.json) and pushed with
# `skopeo copy oci:DIR:latest docker://…`. cosign reads the registry
# credentials from $HOME/.docker/config.json, as after `docker login`.
#
# 1. Keyless `cosign sign` of an image BY DIGEST (tokens from `sigstead dev
#    token`, the stack's signing config and trusted root); cosign 3 stores it as
#    a sigstore bundle referrer (the registry has no referrers API, so under the
#    referrers tag `sha256-<hex>`); `cosign verify` with an identity regexp and
#    the issuer, by digest and by tag.
# 2. `cosign attest --type slsaprovenance` and `cosign verify-attestation`.
# 3. The bundles pulled back from the registry verify offline against the
#    manifest bytes: cosign verify-blob-attestation, the sigstore-js driver and
#    `sigstead kit verify` (which refuses them for the other image's manifest);
#    sigstore-python's verdict on them is reported as NOTE, not counted.
# 4. Refusals, each checked for its reason: an unsigned image (signature and
#    attestation), an identity outside the regexp, a wrong issuer, a wrong
#    predicate type, a trusted root naming another CA, an attestation whose
#    subject is another image, and a tag moved to an unsigned image.
# 5. Tag-based (pre-bundle) cosign signatures: `--new-bundle-format=false`
#    stores `sha256-<hex>.sig` (Rekor hashedrekord); `cosign verify` accepts it.
# 6. @sigstore/cli 0.8.1 `attest` (Rekor intoto 0.0.2) of a statement about the
#    image, `sigstore attach` of the bundle as an OCI 1.1 referrer (checked in
#    the registry byte for byte), and cosign verify-attestation finding it.
# Prints PASS/FAIL (and NOTE) lines and a closing `N passed, N failed`; exits
# non-zero if any check failed. Setup, the stack, the counters and finish come
# from lib.sh: the stack and the registry are stopped on exit; the run directory
# (tests/.work/oci-*, logs in its log/) is removed when everything passed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
e2e_init oci "${1:-sqlite}"
REG_PID=""; E2E_PIDS+=(REG_PID)

# ------------------------------------------------------------------ setup
require_sigstead || finish
# docker-registry + skopeo from Debian (bookworm: distribution 2.8.2, skopeo 1.9.3).
registry_packages() {
    command -v docker-registry >/dev/null && command -v skopeo >/dev/null && return 0
    [ "$(id -u)" -eq 0 ] || { echo "docker-registry/skopeo missing and not root: apt-get install -y docker-registry skopeo"; return 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq docker-registry skopeo
}
if registry_packages >"$RUN/log/apt.log" 2>&1; then
    pass setup_registry_packages; echo "     $(docker-registry --version 2>&1 | tail -1); $(skopeo --version 2>&1)"
else
    fail setup_registry_packages "$(tail -3 "$RUN/log/apt.log")"; finish
fi
setup_cosign && setup_npm && setup_python || finish
isolate_home

REG="127.0.0.1:$(python3 "$ROOT/tests/tools/free-port-base.py" 1)"   # a port of its own (the stack picks its range later)
REG_USER=sigstead
REG_PASS="$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
ID="alice@example.com"
ID_RE='^alice@example\.com$'
export XDG_RUNTIME_DIR="$RUN/xdg-run"
mkdir -p "$HOME/.docker" "$XDG_RUNTIME_DIR"
unset DOCKER_CONFIG REGISTRY_AUTH_FILE COSIGN_REPOSITORY COSIGN_EXPERIMENTAL COSIGN_DOCKER_MEDIA_TYPES

# oci.py: OCI layout writer, bcrypt htpasswd line, registry reads (basic auth).
cat > "$RUN/oci.py" <<'PY'
import base64, ctypes, ctypes.util, gzip, hashlib, io, json, os, sys, tarfile, urllib.request

def layout(out, tag, text):
    """An OCI image layout with one tar.gz layer holding hello.txt; prints the manifest digest."""
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    def put(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, d), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + d, "size": len(data)}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        body = text.encode() + b"\n"
        ti = tarfile.TarInfo("hello.txt"); ti.size = len(body); ti.mtime = 0; ti.mode = 0o644
        t.addfile(ti, io.BytesIO(body))
    tar = raw.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
        g.write(tar)
    layer = put(gz.getvalue())
    compact = lambda o: json.dumps(o, separators=(",", ":")).encode()
    config = put(compact({"architecture": "amd64", "os": "linux", "config": {},
                          "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}}))
    manifest = put(compact({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}]}))
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
                   "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    print(manifest["digest"])

def htpasswd(user, password):
    """user:bcrypt line through libcrypt (the `crypt` module is gone in Python 3.13).
    Cost 5: the registry checks the hash on every request."""
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lib.crypt_gensalt(b"$2b$", 5, None, 0)
    h = lib.crypt(password.encode(), salt) if salt else None
    if not h or not h.startswith(b"$2"):
        sys.exit("libcrypt cannot make bcrypt hashes")
    print(f"{user}:{h.decode()}")

ACCEPT = ",".join(["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                   "application/vnd.docker.distribution.manifest.v2+json"])

def get(url, accept=None):
    req = urllib.request.Request(url)
    req.add_header("Authorization", "Basic " + base64.b64encode(os.environ["REG_CREDS"].encode()).decode())
    if accept:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=20) as r:
        return r.read()

def referrers(reg, repo, digest, outdir):
    """Reads the referrers-tag index sha256-<hex> of DIGEST; for each referrer saves the
    sigstore bundle to OUTDIR/<hex>.json and prints one JSON line describing it."""
    base = f"http://{reg}/v2/{repo}"
    os.makedirs(outdir, exist_ok=True)
    index = json.loads(get(f"{base}/manifests/{digest.replace(':', '-')}", ACCEPT))
    for desc in index["manifests"]:
        body = get(f"{base}/manifests/{desc['digest']}", ACCEPT)
        assert "sha256:" + hashlib.sha256(body).hexdigest() == desc["digest"], "manifest digest mismatch"
        m = json.loads(body)
        layer = m["layers"][0]
        blob = get(f"{base}/blobs/{layer['digest']}")
        assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"], "blob digest mismatch"
        path = os.path.join(outdir, desc["digest"].split(":")[1] + ".json")
        with open(path, "wb") as f:
            f.write(blob)
        info = {"digest": desc["digest"], "artifactType": m.get("artifactType"), "layerMediaType": layer["mediaType"],
                "subject": (m.get("subject") or {}).get("digest"), "bundle": path}
        try:
            b = json.loads(blob)
            kv = b["verificationMaterial"]["tlogEntries"][0]["kindVersion"]
            info["kind"] = f"{kv['kind']}/{kv['version']}"
            if "dsseEnvelope" in b:
                info["predicateType"] = json.loads(base64.b64decode(b["dsseEnvelope"]["payload"])).get("predicateType")
        except (ValueError, KeyError, IndexError, TypeError):
            pass
        print(json.dumps(info, sort_keys=True))

def manifest(reg, repo, ref, out):
    with open(out, "wb") as f:
        f.write(get(f"http://{reg}/v2/{repo}/manifests/{ref}", ACCEPT))

def sigkind(reg, repo, tag):
    """Rekor entry kind of a tag-based (.sig) cosign signature, from its bundle annotation."""
    m = json.loads(get(f"http://{reg}/v2/{repo}/manifests/{tag}", ACCEPT))
    b = json.loads(m["layers"][0]["annotations"]["dev.sigstore.cosign/bundle"])
    body = json.loads(base64.b64decode(b["Payload"]["body"]))
    print(f"{body['kind']}/{body['apiVersion']}")

def tags(reg, repo):
    print("\n".join(json.loads(get(f"http://{reg}/v2/{repo}/tags/list")).get("tags") or []))

cmd, args = sys.argv[1], sys.argv[2:]
{"layout": layout, "htpasswd": htpasswd, "referrers": referrers, "manifest": manifest, "sigkind": sigkind, "tags": tags}[cmd](*args)
PY
oci() { REG_CREDS="$REG_USER:$REG_PASS" python3 "$RUN/oci.py" "$@"; }

# The registry: loopback, plain HTTP, filesystem storage, htpasswd auth.
oci htpasswd "$REG_USER" "$REG_PASS" >"$RUN/htpasswd" 2>"$RUN/log/htpasswd.err" || { fail setup_htpasswd "$(cat "$RUN/log/htpasswd.err")"; finish; }
cat > "$RUN/registry.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $RUN/registry-data
  delete:
    enabled: true
http:
  addr: $REG
auth:
  htpasswd:
    realm: sigstead-oci-test
    path: $RUN/htpasswd
EOF
docker-registry serve "$RUN/registry.yml" >"$RUN/log/registry.log" 2>&1 &
REG_PID=$!
code=""
for _ in $(seq 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/" 2>/dev/null)"
    [ "$code" = 401 ] && break
    kill -0 "$REG_PID" 2>/dev/null || break
    sleep 0.1
done
if [ "$code" = 401 ] && [ "$(curl -s -o /dev/null -w '%{http_code}' -u "$REG_USER:$REG_PASS" "http://$REG/v2/")" = 200 ]; then
    pass registry_starts_with_auth
else
    fail registry_starts_with_auth "GET /v2/ answered '$code'; $(tail -3 "$RUN/log/registry.log")"; finish
fi
# Credentials for cosign (and anything else reading the docker config), as `docker login` writes them.
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$(printf '%s' "$REG_USER:$REG_PASS" | base64 -w0)" > "$HOME/.docker/config.json"

stack_up || finish
sed 's/\x1b\[[0-9;]*m//g' "$RUN/up.err" | grep -q "rekor serving.*backend=\"$BACKEND\"" && pass "up_runs_on_$BACKEND" \
    || fail "up_runs_on_$BACKEND" "$(sed 's/\x1b\[[0-9;]*m//g' "$RUN/up.err" | grep -m1 'rekor serving')"

# ------------------------------------------------------------------ helpers
HTTP=(--allow-http-registry)
SIGN=(--yes --signing-config "$SC" --trusted-root "$TR" --identity-token token.jwt "${HTTP[@]}")
POLICY=(--trusted-root "$TR" "${HTTP[@]}" --certificate-identity-regexp "$ID_RE" --certificate-oidc-issuer "$ISSUER")
c_verify() { "$COSIGN" verify "${POLICY[@]}" "$@"; }
c_verify_att() { "$COSIGN" verify-attestation "${POLICY[@]}" "$@"; }
# referrer_of IMAGE-DIGEST FIELD=VALUE...: the first referrer line (JSON) of IMAGE-DIGEST
# in repo demo whose fields all match; empty when none.
referrer_of() {
    local digest="$1"; shift
    python3 - "$RUN/referrers-${digest#sha256:}.jsonl" "$@" <<'PY'
import json, sys
want = dict(a.split("=", 1) for a in sys.argv[2:])
for line in open(sys.argv[1]):
    r = json.loads(line)
    if all(str(r.get(k)) == v for k, v in want.items()):
        print(line.strip()); break
PY
}
load_referrers() { oci referrers "$REG" demo "$1" "$RUN/pulled" >"$RUN/referrers-${1#sha256:}.jsonl" 2>"$RUN/log/referrers.err"; }

dev_token || finish

# ------------------------------------------------------------------ images
# Three images (no Docker engine: OCI layouts written by oci.py, pushed with skopeo).
push() { # push LAYOUT-DIR TEXT REPO:TAG -> prints the digest the registry reports
    local want got
    want="$(oci layout "$RUN/$1" latest "$2")" || return 1
    skopeo copy -q --dest-tls-verify=false --dest-creds "$REG_USER:$REG_PASS" "oci:$RUN/$1:latest" "docker://$REG/$3" >&2 || return 1
    got="$(skopeo inspect --tls-verify=false --creds "$REG_USER:$REG_PASS" --format '{{.Digest}}' "docker://$REG/$3")" || return 1
    [ "$want" = "$got" ] || { echo "registry digest $got != layout digest $want" >&2; return 1; }
    echo "$got"
}
DIG1="$(push img1 "signed image" demo:1 2>"$RUN/log/push1.log")" && pass push_image_by_skopeo || { fail push_image_by_skopeo "$(tail -3 "$RUN/log/push1.log")"; finish; }
DIG2="$(push img2 "unsigned image" demo:2 2>"$RUN/log/push2.log")" && pass push_unsigned_image || { fail push_unsigned_image "$(tail -3 "$RUN/log/push2.log")"; finish; }
DIG3="$(push img3 "legacy-signed image" legacy:1 2>"$RUN/log/push3.log")" && pass push_legacy_image || { fail push_legacy_image "$(tail -3 "$RUN/log/push3.log")"; finish; }
IMG="$REG/demo@$DIG1"; UNSIGNED="$REG/demo@$DIG2"; LEGACY="$REG/legacy@$DIG3"
echo "     $IMG"
oci manifest "$REG" demo "$DIG1" "$WORK/img1.manifest.json"   # the bytes whose sha256 is DIG1
oci manifest "$REG" demo "$DIG2" "$WORK/img2.manifest.json"

# ------------------------------------------------------------------ 1. cosign sign / verify
ok cosign_sign_by_digest "$COSIGN" sign "${SIGN[@]}" "$IMG"
if load_referrers "$DIG1"; then
    r="$(referrer_of "$DIG1" artifactType=application/vnd.dev.sigstore.bundle.v0.3+json predicateType=https://sigstore.dev/cosign/sign/v1 subject="$DIG1")"
    if [ -n "$r" ]; then pass cosign_signature_is_bundle_referrer; echo "     $r" | cut -c1-300; else fail cosign_signature_is_bundle_referrer "$(cat "$RUN/referrers-${DIG1#sha256:}.jsonl")"; fi
    SIG_BUNDLE="$(printf '%s' "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bundle"])' 2>/dev/null)"
    kind="$(printf '%s' "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("kind"))' 2>/dev/null)"
    [ "$kind" = dsse/0.0.1 ] && pass cosign_signature_logged_as_dsse || fail cosign_signature_logged_as_dsse "kind $kind"
else
    fail cosign_signature_is_bundle_referrer "no referrers tag: $(tail -2 "$RUN/log/referrers.err")"; SIG_BUNDLE=""
fi
oci tags "$REG" demo >"$RUN/tags-demo.txt" 2>&1
if grep -qx "${DIG1/:/-}" "$RUN/tags-demo.txt" && ! grep -q '\.sig$' "$RUN/tags-demo.txt"; then pass cosign_uses_referrers_tag_not_sig_tag
else fail cosign_uses_referrers_tag_not_sig_tag "tags: $(tr '\n' ' ' < "$RUN/tags-demo.txt")"; fi
ok cosign_verify_by_digest c_verify "$IMG"
# The image signature carries the stack TSA's RFC 3161 timestamp (cosign takes
# the TSA from the signing config), and cosign accepts it as the time source.
if [ -s "$SIG_BUNDLE" ]; then
    n="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["verificationMaterial"].get("timestampVerificationData", {}).get("rfc3161Timestamps", [])))' "$SIG_BUNDLE" 2>&1)"
    [ "$n" = 1 ] && pass cosign_image_signature_carries_a_timestamp || fail cosign_image_signature_carries_a_timestamp "$n timestamps"
fi
ok cosign_verify_with_signed_timestamps "$COSIGN" verify --use-signed-timestamps --trusted-root "$TR" "${HTTP[@]}" \
    --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" "$IMG"
ok cosign_verify_by_tag c_verify "$REG/demo:1"
ok cosign_verify_exact_identity "$COSIGN" verify --trusted-root "$TR" "${HTTP[@]}" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" "$IMG"
if grep -q "\"docker-manifest-digest\":\"$DIG1\"" "$RUN/log/cosign_verify_by_digest.log"; then pass cosign_verify_payload_names_digest
else fail cosign_verify_payload_names_digest "$(tail -1 "$RUN/log/cosign_verify_by_digest.log")"; fi

# ------------------------------------------------------------------ 2. cosign attest (SLSA provenance v0.2)
cat > "$WORK/slsa.json" <<'EOF'
{"builder":{"id":"https://example.com/builder@v1"},"buildType":"https://example.com/build-type/v1",
 "invocation":{"configSource":{"uri":"git+https://example.com/demo@refs/heads/main","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"},"entryPoint":"build.sh"}},
 "metadata":{"buildInvocationID":"sigstead-oci-e2e","completeness":{"parameters":true,"environment":false,"materials":false},"reproducible":false},
 "materials":[{"uri":"git+https://example.com/demo","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"}}]}
EOF
ok cosign_attest_slsaprovenance "$COSIGN" attest "${SIGN[@]}" --predicate slsa.json --type slsaprovenance "$IMG"
ok cosign_verify_attestation c_verify_att --type slsaprovenance "$IMG"
# The verified statement: SLSA v0.2, about this digest, carrying our builder id.
if python3 - "$RUN/log/cosign_verify_attestation.log" "${DIG1#sha256:}" <<'PY'
import base64, json, sys
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    st = json.loads(base64.b64decode(json.loads(line)["payload"]))
    if (st["predicateType"] == "https://slsa.dev/provenance/v0.2"
            and any(s["digest"].get("sha256") == sys.argv[2] for s in st["subject"])
            and st["predicate"]["builder"]["id"] == "https://example.com/builder@v1"):
        sys.exit(0)
sys.exit(1)
PY
then pass cosign_verify_attestation_statement; else fail cosign_verify_attestation_statement "no SLSA v0.2 statement about $DIG1 in the output"; fi
load_referrers "$DIG1"
r="$(referrer_of "$DIG1" artifactType=application/vnd.dev.sigstore.bundle.v0.3+json predicateType=https://slsa.dev/provenance/v0.2 subject="$DIG1")"
ATT_BUNDLE="$(printf '%s' "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bundle"])' 2>/dev/null)"
kind="$(printf '%s' "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("kind"))' 2>/dev/null)"
[ "$kind" = dsse/0.0.1 ] && pass cosign_attestation_referrer_logged_as_dsse || fail cosign_attestation_referrer_logged_as_dsse "referrer: ${r:-none}"

# ------------------------------------------------------------------ 3. bundles pulled from the registry, verified offline
# The subject of both statements is the manifest digest, so the artifact is the manifest's bytes.
if [ -s "$SIG_BUNDLE" ] && [ -s "$ATT_BUNDLE" ]; then
    ok cosign_blob_verifies_pulled_signature "$COSIGN" verify-blob-attestation --trusted-root "$TR" --bundle "$SIG_BUNDLE" --type https://sigstore.dev/cosign/sign/v1 --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" img1.manifest.json
    ok cosign_blob_verifies_pulled_attestation "$COSIGN" verify-blob-attestation --trusted-root "$TR" --bundle "$ATT_BUNDLE" --type slsaprovenance --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" img1.manifest.json
    ok js_verifies_pulled_signature node "$JS/verify.mjs" --trusted-root "$TR" --bundle "$SIG_BUNDLE" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" img1.manifest.json
    ok js_verifies_pulled_attestation node "$JS/verify.mjs" --trusted-root "$TR" --bundle "$ATT_BUNDLE" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" --predicate-type https://slsa.dev/provenance/v0.2 img1.manifest.json
    # `sigstead kit verify` with only the trusted root (the kit's verifier): the image
    # signature and the attestation, and neither for the other image's manifest.
    ok kit_verify_verifies_pulled_image_signature "$SIGSTEAD_BIN" kit verify "$(dirname "$TR")" --bundle "$SIG_BUNDLE" --artifact img1.manifest.json --identity "$ID" --issuer "$ISSUER"
    ok kit_verify_verifies_pulled_attestation "$SIGSTEAD_BIN" kit verify "$(dirname "$TR")" --bundle "$ATT_BUNDLE" --artifact img1.manifest.json --identity "$ID" --issuer "$ISSUER"
    refuses kit_verify_refuses_image_signature_for_other_image "artifact digest does not match" "$SIGSTEAD_BIN" kit verify "$(dirname "$TR")" --bundle "$SIG_BUNDLE" --artifact img2.manifest.json --identity "$ID" --issuer "$ISSUER"
    # sigstore-python 4.5.1 models in-toto strictly: cosign's image-signature statement has
    # no subject name, and cosign attest writes Statement v0.1. Reported, not counted.
    for b in "signature:$SIG_BUNDLE" "attestation:$ATT_BUNDLE"; do
        if (cd "$WORK" && "$PYSIG" --trust-config "$TC" verify identity --bundle "${b#*:}" --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" img1.manifest.json) >"$RUN/log/python_on_${b%%:*}.log" 2>&1; then
            note "python_on_cosign_image_${b%%:*}" "accepted"
        else
            note "python_on_cosign_image_${b%%:*}" "rejected: $(grep -v '^\s*$' "$RUN/log/python_on_${b%%:*}.log" | sed 's/^.*ERROR *//; s/ *[a-z_]*\.py:[0-9]* *$//' | tr -s ' ' | tr '\n' ' ' | cut -c1-160)"
        fi
    done
else
    fail pulled_bundles "signature bundle '${SIG_BUNDLE}' / attestation bundle '${ATT_BUNDLE}' not pulled"
fi

# ------------------------------------------------------------------ 4. refusals
refuses cosign_rejects_unsigned_image 'no signatures found' c_verify "$UNSIGNED"
refuses cosign_rejects_unsigned_image_attestation 'no matching attestations' c_verify_att --type slsaprovenance "$UNSIGNED"
refuses cosign_rejects_identity_outside_regexp 'expected SAN value to match regex' \
    "$COSIGN" verify --trusted-root "$TR" "${HTTP[@]}" --certificate-identity-regexp '^bob@example\.com$' --certificate-oidc-issuer "$ISSUER" "$IMG"
refuses cosign_attestation_rejects_identity_outside_regexp 'expected SAN value to match regex' \
    "$COSIGN" verify-attestation --trusted-root "$TR" "${HTTP[@]}" --type slsaprovenance --certificate-identity-regexp '@evil\.example$' --certificate-oidc-issuer "$ISSUER" "$IMG"
refuses cosign_rejects_wrong_issuer 'expected issuer value' \
    "$COSIGN" verify --trusted-root "$TR" "${HTTP[@]}" --certificate-identity-regexp "$ID_RE" --certificate-oidc-issuer https://accounts.example.com "$IMG"
refuses cosign_rejects_wrong_predicate_type 'none of the attestations matched the predicate type' c_verify_att --type spdxjson "$IMG"
other_ca_root "$RUN/other-ca.trusted_root.json"
if [ -s "$RUN/other-ca.trusted_root.json" ]; then
    refuses cosign_rejects_trust_root_with_other_ca 'leaf certificate verification failed' \
        "$COSIGN" verify --trusted-root "$RUN/other-ca.trusted_root.json" "${HTTP[@]}" --certificate-identity-regexp "$ID_RE" --certificate-oidc-issuer "$ISSUER" "$IMG"
else
    fail cosign_rejects_trust_root_with_other_ca "could not build the variant: $(tail -2 "$RUN/log/other-ca.log")"
fi

# ------------------------------------------------------------------ 5. tag-based (pre-bundle) signatures
# cosign 3 writes the old `sha256-<hex>.sig` tag only without the new bundle format, which
# in turn needs the deprecated --fulcio-url/--rekor-url instead of the signing config.
ok cosign_sign_tag_based "$COSIGN" sign --yes --new-bundle-format=false --use-signing-config=false --fulcio-url "$FULCIO" --rekor-url "$REKOR" \
    --trusted-root "$TR" --identity-token token.jwt "${HTTP[@]}" "$LEGACY"
oci tags "$REG" legacy >"$RUN/tags-legacy.txt" 2>&1
if grep -qx "${DIG3/:/-}.sig" "$RUN/tags-legacy.txt" && ! grep -qx "${DIG3/:/-}" "$RUN/tags-legacy.txt"; then pass cosign_tag_based_signature_in_sig_tag
else fail cosign_tag_based_signature_in_sig_tag "tags: $(tr '\n' ' ' < "$RUN/tags-legacy.txt")"; fi
kind="$(oci sigkind "$REG" legacy "${DIG3/:/-}.sig" 2>&1)"
[ "$kind" = hashedrekord/0.0.1 ] && pass cosign_tag_based_signature_logged_as_hashedrekord || fail cosign_tag_based_signature_logged_as_hashedrekord "kind $kind"
ok cosign_verify_tag_based_signature c_verify "$LEGACY"
refuses cosign_rejects_tag_based_wrong_identity 'expected SAN value to match regex|none of the expected identities matched' \
    "$COSIGN" verify --trusted-root "$TR" "${HTTP[@]}" --certificate-identity-regexp '^bob@example\.com$' --certificate-oidc-issuer "$ISSUER" "$LEGACY"

# ------------------------------------------------------------------ 6. @sigstore/cli 0.8.1 attest + attach (OCI referrer)
cli_statement() { # cli_statement FILE SUBJECT-DIGEST PREDICATE-TYPE
    printf '{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"%s/demo","digest":{"sha256":"%s"}}],"predicateType":"%s","predicate":{"by":"@sigstore/cli 0.8.1"}}' \
        "$REG" "${2#sha256:}" "$3" > "$WORK/$1"
}
CLI_TYPE=https://example.com/sigstead/oci-e2e/v1
cli_statement cli-stmt.json "$DIG1" "$CLI_TYPE"
ok cli_attest_image_statement env CI=true SIGSTORE_ID_TOKEN="$(cat "$WORK/token.jwt")" "$NPMSIG" attest cli-stmt.json --fulcio-url "$FULCIO" --rekor-url "$REKOR" --timeout 20 -o cli-att.json
if [ -s "$WORK/cli-att.json" ]; then
    ok cli_attach_referrer "$NPMSIG" attach --attestation cli-att.json -u "$REG_USER" -p "$REG_PASS" "$IMG"
    att_digest="$(grep -o 'Artifact attached to image: sha256:[0-9a-f]*' "$RUN/log/cli_attach_referrer.log" | awk '{print $NF}')"
    load_referrers "$DIG1"
    r="$(referrer_of "$DIG1" digest="$att_digest" artifactType=application/vnd.dev.sigstore.bundle.v0.3+json layerMediaType=application/vnd.dev.sigstore.bundle.v0.3+json subject="$DIG1" kind=intoto/0.0.2)"
    if [ -n "$att_digest" ] && [ -n "$r" ] && cmp -s "$WORK/cli-att.json" "$RUN/pulled/${att_digest#sha256:}.json"; then
        pass cli_attach_is_oci_referrer; echo "     $r" | cut -c1-300
    else
        fail cli_attach_is_oci_referrer "attached '$att_digest'; referrers: $(cat "$RUN/referrers-${DIG1#sha256:}.jsonl")"
    fi
    ok cosign_verifies_cli_attached_attestation c_verify_att --type "$CLI_TYPE" "$IMG"
    refuses cosign_rejects_cli_attached_wrong_identity 'expected SAN value to match regex' \
        "$COSIGN" verify-attestation --trusted-root "$TR" "${HTTP[@]}" --type "$CLI_TYPE" --certificate-identity-regexp '^bob@example\.com$' --certificate-oidc-issuer "$ISSUER" "$IMG"
else
    fail cli_attach_referrer "skipped: cli-att.json was not produced"
fi
# A validly signed attestation about ANOTHER image, attached to this one: cosign must not
# accept it for this image (it drops it as not matching the image digest).
OTHER_TYPE=https://example.com/sigstead/other-subject/v1
cli_statement cli-stmt-other.json "$DIG2" "$OTHER_TYPE"
ok cli_attest_other_subject env CI=true SIGSTORE_ID_TOKEN="$(cat "$WORK/token.jwt")" "$NPMSIG" attest cli-stmt-other.json --fulcio-url "$FULCIO" --rekor-url "$REKOR" --timeout 20 -o cli-att-other.json
if [ -s "$WORK/cli-att-other.json" ]; then
    # It is a valid attestation, for the image it names.
    ok cli_other_subject_attestation_valid_for_its_image "$COSIGN" verify-blob-attestation --trusted-root "$TR" --bundle cli-att-other.json --type "$OTHER_TYPE" \
        --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" img2.manifest.json
    ok cli_attach_other_subject "$NPMSIG" attach --attestation cli-att-other.json -u "$REG_USER" -p "$REG_PASS" "$IMG"
    refuses cosign_rejects_attestation_about_other_image "none of the attestations matched the predicate type: $OTHER_TYPE, found: [^ ]*$CLI_TYPE" \
        c_verify_att --type "$OTHER_TYPE" "$IMG"
else
    fail cli_attach_other_subject "skipped: cli-att-other.json was not produced"
fi

# ------------------------------------------------------------------ the tag moves to an unsigned image
# A signature binds the digest, not the tag: once demo:1 names the unsigned image, verifying
# demo:1 must fail.
if skopeo copy -q --dest-tls-verify=false --dest-creds "$REG_USER:$REG_PASS" "oci:$RUN/img2:latest" "docker://$REG/demo:1" >"$RUN/log/retag.log" 2>&1; then
    refuses cosign_rejects_tag_moved_to_unsigned_image 'no signatures found' c_verify "$REG/demo:1"
else
    fail cosign_rejects_tag_moved_to_unsigned_image "retag failed: $(tail -2 "$RUN/log/retag.log")"
fi
ok cosign_still_verifies_original_digest c_verify "$IMG"

# cosign behaviour worth knowing (not a stack property): `cosign verify` accepts any
# sigstore bundle referrer, so an image carrying only an attestation "verifies" as signed.
if DIG4="$(push img4 "attested only" demo:4 2>"$RUN/log/push4.log")" \
    && (cd "$WORK" && "$COSIGN" attest "${SIGN[@]}" --predicate slsa.json --type slsaprovenance "$REG/demo@$DIG4") >"$RUN/log/attest4.log" 2>&1; then
    if (cd "$WORK" && c_verify "$REG/demo@$DIG4") >"$RUN/log/verify4.log" 2>&1; then
        note cosign_verify_on_attestation_only_image "ACCEPTED (cosign 3.1.1 counts the SLSA attestation bundle as a signature)"
    else
        note cosign_verify_on_attestation_only_image "refused: $(grep -m1 Error "$RUN/log/verify4.log" | cut -c1-160)"
    fi
fi

echo "     rekor treeSize $(rekor_tree_size)"
finish
