#!/usr/bin/env python3
"""matrix_tamper.py: the tampered inputs of tests/e2e/matrix.sh's negative matrix.

  matrix_tamper.py bundle IN.json OUTDIR NAME OTHER.json OTHER_TSA_URL
      writes OUTDIR/NAME.<case>.json, one file per case, each a copy of the
      bundle with exactly one thing changed in its (single) Rekor v1 tlog entry
      or in its (single) RFC 3161 timestamp:
        set               one bit of the SET (inclusionPromise.signedEntryTimestamp,
                          inside the ECDSA `s` value, so the DER still parses)
        no-set            the SET and the RFC 3161 timestamp removed (no verified time)
        checkpoint-sig    one bit of the checkpoint's ECDSA signature (after the key hint)
        checkpoint-root   one bit of the root hash line of the checkpoint text
        proof-hash        one bit of inclusionProof.hashes[0]
        proof-root        one bit of inclusionProof.rootHash
        body              canonicalizedBody with a changed digest (hashedrekord
                          spec.data.hash.value, dsse spec.payloadHash.value)
      and, with the SET removed so that the timestamp is the only time source:
        tsa-only          nothing else (the control: every verifier must accept it)
        tsa-bit           one bit of the timestamp's signature (the last byte of
                          the TimeStampResp is the SignerInfo's ECDSA `s`)
        tsa-other-sig     the timestamp of OTHER.json (same TSA, another signature)
        tsa-other-tsa     a timestamp over this very signature from another TSA
                          (OTHER_TSA_URL, not in the trusted root)

  matrix_tamper.py tsa-files BUNDLE.json OUTDIR NAME TRUSTED_ROOT
      writes OUTDIR/NAME.tsr (the bundle's TimeStampResp), prints the hex SHA-256
      of the signature it must cover; and OUTDIR/tsa-root.pem, OUTDIR/tsa-chain.pem
      (timestampAuthorities[0], for `openssl ts -verify`)

  matrix_tamper.py trust TRUST_CONFIG OTHER_CA_CHAIN_PEM OUTDIR
      writes OUTDIR/<variant>.trusted_root.json and OUTDIR/<variant>.trust_config.json:
        other-ca     certificateAuthorities[0] is another CA (the chain in the PEM file)
        other-ct     ctlogs[0]'s public key is a fresh P-256 key (same logId)
        other-rekor  tlogs[0]'s public key is a fresh P-256 key (same logId)
        no-tsa       timestampAuthorities emptied (the TSA chain missing)
      The log IDs are kept on purpose: a verifier that looks keys up by log ID must
      then fail on the signature itself, not on the lookup.

Every output is checked to differ from its input in the intended place only.
Needs `cryptography` (the sigstore-python venv has it).
"""
import base64
import copy
import json
import re
import sys


def b64d(s):
    return base64.b64decode(s)


def b64e(b):
    return base64.b64encode(b).decode()


def flip(data, i=-1, bit=0x01):
    b = bytearray(data)
    b[i] ^= bit
    return bytes(b)


def entry_of(bundle):
    entries = bundle["verificationMaterial"]["tlogEntries"]
    assert len(entries) == 1, f"expected one tlog entry, got {len(entries)}"
    return entries[0]


def timestamps(bundle):
    return bundle["verificationMaterial"].get("timestampVerificationData", {}).get("rfc3161Timestamps", [])


def signature_of(bundle):
    if "messageSignature" in bundle:
        return b64d(bundle["messageSignature"]["signature"])
    return b64d(bundle["dsseEnvelope"]["signatures"][0]["sig"])


