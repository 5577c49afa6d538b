#!/usr/bin/env bash
# tsa.sh [sqlite|postgres]: the timestamp authority end to end, against the
# real binary, with OpenSSL as an independent RFC 3161 client and verifier.
#
# 1. `sigstead up` runs the TSA and lists it: the printed URL, trusted_root.json
#    timestampAuthorities (leaf first, validFor), signing config tsaUrls +
#    tsaConfig, trust_config.json carrying both.
# 2. `openssl ts -query` (SHA-256/384/512, with and without certReq, with a
#    nonce) answered 201 application/timestamp-reply; `openssl ts -verify`
#    accepts each against the chain published in trusted_root.json, and refuses
#    it for another file and against another TSA's root.
# 3. Bad input over HTTP, each with its status and reason: garbage DER (400),
#    wrong content type (415), oversized body (413), SHA-1 imprint (a DER
#    rejection, badAlg, as `openssl ts -reply` reads it), a policy the TSA does
#    not serve (unacceptedPolicy).
# 4. An HSM-held TSA: a SoftHSM2 token, `sigstead tsa init --pkcs11-module …
#    --generate-on-token --curve p384` (non-extractable key), `sigstead serve
#    tsa`; OpenSSL verifies its tokens; sigstore-python signs with a signing
#    config naming it and cosign and sigstore-python verify the bundle against
#    a trusted root listing its chain.
# Prints PASS/FAIL lines and a closing `N passed, N failed`.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
e2e_init tsa "${1:-sqlite}"

setup_cosign -q && setup_python -q || finish
isolate_home
stack_up || finish
ID="alice@example.com"
cd "$WORK" || finish
echo "hello from the timestamp test" >artifact
echo "another file" >other

# ------------------------------------------------------------------ 1. listed
grep -qF "Timestamp authority: $TSA" "$RUN/up.out" && pass up_lists_the_tsa || fail up_lists_the_tsa "$(grep -i timestamp "$RUN/up.out")"
listed="$("$PY" - "$TR" "$SC" "$TC" "$TSA" <<'PY' 2>&1
import base64, json, sys
tr, sc, tc = (json.load(open(p)) for p in sys.argv[1:4])
url = sys.argv[4]
bad = []
tsas = tr["timestampAuthorities"]
if len(tsas) != 1: bad.append(f"{len(tsas)} timestampAuthorities")
chain = tsas[0]["certChain"]["certificates"]
if len(chain) < 2: bad.append("chain shorter than leaf + root")
if "start" not in tsas[0]["validFor"]: bad.append("no validFor.start")
if tsas[0]["uri"] != url: bad.append(f"uri {tsas[0]['uri']}")
if [u["url"] for u in sc["tsaUrls"]] != [url] or sc["tsaUrls"][0]["majorApiVersion"] != 1: bad.append(f"tsaUrls {sc['tsaUrls']}")
if sc.get("tsaConfig") != {"selector": "ANY"}: bad.append(f"tsaConfig {sc.get('tsaConfig')}")
if tc["trustedRoot"] != tr or tc["signingConfig"] != sc: bad.append("trust_config differs")
open("tsa-root.pem", "w").write("-----BEGIN CERTIFICATE-----\n" + chain[-1]["rawBytes"] + "\n-----END CERTIFICATE-----\n")
open("tsa-chain.pem", "w").write("".join("-----BEGIN CERTIFICATE-----\n" + c["rawBytes"] + "\n-----END CERTIFICATE-----\n" for c in chain))
print("; ".join(bad))
PY
)"
[ -z "$listed" ] && pass trust_documents_list_the_tsa || fail trust_documents_list_the_tsa "$listed"
# The PEM files above hold unwrapped base64; OpenSSL reads them after a re-wrap.
for f in tsa-root.pem tsa-chain.pem; do openssl crl2pkcs7 -nocrl -certfile "$f" 2>/dev/null | openssl pkcs7 -print_certs >"$f.tmp" 2>/dev/null && mv "$f.tmp" "$f"; done
curl -fsS "$TSA/certchain" -o served-chain.pem && [ "$(grep -c BEGIN served-chain.pem)" = "$(grep -c BEGIN tsa-chain.pem)" ] \
    && pass certchain_is_served || fail certchain_is_served "$(head -c 200 served-chain.pem)"

