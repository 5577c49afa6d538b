#!/usr/bin/env python3
"""TUF client driver on python-tuf's ngclient (tuf 7.0.1, the reference client).

    tuf_client.py --url TUF_URL --root 1.root.json --cache DIR --out DIR [--target NAME]...

Refreshes the repository's metadata from the pinned root, downloads each named
target (default trusted_root.json and signing_config.v0.2.json) and, once all of
them have been verified, writes each byte-for-byte to OUT/NAME. Prints
`ok root=<root version after refresh> targets=<n>` and exits 0; on any error it
prints the error to stderr and exits 1, writing nothing to OUT.

Cache (DIR, one per client): ngclient keeps root_history/N.root.json, root.json
(a symlink to the newest trusted root), timestamp.json, snapshot.json and
targets.json there, as the raw served bytes; this driver keeps downloaded
targets in DIR/targets/. --root is always passed as `bootstrap`, as the
tuf 7 docs recommend: ngclient rewrites it as root_history/<its version>.root.json
and then walks newer roots from root_history/ before asking the network, so a
rotated root is still honoured on the next run. Cached timestamp and snapshot are
the rollback floor for the new ones; a cached snapshot or targets that is still
valid for the new timestamp is used without a download, and a cached target
whose bytes match the signed length and hashes is not downloaded again.
Run it with the venv's python (tests/tools/setup-python.sh).
"""
import argparse
import os
import sys

from tuf.ngclient import Updater

DEFAULT_TARGETS = ["trusted_root.json", "signing_config.v0.2.json"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="TUF repository base URL")
    p.add_argument("--root", required=True, help="trusted root metadata (1.root.json)")
    p.add_argument("--cache", required=True, help="metadata cache directory")
    p.add_argument("--out", required=True, help="directory for the targets")
    p.add_argument("--target", action="append", help="target name (repeatable)")
    a = p.parse_args()
    names = a.target or DEFAULT_TARGETS
    for name in names:
        parts = name.split("/")
        if not name or name.startswith("/") or any(x in ("", ".", "..") for x in parts):
            print(f"error: unsafe target name {name!r}", file=sys.stderr)
            return 1
    try:
        with open(a.root, "rb") as f:
            bootstrap = f.read()
        targets_dir = os.path.join(a.cache, "targets")
        os.makedirs(targets_dir, exist_ok=True)
        url = a.url.rstrip("/")
        updater = Updater(
            metadata_dir=a.cache,
            metadata_base_url=url + "/",
            target_base_url=url + "/targets/",
            target_dir=targets_dir,
            bootstrap=bootstrap,
        )
        updater.refresh()
        fetched = []
        for name in names:
            info = updater.get_targetinfo(name)
            if info is None:
                raise LookupError(f"target {name} is not listed in the targets metadata")
            # Both calls verify length and hashes against the signed targets
            # metadata; download_target writes the file only after verifying it.
            path = updater.find_cached_target(info) or updater.download_target(info)
            with open(path, "rb") as f:
                data = f.read()
            # Check again on the bytes actually handed out (the cache file could
            # change between the check and this read).
            info.verify_length_and_hashes(data)
            fetched.append((name, data))
        for name, data in fetched:
            dest = os.path.join(a.out, name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb") as f:
                f.write(data)
        # The trusted set's root is the one refresh() ended on.
        version = updater._trusted_set.root.version  # noqa: SLF001 (no public accessor)
    except Exception as e:  # noqa: BLE001 - any failure is a refusal
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"ok root={version} targets={len(fetched)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