def timestamp_from(url, signature):
    """A TimeStampResp over SHA-256(signature) from the TSA at url (its JSON form)."""
    import hashlib
    import urllib.request
    body = json.dumps({"artifactHash": b64e(hashlib.sha256(signature).digest()), "hashAlgorithm": "sha256"}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201, resp.status
        return resp.read()


def tamper_bundle(src, outdir, name, other_src, other_tsa):
    orig = json.load(open(src))
    other = json.load(open(other_src))
    e0 = entry_of(orig)
    assert "inclusionPromise" in e0 and "inclusionProof" in e0, "bundle lacks SET or inclusion proof"
    assert len(timestamps(orig)) == 1, f"expected one RFC 3161 timestamp, got {len(timestamps(orig))}"
    assert len(timestamps(other)) == 1 and timestamps(other) != timestamps(orig), "OTHER needs its own timestamp"
    assert e0["inclusionProof"]["hashes"], "empty inclusion proof (entry in a tree of size 1)"

    def variant(case, mutate, bundle_mutate=None):
        b = copy.deepcopy(orig)
        mutate(entry_of(b))
        if bundle_mutate:
            bundle_mutate(b)
        assert b != orig, case
        with open(f"{outdir}/{name}.{case}.json", "w") as f:
            json.dump(b, f, indent=2)

    def set_timestamp(der):
        def mutate(b):
            timestamps(b)[0]["signedTimestamp"] = b64e(der)
        return mutate

    def set_(e):
        p = e["inclusionPromise"]
        p["signedEntryTimestamp"] = b64e(flip(b64d(p["signedEntryTimestamp"])))

    def no_set(e):
        del e["inclusionPromise"]

    def no_timestamps(b):
        del b["verificationMaterial"]["timestampVerificationData"]

    def checkpoint(e, part):
        cp = e["inclusionProof"]["checkpoint"]
        text = cp["envelope"]
        header, sigs = text.split("\n\n", 1)
        lines = header.split("\n")
        assert len(lines) == 3, f"unexpected checkpoint header {lines}"
        if part == "root":
            lines[2] = b64e(flip(b64d(lines[2]), 0))
        else:
            m = re.match(r"^(\u2014 \S+ )(\S+)\n", sigs)
            assert m, f"unexpected checkpoint signature line {sigs!r}"
            raw = b64d(m.group(2))
            assert len(raw) > 8
            sigs = m.group(1) + b64e(flip(raw)) + "\n" + sigs[m.end():]
        new = "\n".join(lines) + "\n\n" + sigs
        assert new != text
        cp["envelope"] = new

    def proof_hash(e):
        h = e["inclusionProof"]["hashes"]
        h[0] = b64e(flip(b64d(h[0]), 0))

    def proof_root(e):
        p = e["inclusionProof"]
        p["rootHash"] = b64e(flip(b64d(p["rootHash"]), 0))

    def body(e):
        raw = b64d(e["canonicalizedBody"]).decode()
        doc = json.loads(raw)
        kind = doc["kind"]
        if kind == "hashedrekord":
            old = doc["spec"]["data"]["hash"]["value"]
        elif kind == "dsse":
            old = doc["spec"]["payloadHash"]["value"]
        else:
            raise SystemExit(f"no body tamper for kind {kind}")
        new = ("1" if old[0] == "0" else "0") + old[1:]
        assert raw.count(old) >= 1
        e["canonicalizedBody"] = b64e(raw.replace(old, new, 1).encode())

    variant("set", set_)
    variant("no-set", no_set, no_timestamps)
    ours = b64d(timestamps(orig)[0]["signedTimestamp"])
    variant("tsa-only", no_set, lambda b: None)
    variant("tsa-bit", no_set, set_timestamp(flip(ours)))
    variant("tsa-other-sig", no_set, set_timestamp(b64d(timestamps(other)[0]["signedTimestamp"])))
    variant("tsa-other-tsa", no_set, set_timestamp(timestamp_from(other_tsa, signature_of(orig))))
    variant("checkpoint-sig", lambda e: checkpoint(e, "sig"))
    variant("checkpoint-root", lambda e: checkpoint(e, "root"))
    variant("proof-hash", proof_hash)
    variant("proof-root", proof_root)
    variant("body", body)


def fresh_spki():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def tamper_trust(tc_path, other_ca_pem, outdir):
    tc = json.load(open(tc_path))
    tr = tc["trustedRoot"]
    pem = open(other_ca_pem).read()
    ders = [b64d("".join(b.split())) for b in
            re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)]
    assert ders, f"no certificates in {other_ca_pem}"

    def other_ca(t):
        t["certificateAuthorities"][0]["certChain"]["certificates"] = [{"rawBytes": b64e(d)} for d in ders]

    def other_key(section):
        def mutate(t):
            t[section][0]["publicKey"]["rawBytes"] = b64e(fresh_spki())
        return mutate

    def no_tsa(t):
        assert t["timestampAuthorities"], "the trusted root lists no TSA"
        t["timestampAuthorities"] = []

    for variant, mutate in [("other-ca", other_ca), ("other-ct", other_key("ctlogs")), ("other-rekor", other_key("tlogs")),
                            ("no-tsa", no_tsa)]:
        new_tr = copy.deepcopy(tr)
        mutate(new_tr)
        assert new_tr != tr, variant
        new_tc = copy.deepcopy(tc)
        new_tc["trustedRoot"] = new_tr
        json.dump(new_tr, open(f"{outdir}/{variant}.trusted_root.json", "w"), indent=2)
        json.dump(new_tc, open(f"{outdir}/{variant}.trust_config.json", "w"), indent=2)


def pem(der):
    body = b64e(der)
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(body[i:i + 64] for i in range(0, len(body), 64)) + "\n-----END CERTIFICATE-----\n"


def tsa_files(src, outdir, name, trusted_root):
    import hashlib
    bundle = json.load(open(src))
    ts = timestamps(bundle)
    assert len(ts) == 1, f"{src}: expected one RFC 3161 timestamp, got {len(ts)}"
    open(f"{outdir}/{name}.tsr", "wb").write(b64d(ts[0]["signedTimestamp"]))
    chain = [b64d(c["rawBytes"]) for c in json.load(open(trusted_root))["timestampAuthorities"][0]["certChain"]["certificates"]]
    open(f"{outdir}/tsa-root.pem", "w").write(pem(chain[-1]))
    open(f"{outdir}/tsa-chain.pem", "w").write("".join(pem(c) for c in chain))
    print(hashlib.sha256(signature_of(bundle)).hexdigest())


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "bundle":
        tamper_bundle(*sys.argv[2:])
    elif len(sys.argv) == 6 and sys.argv[1] == "tsa-files":
        tsa_files(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "trust":
        tamper_trust(*sys.argv[2:])
    else:
        sys.exit(__doc__)
