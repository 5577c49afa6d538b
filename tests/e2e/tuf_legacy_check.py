#!/usr/bin/env python3
"""Checks the legacy TUF targets against a trusted root, independently of Sigstead.

    tuf_legacy_check.py --trusted-root trusted_root.json --targets targets.json --dir FETCHED [--print-names]

With --print-names: prints the well-known legacy target names the trusted root
calls for (one per line) and exits. Otherwise FETCHED holds those targets as a
TUF client downloaded them; for each one it checks, from the trusted root's
first entry of each kind whose validFor is open (the current one):
  rekor.pub / ctfe.pub       PEM of the log's public key (DER equal to rawBytes)
  fulcio_v1.crt.pem          the CA chain's last certificate (the root)
  fulcio_intermediate_v1.crt.pem  the certificates before it
  tsa_leaf.crt.pem, tsa_intermediate_<n>.crt.pem, tsa_root.crt.pem  the TSA chain, leaf first
and that targets.json (the signed targets metadata, as served) describes each
with custom.sigstore {usage, status Active, uri = the service's URL}, the
shape of the public-good repository's targets.json. Every target with custom
metadata whose status is Expired must be a key or CA the trusted root lists
with a closed window. Prints one line per check and exits 1 on the first
mismatch.
"""
import argparse
import base64
import json
import os
import sys


def pem_blocks(data: bytes, label: str) -> list:
    out, cur = [], None
    for line in data.decode().splitlines():
        if line == f"-----BEGIN {label}-----":
            cur = []
        elif line == f"-----END {label}-----" and cur is not None:
            out.append(base64.b64decode("".join(cur)))
            cur = None
        elif cur is not None:
            cur.append(line.strip())
    return out


def current(entries, window):
    for e in entries:
        if "end" not in window(e):
            return e
    return None


def expected(tr: dict) -> dict:
    """name -> (label, [DER...], usage, uri)"""
    want = {}
    for kind, name, usage in (("tlogs", "rekor.pub", "Rekor"), ("ctlogs", "ctfe.pub", "CTFE")):
        log = current(tr.get(kind, []), lambda e: e["publicKey"].get("validFor", {}))
        if log:
            want[name] = ("PUBLIC KEY", [base64.b64decode(log["publicKey"]["rawBytes"])], usage, log["baseUrl"])
    ca = current(tr.get("certificateAuthorities", []), lambda e: e.get("validFor", {}))
    if ca:
        chain = [base64.b64decode(c["rawBytes"]) for c in ca["certChain"]["certificates"]]
        want["fulcio_v1.crt.pem"] = ("CERTIFICATE", chain[-1:], "Fulcio", ca["uri"])
        if len(chain) > 1:
            want["fulcio_intermediate_v1.crt.pem"] = ("CERTIFICATE", chain[:-1], "Fulcio", ca["uri"])
    tsa = current(tr.get("timestampAuthorities", []), lambda e: e.get("validFor", {}))
    if tsa:
        chain = [base64.b64decode(c["rawBytes"]) for c in tsa["certChain"]["certificates"]]
        want["tsa_leaf.crt.pem"] = ("CERTIFICATE", chain[:1], "TSA", tsa["uri"])
        if len(chain) > 1:
            for n, c in enumerate(chain[1:-1]):
                want[f"tsa_intermediate_{n}.crt.pem"] = ("CERTIFICATE", [c], "TSA", tsa["uri"])
            want["tsa_root.crt.pem"] = ("CERTIFICATE", chain[-1:], "TSA", tsa["uri"])
    return want


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--trusted-root", required=True)
    p.add_argument("--targets")
    p.add_argument("--dir")
    p.add_argument("--print-names", action="store_true")
    a = p.parse_args()
    tr = json.load(open(a.trusted_root))
    want = expected(tr)
    if a.print_names:
        print("\n".join(sorted(want)))
        return 0
    listed = json.load(open(a.targets))["signed"]["targets"]
    for name, (label, ders, usage, uri) in sorted(want.items()):
        path = os.path.join(a.dir, name)
        if not os.path.exists(path):
            print(f"FAIL {name}: not fetched", file=sys.stderr)
            return 1
        got = pem_blocks(open(path, "rb").read(), label)
        if got != ders:
            print(f"FAIL {name}: holds {len(got)} {label} block(s) that differ from the trusted root's", file=sys.stderr)
            return 1
        meta = (listed.get(name) or {}).get("custom", {}).get("sigstore")
        if meta != {"usage": usage, "status": "Active", "uri": uri}:
            print(f"FAIL {name}: custom.sigstore is {meta}, want usage {usage}, status Active, uri {uri}", file=sys.stderr)
            return 1
        print(f"ok {name}: {usage} {uri}")
    # Expired entries must be keys the trusted root lists as retired.
    retired_keys = {
        base64.b64decode(l["publicKey"]["rawBytes"])
        for kind in ("tlogs", "ctlogs") for l in tr.get(kind, []) if "end" in l["publicKey"].get("validFor", {})
    }
    for name, tf in sorted(listed.items()):
        meta = (tf.get("custom") or {}).get("sigstore") or {}
        if meta.get("status") == "Expired" and name.endswith(".pub"):
            fetched = os.path.join(a.dir, name)
            if os.path.exists(fetched) and pem_blocks(open(fetched, "rb").read(), "PUBLIC KEY")[0] not in retired_keys:
                print(f"FAIL {name}: Expired, but not a retired key of the trusted root", file=sys.stderr)
                return 1
            print(f"ok {name}: Expired")
    return 0


if __name__ == "__main__":
    sys.exit(main())
