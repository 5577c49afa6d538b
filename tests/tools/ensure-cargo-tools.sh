#!/usr/bin/env bash
# Installs the pinned dependency-hygiene tools if they are missing or at
# another version: cargo-deny (advisories, licences, duplicate versions,
# sources) and cargo-machete (unused dependencies). Built from crates.io with
# their own lock files (--locked), into $CARGO_HOME/bin.
#
# The RustSec advisory database lives on github.com, which CI's network does
# not reach. When cargo-deny cannot fetch it, a local git copy is used:
# $SIGSTEAD_ADVISORY_DB (a clone of github.com/rustsec/advisory-db) is copied
# to where cargo-deny looks. With neither, the advisories check fails (it
# never passes without a database); tests/run prints which copy was used and
# how old its newest advisory is.
set -euo pipefail
DENY_VERSION=0.20.2
MACHETE_VERSION=0.9.2
have() { "$@" 2>/dev/null | grep -q .; }
if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $DENY_VERSION"; then
    cargo install --locked --quiet "cargo-deny@$DENY_VERSION"
fi
if ! cargo machete --version 2>/dev/null | grep -q "$MACHETE_VERSION"; then
    cargo install --locked --quiet "cargo-machete@$MACHETE_VERSION"
fi
cargo deny --version
echo "cargo-machete $(cargo machete --version 2>/dev/null)"
