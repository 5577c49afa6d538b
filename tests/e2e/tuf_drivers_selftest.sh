#!/usr/bin/env bash
# tuf_drivers_selftest.sh: developer self-test of the three TUF client drivers
#   python  tests/e2e/tuf_client.py                   (python-tuf ngclient 7.0.1)
#   sigstore  sigstore-rust-driver tuf-sigstore       (sigstore-tuf 0.15)
#   tough   sigstore-rust-driver tuf-tough            (tough 0.24)
# against a throwaway repository written with python-tuf's Metadata API (ed25519,
# one key per role, consistent snapshots, sha256-only target hashes, the Sigstead
# layout) and served by `python3 -m http.server`. No Sigstead server involved.
#
#  1. fetch from a fresh cache                          -> ok root=1, bytes identical
#  2. a target whose bytes do not match its hash        -> every driver fails
#  3. root rotation to v2 (new root and timestamp keys, 2.root.json signed by old
#     and new root keys), new targets; re-run on the same caches -> ok root=2
#  4. timestamp rolled back to a lower version (validly signed) on those caches -> fail
#  5. an expired timestamp (fresh caches)                -> every driver fails
# Failures must leave --out empty. Prints PASS/FAIL lines and `N passed, N failed`.
# KEEP_RUN=1 keeps the run directory (server log, per-run request lists *.requests).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV_DIR="${VENV_DIR:-$ROOT/tests/.venv}"
export CARGO_TARGET_DIR="${RUST_CLIENT_TARGET:-$ROOT/tests/.work/rust-client-target}"
DRIVER="$CARGO_TARGET_DIR/release/sigstore-rust-driver"
mkdir -p "$ROOT/tests/.work"
RUN="$(mktemp -d "$ROOT/tests/.work/tuf-drivers.XXXXXX")"
passed=0; failed=0; HTTP_PID=""
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $(printf '%s' "$2" | tr '\n' ' ' | cut -c1-400)"; failed=$((failed + 1)); }
stop() { if [ -n "$HTTP_PID" ]; then kill "$HTTP_PID" 2>/dev/null; wait "$HTTP_PID" 2>/dev/null; HTTP_PID=""; fi; }
finish() {
    stop
    [ "$failed" -eq 0 ] && [ -z "${KEEP_RUN:-}" ] && rm -rf "$RUN"
    [ "$failed" -ne 0 ] || [ -n "${KEEP_RUN:-}" ] && echo "logs kept in $RUN"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]; exit $?
}
trap stop EXIT

bash "$ROOT/tests/tools/setup-python.sh" "$VENV_DIR" >"$RUN/python.log" 2>&1 || { fail setup_python "see $RUN/python.log"; finish; }
PY="$VENV_DIR/bin/python"
if (cd "$HERE/rust-client" && cargo build --release --locked --quiet -j "${RUST_CLIENT_JOBS:-2}") >"$RUN/build.log" 2>&1 && [ -x "$DRIVER" ]; then
    pass rust_driver_builds
else
    fail rust_driver_builds "see $RUN/build.log: $(tail -3 "$RUN/build.log")"; finish
fi

# ------------------------------------------------------------------ repository tool
REPO="$RUN/repo"; KEYS="$RUN/keys"; mkdir -p "$REPO/targets" "$KEYS"
cat >"$RUN/repo_tool.py" <<'PY'
"""repo_tool.py REPO KEYS CMD: init | rotate | expire-timestamp (see the .sh)."""
import hashlib, json, os, sys
from datetime import datetime, timedelta, timezone
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp

repo, keys, cmd = sys.argv[1:4]
now = datetime.now(timezone.utc).replace(microsecond=0)
EXP = now + timedelta(days=7)

def signer(name):  # ed25519 key, generated on first use and kept as PEM in KEYS
    path = f"{keys}/{name}.pem"
    if os.path.exists(path):
        return CryptoSigner(load_pem_private_key(open(path, "rb").read(), None))
    s = CryptoSigner.generate_ed25519()
    open(path, "wb").write(s.private_bytes)
    return s

def timestamp(version, snapshot_version, key, path, expires=EXP):
    ts = Metadata(Timestamp(version=version, expires=expires))
    ts.signed.snapshot_meta = MetaFile(version=snapshot_version)
    ts.sign(signer(key))
    ts.to_file(path)