# ------------------------------------------------------------------ 2. OpenSSL as client and verifier
# post NAME QUERY-FILE: POSTs a DER query; the reply in NAME.tsr, "STATUS CONTENT-TYPE" on stdout.
post() { curl -sS -o "$1.tsr" -w '%{http_code} %{content_type}' -H 'Content-Type: application/timestamp-query' --data-binary "@$2" "${3:-$TSA}"; }
for alg in sha256 sha384 sha512; do
    for cert in -cert ""; do
        n="q-$alg${cert:+-cert}"
        openssl ts -query -data artifact -"$alg" $cert -out "$n.tsq" 2>"$RUN/log/$n.log"
        got="$(post "$n" "$n.tsq")"
        if [ "$got" != "201 application/timestamp-reply" ]; then fail "openssl_query_$n" "HTTP $got"; continue; fi
        pass "openssl_query_$n"
        ok "openssl_verifies_$n" openssl ts -verify -queryfile "$n.tsq" -in "$n.tsr" -CAfile tsa-root.pem -untrusted tsa-chain.pem
        ok "openssl_verifies_data_$n" openssl ts -verify -data artifact -in "$n.tsr" -CAfile tsa-root.pem -untrusted tsa-chain.pem
        if openssl ts -verify -data other -in "$n.tsr" -CAfile tsa-root.pem -untrusted tsa-chain.pem >"$RUN/log/$n.other.log" 2>&1; then
            fail "openssl_refuses_other_data_$n" "accepted a timestamp for another file"
        else pass "openssl_refuses_other_data_$n"; fi
    done
done
# The nonce is echoed and the token names its policy and accuracy.
openssl ts -reply -in q-sha256-cert.tsr -text >reply.txt 2>&1
nonce_q="$(openssl ts -query -in q-sha256-cert.tsq -text 2>/dev/null | sed -n 's/^Nonce: //p')"
nonce_r="$(sed -n 's/^Nonce: //p' reply.txt)"
[ -n "$nonce_q" ] && [ "$nonce_q" = "$nonce_r" ] && pass nonce_echoed || fail nonce_echoed "query $nonce_q, reply $nonce_r"
grep -q "Policy OID: 1.3.6.1.4.1.57264.2" reply.txt && grep -q "Accuracy: 0x01 seconds" reply.txt \
    && pass policy_and_accuracy_stated || fail policy_and_accuracy_stated "$(grep -E 'Policy|Accuracy' reply.txt)"
# another-tsa-root: a token does not verify against another TSA's root.
"$SIGSTEAD_BIN" tsa init --data-dir "$RUN/other-tsa" --listen 127.0.0.1:1 >"$RUN/log/other-tsa.log" 2>&1
awk '/BEGIN/{n++} n==2' "$RUN/other-tsa/tsa-chain.pem" >other-root.pem
if openssl ts -verify -data artifact -in q-sha256-cert.tsr -CAfile other-root.pem >"$RUN/log/other-root.log" 2>&1; then
    fail openssl_refuses_another_tsa_root "accepted"
else pass openssl_refuses_another_tsa_root; fi

