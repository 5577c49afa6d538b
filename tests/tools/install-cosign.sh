#!/usr/bin/env bash
# install-cosign.sh DEST_DIR: cosign 3.1.1 at DEST_DIR/cosign, extracted from
# Debian's unstable suite without installing anything system-wide (see
# install-sid-binary.sh). Idempotent.
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-sid-binary.sh" cosign 3.1.1 "$@"
