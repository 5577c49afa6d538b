#!/usr/bin/env python3
"""
fake_rekor.py: a small in-memory Rekor v1 used ONLY to self-check the e2e harness
(`run-rekor.sh fake`), so that the drivers rekor_python.py and rekor_cosign.sh can be
exercised without the real `sigstead` binary. It is not part of the product and is
not what the tests are about; it follows spec/protocols.md section 3 and the Rekor v1
checklist of spec/clients.md section 12, so it also documents, in runnable form, what
the drivers expect from a Rekor v1 server.

    fake_rekor.py --listen 127.0.0.1:PORT --out DIR

writes DIR/trusted_root.json and DIR/signing_config.v0.2.json, then serves:
  POST /api/v1/log/entries            hashedrekord 0.0.1, dsse 0.0.1
  GET  /api/v1/log/entries/{id}       64- or 80-hex id
  GET  /api/v1/log/entries?logIndex=N
  GET  /api/v1/log                    LogInfo
  GET  /api/v1/log/publicKey          PEM
  GET  /healthz
Needs the venv made by tests/tools/setup-python.sh (cryptography, rfc8785).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509 import load_pem_x509_certificate


# ------------------------------------------------------------------ RFC 6962 Merkle
def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """Merkle tree hash over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def inclusion_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 2.1.1 PATH(m, D[n]), ordered leaf to root."""
    n = len(leaves)
    if n <= 1:
        return []
    k = _split(n)
    if m < k:
        return inclusion_path(m, leaves[:k]) + [mth(leaves[k:])]
    return inclusion_path(m - k, leaves[k:]) + [mth(leaves[:k])]


# ------------------------------------------------------------------ PEM helpers
def reencode_pem(pem: bytes) -> tuple[bytes, object]:
    """Re-encodes a certificate or public key PEM as LF PEM; returns (pem, public key)."""
    if b"CERTIFICATE" in pem:
        cert = load_pem_x509_certificate(pem)
        return cert.public_bytes(serialization.Encoding.PEM), cert.public_key()
    key = serialization.load_pem_public_key(pem)
    return (
        key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        key,
    )


def pae(payload_type: str, payload: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload), payload)


class BadEntry(Exception):
    pass


def canonicalize(proposed: dict) -> bytes:
    kind = proposed.get("kind")
    ver = proposed.get("apiVersion")
    spec = proposed.get("spec")
    if not isinstance(spec, dict):
        raise BadEntry("missing spec")
    if (kind, ver) == ("hashedrekord", "0.0.1"):
        try:
            alg = spec["data"]["hash"]["algorithm"]
            value = spec["data"]["hash"]["value"]
            sig = base64.b64decode(spec["signature"]["content"], validate=True)
            pem = base64.b64decode(spec["signature"]["publicKey"]["content"], validate=True)
        except (KeyError, TypeError, ValueError) as e:
            raise BadEntry(f"malformed hashedrekord: {e}")
        halg = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}.get(alg)
        if halg is None or not isinstance(value, str) or len(value) != 2 * halg.digest_size:
            raise BadEntry("bad hash")
        try:
            digest = bytes.fromhex(value)
            pem2, key = reencode_pem(pem)
        except ValueError as e:
            raise BadEntry(f"bad key or hash: {e}")
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise BadEntry("only ECDSA keys in this fake")
        try:
            key.verify(sig, digest, ec.ECDSA(Prehashed(halg)))
        except InvalidSignature:
            raise BadEntry("signature verification failed")
        body = {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": alg, "value": value.lower()}},
                "signature": {"content": spec["signature"]["content"],
                              "publicKey": {"content": base64.b64encode(pem2).decode()}},
            },
        }
        return rfc8785.dumps(body)
    if (kind, ver) == ("dsse", "0.0.1"):
        try:
            pc = spec["proposedContent"]
            env_str = pc["envelope"]
            env = json.loads(env_str)
            payload = base64.b64decode(env["payload"])
            verifiers = [reencode_pem(base64.b64decode(v)) for v in pc["verifiers"]]
            sigs = env["signatures"]
        except (KeyError, TypeError, ValueError) as e:
            raise BadEntry(f"malformed dsse: {e}")
        if not sigs or not verifiers:
            raise BadEntry("no signatures or verifiers")
        msg = pae(env["payloadType"], payload)
        out = []
        for s in sigs:
            raw = base64.b64decode(s["sig"])
            for pem2, key in verifiers:
                try:
                    key.verify(raw, msg, ec.ECDSA(hashes.SHA256()))
                    out.append({"signature": s["sig"], "verifier": base64.b64encode(pem2).decode()})
                    break
                except InvalidSignature:
                    continue
            else:
                raise BadEntry("dsse signature not verified by any verifier")
        out.sort(key=lambda x: x["signature"])
        body = {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(env_str.encode()).hexdigest()},
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                "signatures": out,
            },
        }
        return rfc8785.dumps(body)
    raise BadEntry(f"unsupported kind {kind} {ver}")


# ------------------------------------------------------------------ the log
class Log:
    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.log_id = hashlib.sha256(self.spki).digest()
        self.tree_id = secrets.randbits(62) + 1
        self.name = name
        self.lock = threading.Lock()
        self.bodies: list[bytes] = []
        self.leaves: list[bytes] = []
        self.times: list[int] = []
        self.index: dict[bytes, int] = {}
        self._append(rfc8785.dumps({"genesis": True, "treeID": str(self.tree_id)}))

    def _append(self, body: bytes) -> int:
        lh = leaf_hash(body)
        self.bodies.append(body)
        self.leaves.append(lh)
        self.times.append(int(time.time()))
        self.index[lh] = len(self.leaves) - 1
        return len(self.leaves) - 1

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def checkpoint(self, size: int, root: bytes) -> str:
        note = f"{self.name} - {self.tree_id}\n{size}\n{base64.b64encode(root).decode()}\n"
        sig = self.log_id[:4] + self.sign(note.encode())
        return note + "\n" + f"\u2014 {self.name} {base64.b64encode(sig).decode()}\n"

    def entry_id(self, idx: int) -> str:
        return f"{self.tree_id:016x}" + self.leaves[idx].hex()

    def entry(self, idx: int) -> dict:
        size = len(self.leaves)
        root = mth(self.leaves)
        body_b64 = base64.b64encode(self.bodies[idx]).decode()
        set_payload = rfc8785.dumps({"body": body_b64, "integratedTime": self.times[idx],
                                     "logID": self.log_id.hex(), "logIndex": idx})
        return {self.entry_id(idx): {
            "body": body_b64,
            "integratedTime": self.times[idx],
            "logID": self.log_id.hex(),
            "logIndex": idx,
            "verification": {
                "inclusionProof": {
                    "checkpoint": self.checkpoint(size, root),
                    "hashes": [h.hex() for h in inclusion_path(idx, self.leaves)],
                    "logIndex": idx,
                    "rootHash": root.hex(),
                    "treeSize": size,
                },
                "signedEntryTimestamp": base64.b64encode(self.sign(set_payload)).decode(),
            },
        }}


def write_trust(log: Log, base_url: str, out: Path) -> None:
    start = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tr = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{
            "baseUrl": base_url, "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": base64.b64encode(log.spki).decode(),
                          "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": start}},
            "logId": {"keyId": base64.b64encode(log.log_id).decode()},
        }],
        "certificateAuthorities": [], "ctlogs": [], "timestampAuthorities": [],
    }
    sc = {
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": [], "oidcUrls": [],
        "rekorTlogUrls": [{"url": base_url, "majorApiVersion": 1,
                           "validFor": {"start": start}, "operator": "sigstead-fake"}],
        "tsaUrls": [],
        "rekorTlogConfig": {"selector": "ANY"},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "trusted_root.json").write_text(json.dumps(tr, indent=2) + "\n")
    (out / "signing_config.v0.2.json").write_text(json.dumps(sc, indent=2) + "\n")


def make_handler(log: Log):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet
            sys.stderr.write("fake-rekor: " + (fmt % args) + "\n")

        def _send(self, code: int, obj=None, headers: dict | None = None, raw: bytes | None = None,
                  ctype: str = "application/json"):
            data = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _err(self, code: int, msg: str):
            self._send(code, {"code": code, "message": msg})

        def do_GET(self):
            u = urlsplit(self.path)
            p = u.path.rstrip("/")
            if p == "/healthz":
                return self._send(200, raw=b"ok\n", ctype="text/plain")
            with log.lock:
                if p == "/api/v1/log":
                    size = len(log.leaves)
                    root = mth(log.leaves)
                    return self._send(200, {"rootHash": root.hex(), "treeSize": size,
                                            "signedTreeHead": log.checkpoint(size, root),
                                            "treeID": str(log.tree_id), "inactiveShards": []})
                if p == "/api/v1/log/publicKey":
                    pem = log.key.public_key().public_bytes(
                        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                    return self._send(200, raw=pem, ctype="application/x-pem-file")
                if p == "/api/v1/log/entries":
                    q = parse_qs(u.query)
                    try:
                        idx = int(q["logIndex"][0])
                    except (KeyError, ValueError):
                        return self._err(400, "logIndex required")
                    if not 0 <= idx < len(log.leaves):
                        return self._send(404)
                    return self._send(200, log.entry(idx))
                if p.startswith("/api/v1/log/entries/"):
                    ident = p.rsplit("/", 1)[1].lower()
                    try:
                        lh = bytes.fromhex(ident[-64:])
                    except ValueError:
                        return self._err(400, "bad id")
                    idx = log.index.get(lh)
                    if idx is None or len(ident) not in (64, 80) or (
                            len(ident) == 80 and ident[:16] != f"{log.tree_id:016x}"):
                        return self._send(404)
                    return self._send(200, log.entry(idx))
            self._send(404)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(n)
            if urlsplit(self.path).path.rstrip("/") != "/api/v1/log/entries":
                return self._send(404)
            try:
                proposed = json.loads(data)
                if not isinstance(proposed, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                return self._err(400, f"error parsing request: {e}")
            try:
                body = canonicalize(proposed)
            except BadEntry as e:
                return self._err(400, f"error processing entry: {e}")
            with log.lock:
                lh = leaf_hash(body)
                if lh in log.index:
                    eid = log.entry_id(log.index[lh])
                    return self._send(409, {"code": 409, "message": "an equivalent entry already exists "
                                            f"in the transparency log with UUID {eid}"},
                                      {"Location": f"/api/v1/log/entries/{eid}"})
                idx = log._append(body)
                eid = log.entry_id(idx)
                self._send(201, log.entry(idx), {"ETag": eid, "Location": f"/api/v1/log/entries/{eid}"})

    return H


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    log = Log(f"{host}:{port}")
    write_trust(log, f"http://{host}:{port}", Path(a.out))
    srv = ThreadingHTTPServer((host, int(port)), make_handler(log))
    print(f"fake-rekor listening on {a.listen}", file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