# ------------------------------------------------------------------ 3. bad input
# bad NAME EXPECTED-STATUS REASON CURL-ARGS...: the status and a JSON message containing REASON.
bad() {
    local name="$1" want="$2" reason="$3" got; shift 3
    got="$(curl -sS -o "$name.body" -w '%{http_code}' "$@" "$TSA")"
    if [ "$got" = "$want" ] && grep -qF "$reason" "$name.body"; then pass "$name"
    else fail "$name" "HTTP $got: $(head -c 200 "$name.body")"; fi
}
printf '\x30\x82\xff\xff' >garbage.der
bad tsa_refuses_garbage_der 400 "not an RFC 3161 TimeStampReq" -H 'Content-Type: application/timestamp-query' --data-binary @garbage.der
bad tsa_refuses_wrong_content_type 415 "Content-Type must be application/timestamp-query" -H 'Content-Type: text/plain' --data-binary @q-sha256-cert.tsq
head -c 20000 /dev/zero >big.der
bad tsa_refuses_oversized_request 413 "exceeds the limit" -H 'Content-Type: application/timestamp-query' --data-binary @big.der
# declined NAME QUERY FAILURE-TEXT: a DER rejection (400), as OpenSSL reads it.
declined() {
    local got; got="$(post "$1" "$2")"
    openssl ts -reply -in "$1.tsr" -text >"$1.txt" 2>&1
    if [ "$got" = "400 application/timestamp-reply" ] && grep -q "Status: Rejected" "$1.txt" && grep -qF "$3" "$1.txt"; then pass "$1"
    else fail "$1" "HTTP $got: $(grep -E 'Status|Failure' "$1.txt" | tr '\n' ' ')"; fi
}
openssl ts -query -data artifact -sha1 -cert -out sha1.tsq 2>/dev/null
declined tsa_rejects_sha1_imprint_badAlg sha1.tsq "unrecognized or unsupported algorithm identifier"
openssl ts -query -data artifact -sha256 -tspolicy 1.2.3.4 -out policy.tsq 2>/dev/null
declined tsa_rejects_unserved_policy_unacceptedPolicy policy.tsq "the requested TSA policy is not supported"
curl -fsS "$TSA_BASE/metrics" -o metrics.txt
grep -q 'tsa_rejections_total{reason="badAlg"}' metrics.txt && grep -q 'tsa_timestamps_issued_total{hash="sha384"}' metrics.txt \
    && pass tsa_metrics_count_tokens_and_rejections || fail tsa_metrics_count_tokens_and_rejections "$(grep '^tsa_' metrics.txt | head -5)"