def publish(version, ts_key):
    """targets/snapshot/timestamp `version`, with fresh target contents."""
    tg = Metadata(Targets(version=version, expires=EXP))
    for name in ("trusted_root.json", "signing_config.v0.2.json"):
        data = json.dumps({"name": name, "version": version}, indent=2).encode() + b"\n"
        digest = hashlib.sha256(data).hexdigest()
        open(f"{repo}/targets/{digest}.{name}", "wb").write(data)
        open(f"{keys}/expected.{name}", "wb").write(data)  # what a client must return
        tg.signed.targets[name] = TargetFile(length=len(data), hashes={"sha256": digest}, path=name)
    tg.sign(signer("targets"))
    tg.to_file(f"{repo}/{version}.targets.json")
    sn = Metadata(Snapshot(version=version, expires=EXP))
    sn.signed.meta["targets.json"] = MetaFile(version=version)
    sn.sign(signer("snapshot"))
    sn.to_file(f"{repo}/{version}.snapshot.json")
    timestamp(version, version, ts_key, f"{repo}/timestamp.json")

if cmd == "init":
    root = Metadata(Root(expires=EXP, consistent_snapshot=True))
    for role, key in (("root", "root1"), ("targets", "targets"), ("snapshot", "snapshot"), ("timestamp", "timestamp1")):
        root.signed.add_key(signer(key).public_key, role)
    root.sign(signer("root1"))
    root.to_file(f"{repo}/1.root.json")
    root.to_file(f"{repo}/root.json")
    publish(1, "timestamp1")
elif cmd == "rotate":
    # root v2: root key root1 -> root2, timestamp key timestamp1 -> timestamp2;
    # signed by both the old and the new root key.
    root = Metadata[Root].from_file(f"{repo}/1.root.json")
    root.signed.version = 2
    root.signed.revoke_key(signer("root1").public_key.keyid, "root")
    root.signed.add_key(signer("root2").public_key, "root")
    root.signed.revoke_key(signer("timestamp1").public_key.keyid, "timestamp")
    root.signed.add_key(signer("timestamp2").public_key, "timestamp")
    root.signatures.clear()
    root.sign(signer("root1"), append=True)
    root.sign(signer("root2"), append=True)
    root.to_file(f"{repo}/2.root.json")
    root.to_file(f"{repo}/root.json")
    publish(2, "timestamp2")
    # Rollback candidate: valid signature and expiry, but version 1 < 2.
    timestamp(1, 2, "timestamp2", f"{keys}/rollback.timestamp.json")
elif cmd == "expire-timestamp":
    # A correctly signed, newer timestamp that expired an hour ago.
    timestamp(3, 2, "timestamp2", f"{repo}/timestamp.json", expires=now - timedelta(hours=1))
else:
    sys.exit(f"unknown command {cmd}")
PY
tool() { "$PY" "$RUN/repo_tool.py" "$REPO" "$KEYS" "$@" >>"$RUN/repo_tool.log" 2>&1; }
tool init && pass repo_init || { fail repo_init "$(tail -3 "$RUN/repo_tool.log")"; finish; }
cp "$REPO/1.root.json" "$RUN/1.root.json"

PORT="$(python3 "$ROOT/tests/tools/free-port-base.py" 1)"
URL="http://127.0.0.1:$PORT"
(cd "$REPO" && exec python3 -m http.server --bind 127.0.0.1 "$PORT") >"$RUN/http.log" 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do curl -fsS "$URL/timestamp.json" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$URL/timestamp.json" >/dev/null 2>&1 && pass http_server || { fail http_server "$(tail -3 "$RUN/http.log")"; finish; }

