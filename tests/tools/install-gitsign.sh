#!/usr/bin/env bash
# install-gitsign.sh DEST_DIR: gitsign 0.16.1 at DEST_DIR/gitsign, extracted
# from Debian's unstable suite without installing anything system-wide (see
# install-sid-binary.sh). Idempotent.
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-sid-binary.sh" gitsign 0.16.1 "$@"
