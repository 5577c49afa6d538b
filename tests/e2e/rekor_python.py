#!/usr/bin/env python3
"""
rekor_python.py: end-to-end checks of a Rekor v1 log with sigstore-python 4.5.1's own code.

    rekor_python.py --rekor-url http://127.0.0.1:PORT --trusted-root DIR/trusted_root.json

Run it with the venv made by tests/tools/setup-python.sh. It submits entries through
sigstore-python's Rekor v1 client class (sigstore._internal.rekor.client.RekorClient:
_build_hashed_rekord_request, _build_dsse_request, create_entry, log.get, log.entries.get)
and verifies what the log returns with sigstore-python's own verification code, the
same functions its Verifier calls:
  * SET:            TransparencyLogEntry._verify_set(keyring)          (sigstore/models.py)
  * checkpoint:     verify_checkpoint(keyring, entry)     (sigstore/_internal/rekor/checkpoint.py)
  * inclusion:      verify_merkle_inclusion(entry)                (sigstore/_internal/merkle.py)
  * all three:      TransparencyLogEntry._verify(keyring)
  * body vs bundle: _validate_hashedrekord_v001_entry_body / _validate_dsse_v001_entry_body
                    (sigstore/verify/verifier.py), on a Bundle built by Bundle._from_parts and
                    round-tripped through Bundle.to_json / Bundle.from_json
  * keyring:        TrustedRoot.from_file(path).rekor_keyring(KeyringPurpose.VERIFY)
The full Verifier.verify_artifact is not used: it also needs a Fulcio chain and an SCT,
which a Rekor-only trusted root does not have; its log-entry steps are the ones above.

Prints one line per check, `PASS name` or `FAIL name: reason`, and exits 1 if any failed
(2 on a usage or environment error).
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import re
import secrets
import sys
import tempfile
import traceback
from datetime import datetime, timedelta, timezone
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any, Callable

WANT_SIGSTORE = "4.5.1"

try:
    import requests
    import rfc8785
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from sigstore_models.common.v1 import HashOutput, MessageSignature

    from sigstore import dsse
    from sigstore._internal.merkle import verify_merkle_inclusion
    from sigstore._internal.rekor import RekorClientError, _hashedrekord_from_parts
    from sigstore._internal.rekor.checkpoint import SignedCheckpoint, verify_checkpoint
    from sigstore._internal.rekor.client import RekorClient
    from sigstore._internal.trust import Keyring, KeyringPurpose, RekorKeyring
    from sigstore._utils import KeyID, base64_encode_pem_cert, sha256_digest
    from sigstore.errors import Error as SigstoreError
    from sigstore.errors import VerificationError
    from sigstore.models import Bundle, TransparencyLogEntry, TrustedRoot
    from sigstore.verify.verifier import (
        _validate_dsse_v001_entry_body,
        _validate_hashedrekord_v001_entry_body,
    )
except ImportError as exc:  # pragma: no cover
    print(f"FAIL python_imports: {exc} (run tests/tools/setup-python.sh and use its venv)")
    sys.exit(2)

HTTP_TIMEOUT = 30


# ---------------------------------------------------------------------------- checks
class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def ok(self, name: str) -> None:
        self.passed += 1
        print(f"PASS {name}", flush=True)

    def fail(self, name: str, reason: str) -> None:
        self.failed += 1
        reason = " ".join(str(reason).split())
        if len(reason) > 400:
            reason = reason[:400] + "..."
        print(f"FAIL {name}: {reason}", flush=True)

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        """A positive check: passes when fn returns without raising."""
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001
            self.fail(name, f"{type(exc).__name__}: {exc}")
            if debug:
                traceback.print_exc()
            return None
        self.ok(name)
        return result if result is not None else True

    def reject(self, name: str, fn: Callable[[], Any], *, need: Callable[[], bool] | None = None) -> None:
        """A negative check: passes only when sigstore-python's code raises its own
        verification error (sigstore.errors.Error, e.g. VerificationError). Being
        accepted fails; any other exception fails too (it would mean a harness bug
        or an unexpected crash, not a clean rejection)."""
        if need is not None and not need():
            self.fail(name, "prerequisite missing (an earlier check failed)")
            return
        try:
            fn()
        except SigstoreError as exc:
            if debug:
                print(f"  ({name} rejected with {type(exc).__name__}: {exc})", file=sys.stderr)
            self.ok(name)
            return
        except Exception as exc:  # noqa: BLE001
            self.fail(name, f"not a clean rejection: {type(exc).__name__}: {exc}")
            if debug:
                traceback.print_exc()
            return
        self.fail(name, "tampered data was ACCEPTED by sigstore-python")


debug = False


def expect(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def need(value: Any, what: str) -> Any:
    if value is None:
        raise AssertionError(f"prerequisite missing: {what} (an earlier check failed)")
    return value


# ---------------------------------------------------------------------------- helpers
def make_signer() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A throwaway P-256 key and a self-signed code-signing certificate for it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sigstead-e2e")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False,
                          crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("e2e@example.com")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def flip_b64(b64: str) -> str:
    """Flips the lowest bit of the last byte of a base64 value (keeps DER well-formed)."""
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def flip_hex(h: str) -> str:
    raw = bytearray(bytes.fromhex(h))
    raw[-1] ^= 0x01
    return raw.hex()


def only_entry(raw: dict) -> tuple[str, dict]:
    items = list(raw.items())
    expect(len(items) == 1, f"response map has {len(items)} entries, want 1")
    return items[0]


def tampered(raw: dict, fn: Callable[[dict], None]) -> dict:
    r = copy.deepcopy(raw)
    _, e = only_entry(r)
    fn(e)
    return r


def spki_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


CHECKPOINT_SIG_RE = re.compile(r"^\u2014 (\S+) (\S+)$")


class Ctx:
    """State shared between checks."""

    def __init__(self, rekor_url: str, trusted_root_path: Path) -> None:
        self.rekor_url = rekor_url.rstrip("/")
        self.trusted_root_path = trusted_root_path
        self.client = RekorClient(self.rekor_url)
        self.session: requests.Session = self.client._session
        # Default timeout on every request of the python client's own session (the
        # client sets none), and a hook that keeps the last raw HTTP response so that
        # status codes, headers and the raw JSON can be checked too.
        orig = self.session.request
        self.session.request = lambda *a, **kw: orig(*a, **{"timeout": HTTP_TIMEOUT, **kw})  # type: ignore[method-assign]
        self.last: requests.Response | None = None
        self.session.hooks["response"].append(self._capture)
        self.keyring: RekorKeyring | None = None
        self.trusted_root_json: dict | None = None
        self.tlog: dict | None = None
        self.log_id: bytes | None = None
        self.tree_id: str | None = None

    def _capture(self, resp: requests.Response, *args, **kwargs) -> requests.Response:
        self.last = resp
        return resp

    def tree_size(self) -> int:
        return int(self.client.log.get().tree_size)


# ---------------------------------------------------------------------------- checks
def check_trusted_root(ctx: Ctx) -> None:
    tr = TrustedRoot.from_file(str(ctx.trusted_root_path))
    ctx.keyring = tr.rekor_keyring(KeyringPurpose.VERIFY)
    doc = json.loads(ctx.trusted_root_path.read_text())
    ctx.trusted_root_json = doc
    tlogs = doc.get("tlogs") or []
    expect(len(tlogs) >= 1, "trusted root has no tlogs")
    for t in tlogs:
        if t.get("baseUrl", "").rstrip("/") == ctx.rekor_url:
            ctx.tlog = t
    expect(ctx.tlog is not None,
           f"no tlogs[].baseUrl equals {ctx.rekor_url}: {[t.get('baseUrl') for t in tlogs]}")
    t = ctx.tlog
    raw = base64.b64decode(t["publicKey"]["rawBytes"])
    key_id = base64.b64decode(t["logId"]["keyId"])
    # sigstore-python indexes keys by SHA-256(SPKI DER) and ignores logId, so they must agree.
    expect(hashlib.sha256(raw).digest() == key_id,
           "tlogs[].logId.keyId != SHA-256(publicKey.rawBytes)")
    expect(t.get("hashAlgorithm") == "SHA2_256", f"hashAlgorithm {t.get('hashAlgorithm')}")
    expect(t["publicKey"].get("keyDetails") == "PKIX_ECDSA_P256_SHA_256",
           f"keyDetails {t['publicKey'].get('keyDetails')} (cosign's SET check needs ECDSA)")
    expect(bool((t["publicKey"].get("validFor") or {}).get("start")), "publicKey.validFor.start missing")
    ctx.log_id = key_id


def check_log_info(ctx: Ctx) -> None:
    keyring = need(ctx.keyring, "keyring")
    info = ctx.client.log.get()  # RekorClient.log.get() -> RekorLogInfo
    resp = need(ctx.last, "response")
    expect(resp.headers.get("Content-Type", "").startswith("application/json"),
           f"Content-Type {resp.headers.get('Content-Type')!r}")
    expect(int(info.tree_size) >= 1, f"treeSize {info.tree_size}: no genesis entry")
    expect(re.fullmatch(r"[0-9a-f]{64}", info.root_hash or "") is not None, f"rootHash {info.root_hash!r}")
    expect(re.fullmatch(r"[1-9][0-9]*", str(info.tree_id)) is not None,
           f"treeID {info.tree_id!r} (must be a non-zero decimal)")
    ctx.tree_id = str(info.tree_id)
    sc = SignedCheckpoint.from_text(info.signed_tree_head)
    sc.signed_note.verify(keyring, KeyID(need(ctx.log_id, "log id")))
    expect(sc.checkpoint.log_size == int(info.tree_size), "signedTreeHead size != treeSize")
    expect(sc.checkpoint.log_hash == info.root_hash, "signedTreeHead root != rootHash")


def check_checkpoint_format(ctx: Ctx, raw_entry: dict) -> None:
    """Checkpoint details other clients insist on (spec protocols.md 3.6, clients.md 12)."""
    proof = raw_entry["verification"]["inclusionProof"]
    text: str = proof["checkpoint"]
    expect(text.count("\n\n") == 1, "checkpoint must contain exactly one blank line")
    note, sigs = text.split("\n\n")
    lines = note.split("\n")
    expect(len(lines) >= 3, "checkpoint note has fewer than 3 lines")
    m = re.fullmatch(r"(.+) - ([0-9]+)", lines[0])
    expect(m is not None, f"origin {lines[0]!r} does not match '<name> - <treeID>' (sigstore-go v1 regex)")
    if ctx.tree_id is not None:
        expect(m.group(2) == ctx.tree_id, f"origin tree ID {m.group(2)} != LogInfo treeID {ctx.tree_id}")
    expect(int(lines[1]) == int(proof["treeSize"]), "checkpoint size != inclusionProof.treeSize")
    expect(base64.b64decode(lines[2]).hex() == proof["rootHash"], "checkpoint root != inclusionProof.rootHash")
    expect(sigs.endswith("\n"), "signature block must end with a newline")
    sig_lines = sigs[:-1].split("\n")
    expect(len(sig_lines) == 1, f"{len(sig_lines)} signature lines, want exactly 1 (rekor's v1 verifier)")
    sm = CHECKPOINT_SIG_RE.match(sig_lines[0])
    expect(sm is not None, f"signature line {sig_lines[0]!r} is not '\u2014 <name> <b64>'")
    name, b64 = sm.groups()
    base_url = need(ctx.tlog, "tlog")["baseUrl"]
    expect(name in base_url, f"signer name {name!r} is not a substring of tlogs[].baseUrl {base_url!r} (sigstore-js)")
    expect(base64.b64decode(b64)[:4] == bytes.fromhex(raw_entry["logID"])[:4], "key hint != logID[:4]")


def check_entry_shape(ctx: Ctx, raw: dict, resp: requests.Response, canonical: bytes | None = None) -> None:
    """Status, headers, entry id, logID and indices of a fresh POST response."""
    expect(resp.status_code == 201, f"HTTP {resp.status_code}, want 201")
    expect(resp.headers.get("Content-Type", "").startswith("application/json"),
           f"Content-Type {resp.headers.get('Content-Type')!r}")
    key, e = only_entry(raw)
    body = base64.b64decode(e["body"])
    uuid = hashlib.sha256(b"\x00" + body).hexdigest()
    expect(re.fullmatch(r"([0-9a-f]{16})?[0-9a-f]{64}", key) is not None, f"entry id {key!r} is not 64/80 hex")
    expect(key.endswith(uuid), "entry id does not end with hex(SHA-256(0x00 || body))")
    if len(key) == 80:
        expect(int(key[:16], 16) != 0, "tree ID prefix of the entry id is 0")
        if ctx.tree_id is not None:
            expect(int(key[:16], 16) == int(ctx.tree_id), "tree ID prefix != LogInfo treeID")
    etag = resp.headers.get("ETag")
    expect(etag == key, f"ETag {etag!r} != response key {key!r} (sigstore-go looks the entry up by ETag)")
    loc = resp.headers.get("Location") or ""
    expect(loc.endswith(f"/api/v1/log/entries/{key}"), f"Location {loc!r}")
    expect(e["logID"] == need(ctx.log_id, "log id").hex(), "logID != trusted root tlogs[].logId.keyId")
    expect(isinstance(e["logIndex"], int) and e["logIndex"] > 0, f"logIndex {e['logIndex']!r} (index 0 is the genesis)")
    p = e["verification"]["inclusionProof"]
    expect(p["logIndex"] == e["logIndex"], "inclusionProof.logIndex != logIndex (single shard)")
    expect(p["treeSize"] > p["logIndex"], "treeSize <= logIndex")
    now = datetime.now(timezone.utc).timestamp()
    expect(isinstance(e["integratedTime"], int) and abs(e["integratedTime"] - now) < 600,
           f"integratedTime {e['integratedTime']!r} is not within 10 min of now")
    if canonical is not None:
        expect(body == canonical, "body differs from the expected canonical body")


def main() -> int:
    global debug
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rekor-url", required=True)
    ap.add_argument("--trusted-root", required=True, type=Path)
    ap.add_argument("--debug", action="store_true", help="tracebacks on stderr")
    a = ap.parse_args()
    debug = a.debug

    c = Checks()
    got = pkg_version("sigstore")
    if got != WANT_SIGSTORE:
        c.fail("python_sigstore_version", f"sigstore {got} installed, want {WANT_SIGSTORE}")
        return 1
    c.ok("python_sigstore_version")

    ctx = Ctx(a.rekor_url, a.trusted_root)
    c.run("trusted_root_tlog", lambda: check_trusted_root(ctx))
    c.run("log_info_checkpoint", lambda: check_log_info(ctx))

    key, cert = make_signer()

    # ------------------------------------------------------------ (a) hashedrekord 0.0.1
    artifact = secrets.token_bytes(256)
    hashed = sha256_digest(artifact)
    sig = key.sign(hashed.digest, ec.ECDSA(hashed._as_prehashed()))
    hr_req = ctx.client._build_hashed_rekord_request(hashed_input=hashed, signature=sig, certificate=cert)
    st: dict[str, Any] = {}

    def submit(req: dict, prefix: str) -> None:
        size0 = ctx.tree_size()
        ctx.last = None
        try:
            # python's own client: POST, then TransparencyLogEntry._from_v1_response
            st[f"{prefix}_entry"] = ctx.client.create_entry(req)
        finally:
            # keep the raw response even when python refuses it, for the detailed checks
            resp = ctx.last
            if resp is not None and resp.request.method == "POST":
                st[f"{prefix}_resp"] = resp
                try:
                    st[f"{prefix}_raw"] = resp.json()
                except ValueError:
                    pass
        expect(ctx.tree_size() == size0 + 1, "tree did not grow by exactly 1")

    def submit_hr() -> None:
        submit(hr_req, "hr")

    c.run("hashedrekord_submit", submit_hr)
    hr_expected = rfc8785.dumps(
        _hashedrekord_from_parts(cert, sig, hashed).model_dump(mode="json", by_alias=True, exclude_none=True))
    c.run("hashedrekord_response", lambda: check_entry_shape(
        ctx, need(st.get("hr_raw"), "hashedrekord response"), st["hr_resp"]))

    def hr_canonical() -> None:
        body = bytes(need(st.get("hr_entry"), "hashedrekord entry")._inner.canonicalized_body)
        expect(body == hr_expected,
               f"body {body[:300]!r} != python's rebuilt RFC 8785 body {hr_expected[:300]!r}")

    c.run("hashedrekord_canonical_body_bytes", hr_canonical)

    def hr_bundle() -> None:
        entry = need(st.get("hr_entry"), "hashedrekord entry")
        content = MessageSignature(
            message_digest=HashOutput(algorithm=hashed.algorithm, digest=base64.b64encode(hashed.digest)),
            signature=base64.b64encode(sig),
        )
        b = Bundle._from_parts(cert, content, entry)
        b2 = Bundle.from_json(b.to_json())  # bundle model validation (inclusion proof, promise)
        _validate_hashedrekord_v001_entry_body(b2, hashed)  # python's body-vs-materials check
        st["hr_bundle"] = b2

    c.run("hashedrekord_body_consistency", hr_bundle)
    c.run("hashedrekord_set", lambda: need(st.get("hr_entry"), "entry")._verify_set(need(ctx.keyring, "keyring")))
    c.run("hashedrekord_checkpoint", lambda: verify_checkpoint(need(ctx.keyring, "keyring"), need(st.get("hr_entry"), "entry")))
    c.run("hashedrekord_inclusion", lambda: verify_merkle_inclusion(need(st.get("hr_entry"), "entry")))
    c.run("hashedrekord_bundle_log_entry_verify",
          lambda: need(st.get("hr_bundle"), "bundle").log_entry._verify(need(ctx.keyring, "keyring")))
    c.run("hashedrekord_checkpoint_format",
          lambda: check_checkpoint_format(ctx, only_entry(need(st.get("hr_raw"), "response"))[1]))

    # ------------------------------------------------------------ (b) dsse 0.0.1
    stmt = (
        dsse.StatementBuilder()
        .subjects([dsse.Subject(name="artifact.bin", digest={"sha256": hashed.digest.hex()})])
        .predicate_type("https://sigstead.example/e2e/v1")
        .predicate({"nonce": secrets.token_hex(16)})
        .build()
    )
    envelope = dsse._sign(key, stmt)
    ds_req = ctx.client._build_dsse_request(envelope=envelope, certificate=cert)

    def submit_dsse() -> None:
        submit(ds_req, "ds")

    c.run("dsse_submit", submit_dsse)
    env_str: str = ds_req["spec"]["proposedContent"]["envelope"]
    ds_expected = rfc8785.dumps({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(env_str.encode()).hexdigest()},
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(envelope._inner.payload).hexdigest()},
            "signatures": [{"signature": base64.b64encode(envelope.signature).decode(),
                            "verifier": base64_encode_pem_cert(cert)}],
        },
    })
    c.run("dsse_response", lambda: check_entry_shape(ctx, need(st.get("ds_raw"), "dsse response"), st["ds_resp"]))

    def ds_canonical() -> None:
        body = bytes(need(st.get("ds_entry"), "dsse entry")._inner.canonicalized_body)
        expect(body == ds_expected, f"body {body[:300]!r} != expected RFC 8785 dsse body {ds_expected[:300]!r}")

    c.run("dsse_canonical_body_bytes", ds_canonical)

    def ds_bundle() -> None:
        b = Bundle._from_parts(cert, envelope, need(st.get("ds_entry"), "dsse entry"))
        b2 = Bundle.from_json(b.to_json())
        _validate_dsse_v001_entry_body(b2)
        st["ds_bundle"] = b2

    c.run("dsse_body_consistency", ds_bundle)
    c.run("dsse_set", lambda: need(st.get("ds_entry"), "entry")._verify_set(need(ctx.keyring, "keyring")))
    c.run("dsse_checkpoint", lambda: verify_checkpoint(need(ctx.keyring, "keyring"), need(st.get("ds_entry"), "entry")))
    c.run("dsse_inclusion", lambda: verify_merkle_inclusion(need(st.get("ds_entry"), "entry")))
    c.run("dsse_bundle_log_entry_verify",
          lambda: need(st.get("ds_bundle"), "bundle").log_entry._verify(need(ctx.keyring, "keyring")))
    c.run("dsse_checkpoint_format",
          lambda: check_checkpoint_format(ctx, only_entry(need(st.get("ds_raw"), "response"))[1]))

    # ------------------------------------------------------------ negative: tampering
    # Each tampered response goes through python's own parser (_from_v1_response) and
    # then the verification function that must catch it.
    have_hr = lambda: st.get("hr_entry") is not None and ctx.keyring is not None  # noqa: E731
    entry_of = TransparencyLogEntry._from_v1_response

    def set_flip(e: dict) -> None:
        e["verification"]["signedEntryTimestamp"] = flip_b64(e["verification"]["signedEntryTimestamp"])

    c.reject("reject_tampered_set",
             lambda: entry_of(tampered(st["hr_raw"], set_flip))._verify_set(ctx.keyring), need=have_hr)

    def cp_sig_flip(e: dict) -> None:
        p = e["verification"]["inclusionProof"]
        note, sigs = p["checkpoint"].split("\n\n")
        out = []
        for line in sigs[:-1].split("\n"):
            m = CHECKPOINT_SIG_RE.match(line)
            if m:  # keep the 4-byte key hint, flip a bit of the ECDSA signature
                line = f"\u2014 {m.group(1)} {flip_b64(m.group(2))}"
            out.append(line)
        p["checkpoint"] = note + "\n\n" + "\n".join(out) + "\n"

    c.reject("reject_tampered_checkpoint_signature",
             lambda: verify_checkpoint(ctx.keyring, entry_of(tampered(st["hr_raw"], cp_sig_flip))), need=have_hr)

    def proof_hash_flip(e: dict) -> None:
        hs = e["verification"]["inclusionProof"]["hashes"]
        expect(len(hs) > 0, "inclusion proof has no hashes to tamper with (tree of size 1?)")
        hs[0] = flip_hex(hs[0])

    c.reject("reject_tampered_inclusion_proof_hash",
             lambda: verify_merkle_inclusion(entry_of(tampered(st["hr_raw"], proof_hash_flip))), need=have_hr)

    def root_flip(e: dict) -> None:
        p = e["verification"]["inclusionProof"]
        p["rootHash"] = flip_hex(p["rootHash"])

    # checkpoint still validly signed, but its root differs from inclusionProof.rootHash
    c.reject("reject_tampered_root_hash",
             lambda: verify_checkpoint(ctx.keyring, entry_of(tampered(st["hr_raw"], root_flip))), need=have_hr)

    def body_flip(e: dict) -> None:
        # A well-formed body that claims a different artifact digest.
        body = json.loads(base64.b64decode(e["body"]))
        body["spec"]["data"]["hash"]["value"] = flip_hex(body["spec"]["data"]["hash"]["value"])
        e["body"] = base64.b64encode(rfc8785.dumps(body)).decode()

    c.reject("reject_tampered_body_set",
             lambda: entry_of(tampered(st["hr_raw"], body_flip))._verify_set(ctx.keyring), need=have_hr)
    c.reject("reject_tampered_body_inclusion",
             lambda: verify_merkle_inclusion(entry_of(tampered(st["hr_raw"], body_flip))), need=have_hr)

    def body_consistency() -> None:
        bad = entry_of(tampered(st["hr_raw"], body_flip))
        content = MessageSignature(signature=base64.b64encode(sig))
        _validate_hashedrekord_v001_entry_body(Bundle._from_parts(cert, content, bad), hashed)

    c.reject("reject_tampered_body_consistency", body_consistency, need=have_hr)

    # A trusted root whose tlog key was replaced by a freshly generated one.
    def wrong_keyring() -> RekorKeyring:
        doc = copy.deepcopy(need(ctx.trusted_root_json, "trusted root"))
        for t in doc["tlogs"]:
            spki = spki_der(ec.generate_private_key(ec.SECP256R1()).public_key())
            t["publicKey"]["rawBytes"] = base64.b64encode(spki).decode()
            t["logId"]["keyId"] = base64.b64encode(hashlib.sha256(spki).digest()).decode()
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(doc, f)
        try:
            return TrustedRoot.from_file(f.name).rekor_keyring(KeyringPurpose.VERIFY)
        finally:
            Path(f.name).unlink()

    st["wrong_keyring"] = c.run("wrong_trusted_root_loads", wrong_keyring)
    have_wrong = lambda: have_hr() and isinstance(st.get("wrong_keyring"), Keyring)  # noqa: E731
    c.reject("reject_wrong_log_key_set",
             lambda: st["hr_entry"]._verify_set(st["wrong_keyring"]), need=have_wrong)
    c.reject("reject_wrong_log_key_checkpoint",
             lambda: verify_checkpoint(st["wrong_keyring"], st["hr_entry"]), need=have_wrong)
    c.reject("reject_wrong_log_key_dsse",
             lambda: need(st.get("ds_entry"), "dsse entry")._verify(st["wrong_keyring"]), need=have_wrong)

    # ------------------------------------------------------------ duplicate submission
    def duplicate() -> None:
        hr_key, _ = only_entry(need(st.get("hr_raw"), "hashedrekord response"))
        size0 = ctx.tree_size()
        r = ctx.session.post(f"{ctx.client.url}/log/entries", json=hr_req)
        expect(r.status_code == 409, f"HTTP {r.status_code}, want 409")
        loc = r.headers.get("Location") or ""
        expect(loc != "", "no Location header")
        last = loc.rstrip("/").rsplit("/", 1)[-1]
        expect("/api/v1/log/entries/" in loc and hr_key.endswith(last[-64:]) and len(last) in (64, 80),
               f"Location {loc!r} does not name entry {hr_key}")
        expect(r.headers.get("Content-Type", "").startswith("application/json"),
               f"Content-Type {r.headers.get('Content-Type')!r}")
        err = r.json()
        expect(err.get("code") == 409 and isinstance(err.get("message"), str), f"error body {err!r}")
        expect(ctx.tree_size() == size0, "tree size changed on a duplicate")
        st["dup_location"] = last

    c.run("duplicate_409_location", duplicate)

    def duplicate_python() -> None:
        try:
            ctx.client.create_entry(hr_req)
        except RekorClientError as exc:
            expect(str(exc).startswith("409"), f"RekorClientError {exc}")
            return
        raise AssertionError("python's create_entry accepted a duplicate")

    c.run("duplicate_python_client_error", duplicate_python)

    def get_by_uuid() -> None:
        ident = need(st.get("dup_location"), "Location of the duplicate")
        e = ctx.client.log.entries.get(uuid=ident)  # GET /api/v1/log/entries/{id}
        expect(bytes(e._inner.canonicalized_body) == bytes(st["hr_entry"]._inner.canonicalized_body),
               "body differs from the POST response")
        e._verify(need(ctx.keyring, "keyring"))

    c.run("get_entry_by_location", get_by_uuid)

    def get_by_index() -> None:
        idx = int(need(st.get("hr_entry"), "entry")._inner.log_index)
        e = ctx.client.log.entries.get(log_index=idx)  # GET /api/v1/log/entries?logIndex=N
        expect(bytes(e._inner.canonicalized_body) == bytes(st["hr_entry"]._inner.canonicalized_body),
               "body differs from the POST response")
        e._verify(need(ctx.keyring, "keyring"))

    c.run("get_entry_by_log_index", get_by_index)

    # ------------------------------------------------------------ bad requests
    def malformed() -> None:
        size0 = ctx.tree_size()
        r = ctx.session.post(f"{ctx.client.url}/log/entries",
                             data=b'{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{',
                             headers={"Content-Type": "application/json"})
        expect(r.status_code == 400, f"HTTP {r.status_code}, want 400")
        expect(r.headers.get("Content-Type", "").startswith("application/json"),
               f"Content-Type {r.headers.get('Content-Type')!r}")
        err = r.json()
        expect(err.get("code") == 400 and isinstance(err.get("message"), str), f"error body {err!r}")
        expect(ctx.tree_size() == size0, f"tree size changed: {size0} -> {ctx.tree_size()}")

    c.run("malformed_json_400_unchanged", malformed)

    def bad_signature() -> None:
        size0 = ctx.tree_size()
        other = sha256_digest(secrets.token_bytes(64))
        bad = ctx.client._build_hashed_rekord_request(hashed_input=other, signature=sig, certificate=cert)
        r = ctx.session.post(f"{ctx.client.url}/log/entries", json=bad)
        expect(r.status_code == 400, f"HTTP {r.status_code}, want 400")
        expect(ctx.tree_size() == size0, "tree size changed")

    c.run("bad_signature_400_unchanged", bad_signature)

    print(f"# rekor_python: {c.passed} checks ok, {c.failed} not ok", file=sys.stderr)
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