CLIENTS="python sigstore tough"
# drive CLIENT NAME CACHE: runs one driver with a fresh --out dir $RUN/out/NAME;
# output in $RUN/NAME.log, the URLs it requested in $RUN/NAME.requests.
drive() {
    local client="$1" name="$2" cache="$3" out="$RUN/out/$2" before
    rm -rf "$out"; mkdir -p "$out"
    before=$(wc -l <"$RUN/http.log")
    local cmd
    case "$client" in
        python) cmd=("$PY" "$HERE/tuf_client.py") ;;
        sigstore) cmd=("$DRIVER" tuf-sigstore) ;;
        tough) cmd=("$DRIVER" tuf-tough) ;;
    esac
    "${cmd[@]}" --url "$URL" --root "$RUN/1.root.json" --cache "$cache" --out "$out" >"$RUN/$name.log" 2>&1
    local rc=$?
    sleep 0.1  # let http.server finish logging
    tail -n +"$((before + 1))" "$RUN/http.log" | sed -n 's/.*"GET \([^ ]*\) HTTP[^"]*" \([0-9]*\).*/\2 \1/p' >"$RUN/$name.requests"
    return $rc
}
# expect_ok CLIENT NAME CACHE ROOT_VERSION: succeeds, prints the ok line, returns the expected bytes.
expect_ok() {
    local client="$1" name="$2" want="ok root=$4 targets=2"
    if ! drive "$client" "$name" "$3"; then fail "$name" "$(tail -3 "$RUN/$name.log")"; return; fi
    if [ "$(tail -1 "$RUN/$name.log")" != "$want" ]; then fail "$name" "printed '$(tail -1 "$RUN/$name.log")', want '$want'"; return; fi
    for t in trusted_root.json signing_config.v0.2.json; do
        cmp -s "$RUN/out/$name/$t" "$KEYS/expected.$t" || { fail "$name" "$t differs from the published bytes"; return; }
    done
    pass "$name"
}
# expect_fail CLIENT NAME CACHE WHY: exits non-zero, for the expected reason (WHY, an
# extended regex matched case-insensitively against its output), writing nothing to --out.
expect_fail() {
    local client="$1" name="$2"
    if drive "$client" "$name" "$3"; then fail "$name" "accepted: $(tail -1 "$RUN/$name.log")"
    elif ! grep -qiE "$4" "$RUN/$name.log"; then fail "$name" "failed for another reason: $(tail -1 "$RUN/$name.log")"
    elif [ -n "$(ls -A "$RUN/out/$name")" ]; then fail "$name" "failed but wrote $(ls "$RUN/out/$name")"
    else pass "$name"; fi
}

# 1. Normal fetch, fresh caches (kept for 3 and 4).
for c in $CLIENTS; do expect_ok "$c" "${c}_fetch_v1" "$RUN/cache-$c" 1; done

# 2. A served target whose bytes do not match the signed sha256 (same length, so
#    the hash check is what refuses it; fresh caches).
for f in "$REPO"/targets/*.trusted_root.json; do cp "$f" "$f.orig"; sed -i 's/version/VERSION/' "$f"; done
for c in $CLIENTS; do expect_fail "$c" "${c}_rejects_tampered_target" "$RUN/cache-tamper-$c" "hash|sha256"; done
for f in "$REPO"/targets/*.trusted_root.json.orig; do mv "$f" "${f%.orig}"; done

# 3. Root rotation to v2, same caches as in 1.
tool rotate && pass repo_rotate || { fail repo_rotate "$(tail -3 "$RUN/repo_tool.log")"; finish; }
for c in $CLIENTS; do expect_ok "$c" "${c}_fetch_after_rotation" "$RUN/cache-$c" 2; done

# 4. Timestamp rollback (version 1 after 2, signed by the current key), same caches.
cp "$REPO/timestamp.json" "$RUN/timestamp.good"
cp "$KEYS/rollback.timestamp.json" "$REPO/timestamp.json"
for c in $CLIENTS; do expect_fail "$c" "${c}_rejects_timestamp_rollback" "$RUN/cache-$c" "rollback|version 1"; done
cp "$RUN/timestamp.good" "$REPO/timestamp.json"
for c in $CLIENTS; do expect_ok "$c" "${c}_fetch_after_rollback_attempt" "$RUN/cache-$c" 2; done

# 5. Expired timestamp (fresh caches, bootstrapping from 1.root.json).
tool expire-timestamp && pass repo_expire_timestamp || { fail repo_expire_timestamp "$(tail -3 "$RUN/repo_tool.log")"; finish; }
for c in $CLIENTS; do expect_fail "$c" "${c}_rejects_expired_timestamp" "$RUN/cache-expired-$c" "expired"; done
finish
