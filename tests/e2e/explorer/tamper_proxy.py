#!/usr/bin/env python3
"""A hostile explorer in front of the real one, for the browser tests.

    tamper_proxy.py --listen PORT --upstream URL --mode tampered-proof|forged-checkpoint

Forwards every GET to the real explorer and passes the answer through, except
`/api/proof/{uuid}` (the document the page checks):

  tampered-proof     the first inclusion-proof hash has one bit flipped;
  forged-checkpoint  the checkpoint's signature is replaced by one from
                     another P-256 key, keeping the log's name and key hint
                     (what an impostor serving a checkpoint of its own would
                     show).

The page must show a failed verification with the reason in both cases.
Needs the `cryptography` package (the sigstore-python venv has it)."""
import argparse
import base64
import http.server
import json
import urllib.request

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ap = argparse.ArgumentParser()
ap.add_argument("--listen", type=int, required=True)
ap.add_argument("--upstream", required=True)
ap.add_argument("--mode", choices=["tampered-proof", "forged-checkpoint"], required=True)
args = ap.parse_args()
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


def forge(note):
    text, _, sigs = note.partition("\n\n")
    text += "\n"
    first = sigs.splitlines()[0]
    dash, name, b64 = first.split(" ")
    hint = base64.b64decode(b64)[:4]
    sig = OTHER_KEY.sign(text.encode(), ec.ECDSA(hashes.SHA256()))
    return f"{text}\n{dash} {name} {base64.b64encode(hint + sig).decode()}\n"


def tamper(doc):
    if args.mode == "tampered-proof":
        h = bytearray.fromhex(doc["hashes"][0])
        h[0] ^= 0x01
        doc["hashes"][0] = h.hex()
    else:
        doc["checkpoint"] = forge(doc["checkpoint"])
    return doc


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        try:
            with urllib.request.urlopen(args.upstream.rstrip("/") + self.path, timeout=30) as r:
                status, headers, body = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read()
        if self.path.startswith("/api/proof/") and status == 200:
            body = json.dumps(tamper(json.loads(body))).encode()
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("127.0.0.1", args.listen), Handler).serve_forever()
