#!/usr/bin/env bash
# ensure-softhsm.sh: SoftHSM2 (Debian's softhsm2) for the PKCS#11 tests.
set -euo pipefail
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
    [ -e "$m" ] && exit 0
done
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq softhsm2 >/dev/null
ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so 2>/dev/null | head -1 | grep -q . \
    || { echo "ensure-softhsm: libsofthsm2.so not found after install" >&2; exit 1; }
