#!/usr/bin/env bash
# setup-python.sh VENV_DIR
#
# Creates (or reuses) a Python virtualenv with sigstore-python pinned to 4.5.1, the
# version the e2e drivers are written against (they call its internal Rekor v1
# client and verification code, whose names change between releases).
# Every package is pinned: python-constraints.txt beside this script holds the exact
# versions of the whole dependency tree (a pip freeze of sigstore==4.5.1's install),
# so no transitive dependency floats either. Idempotent: a venv that already has
# exactly these versions is left as it is.
set -euo pipefail

die() { echo "setup-python: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 VENV_DIR"
VENV="$1"
PY="${PYTHON:-python3}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONSTRAINTS="$HERE/python-constraints.txt"
[ -f "$CONSTRAINTS" ] || die "missing $CONSTRAINTS"

# The venv is up to date when every pinned package has its pinned version and the
# sigstore modules the drivers use import.
check() {
    "$VENV/bin/python" - "$CONSTRAINTS" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import PackageNotFoundError, version
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, want = line.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
import sigstore._internal.merkle, sigstore._internal.rekor.checkpoint, sigstore._internal.rekor.client  # noqa
PYEOF
}

if [ -x "$VENV/bin/python" ] && check; then
    echo "setup-python: $VENV already has sigstore 4.5.1 and the pinned dependencies"
    exit 0
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -c "$CONSTRAINTS" "sigstore==4.5.1"
check || die "venv $VENV does not match $CONSTRAINTS after install"
"$VENV/bin/python" -m pip check --disable-pip-version-check >/dev/null || {
    "$VENV/bin/python" -m pip check --disable-pip-version-check >&2; die "pip check failed"; }
echo "setup-python: $VENV ready: sigstore $("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("sigstore"))')"