# ------------------------------------------------------------------ 4. the TSA key in an HSM
if bash "$ROOT/tests/tools/ensure-softhsm.sh" >"$RUN/log/softhsm.log" 2>&1; then
    MODULE="$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so 2>/dev/null | head -1)"
    export SOFTHSM2_CONF="$RUN/softhsm2.conf"
    mkdir -p "$RUN/tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$RUN/tokens" >"$SOFTHSM2_CONF"
    export TSA_PIN=4321
    ok softhsm_token softhsm2-util --init-token --free --label sigstead-tsa --pin "$TSA_PIN" --so-pin 87654321
    HSM_LISTEN="127.0.0.1:$((BASE + 8))"; HSM_TSA="http://$HSM_LISTEN/api/v1/timestamp"
    ok hsm_tsa_init "$SIGSTEAD_BIN" tsa init --data-dir "$RUN/hsm-tsa" --listen "$HSM_LISTEN" --curve p384 --intermediate \
        --pkcs11-module "$MODULE" --token-label sigstead-tsa --key-label tsa --pin-env TSA_PIN --generate-on-token
    grep -q '^\[signing_key.pkcs11\]' "$RUN/hsm-tsa/tsa.toml" && [ ! -e "$RUN/hsm-tsa/tsa-key.pem" ] \
        && pass hsm_tsa_config_names_the_token || fail hsm_tsa_config_names_the_token "$(cat "$RUN/hsm-tsa/tsa.toml")"
    if "$SIGSTEAD_BIN" tsa init --data-dir "$RUN/hsm-tsa-2" --pkcs11-module "$MODULE" --token-label sigstead-tsa \
        --key-label tsa --pin-env TSA_PIN --generate-on-token >"$RUN/log/hsm-again.log" 2>&1; then
        fail hsm_refuses_a_second_key_with_the_label "accepted"
    else grep -q "already holds a key labelled" "$RUN/log/hsm-again.log" && pass hsm_refuses_a_second_key_with_the_label \
        || fail hsm_refuses_a_second_key_with_the_label "$(tail -1 "$RUN/log/hsm-again.log")"; fi
    "$SIGSTEAD_BIN" serve tsa --config "$RUN/hsm-tsa/tsa.toml" >"$RUN/log/hsm-tsa.log" 2>&1 &
    HSM_PID=$!
    for _ in $(seq 100); do curl -fsS -o /dev/null "http://$HSM_LISTEN/readyz" 2>/dev/null && break; sleep 0.1; done
    ok hsm_tsa_ready curl -fsS "http://$HSM_LISTEN/readyz"
    awk '/BEGIN/{n++} n==3' "$RUN/hsm-tsa/tsa-chain.pem" >hsm-root.pem
    got="$(post hsm q-sha256-cert.tsq "$HSM_TSA")"
    [ "$got" = "201 application/timestamp-reply" ] && pass hsm_tsa_answers || fail hsm_tsa_answers "HTTP $got $(tail -2 "$RUN/log/hsm-tsa.log")"
    ok openssl_verifies_hsm_timestamp openssl ts -verify -queryfile q-sha256-cert.tsq -in hsm.tsr -CAfile hsm-root.pem -untrusted "$RUN/hsm-tsa/tsa-chain.pem"
    openssl ts -reply -in hsm.tsr -token_out -out hsm.token 2>/dev/null
    # Into a file first: `grep -q` closing the pipe early would make openssl
    # die of SIGPIPE, which pipefail reports as a failure.
    openssl pkcs7 -inform DER -in hsm.token -print >hsm.token.txt 2>&1
    grep -qi "ecdsa-with-SHA384" hsm.token.txt && pass hsm_token_signed_with_p384_sha384 \
        || fail hsm_token_signed_with_p384_sha384 "$(grep -i -m2 'algorithm' hsm.token.txt)"
    # Real clients through the HSM TSA: a signing config and trusted root naming it.
    "$PY" - "$TR" "$SC" "$HSM_TSA" "$RUN/hsm-tsa/tsa-chain.pem" <<'PY' >"$RUN/log/hsm-trust.log" 2>&1
import base64, json, re, sys
tr, sc = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
url, pem = sys.argv[3], open(sys.argv[4]).read()
ders = [base64.b64encode(base64.b64decode("".join(b.split()))).decode()
        for b in re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)]
tr["timestampAuthorities"][0]["certChain"]["certificates"] = [{"rawBytes": d} for d in ders]
tr["timestampAuthorities"][0]["uri"] = url
sc["tsaUrls"][0]["url"] = url
json.dump(tr, open("hsm.trusted_root.json", "w"), indent=2)
json.dump(sc, open("hsm.signing_config.json", "w"), indent=2)
json.dump({"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json", "trustedRoot": tr, "signingConfig": sc},
          open("hsm.trust_config.json", "w"), indent=2)
PY
    mint_token
    ok python_signs_with_hsm_tsa "$PYSIG" --trust-config hsm.trust_config.json sign --identity-token "$(cat token.jwt)" --bundle hsm.bundle.json artifact
    if [ -s hsm.bundle.json ]; then
        n="$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]))' hsm.bundle.json 2>&1)"
        [ "$n" = 1 ] && pass hsm_bundle_carries_the_timestamp || fail hsm_bundle_carries_the_timestamp "$n"
        ok cosign_verifies_hsm_timestamped_bundle "$COSIGN" verify-blob --trusted-root hsm.trusted_root.json --bundle hsm.bundle.json \
            --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" artifact
        ok python_verifies_hsm_timestamped_bundle "$PYSIG" --trust-config hsm.trust_config.json verify identity --bundle hsm.bundle.json \
            --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" artifact
    fi
    kill "$HSM_PID" 2>/dev/null
else
    fail softhsm_available "$(tail -2 "$RUN/log/softhsm.log")"
fi
finish
