#!/usr/bin/env bash
# cargo deny check over the workspace (policy: deny.toml).
#
# Advisories need the RustSec database (github.com/rustsec/advisory-db).
# When github.com answers, cargo-deny fetches it. When it does not (CI's
# network reaches only the package registries), an existing copy is used
# without fetching: the one cargo-deny fetched earlier into
# $CARGO_HOME/advisory-dbs, or a clone named by $SIGSTEAD_ADVISORY_DB that is
# copied there first. The date of the newest commit in the copy is printed,
# so a stale database is visible in the log. With no copy at all, the
# advisories check fails rather than pass unchecked.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export CARGO_HOME
DB_DIR="$CARGO_HOME/advisory-dbs"
args=()
if timeout 10 git ls-remote https://github.com/rustsec/advisory-db HEAD >/dev/null 2>&1; then
    echo "advisory database: fetched from github.com/rustsec/advisory-db"
else
    existing="$(find "$DB_DIR" -maxdepth 2 -name .git -type d 2>/dev/null | head -1 || true)"
    if [ -z "$existing" ] && [ -n "${SIGSTEAD_ADVISORY_DB:-}" ] && [ -d "$SIGSTEAD_ADVISORY_DB" ]; then
        # cargo-deny keeps the default database in advisory-dbs/<name>-<hash of its URL>;
        # ask it for that name by letting one offline run fail, then copy the clone there.
        name="$(cargo deny --offline check advisories 2>&1 | grep -o 'advisory-dbs/[^/"'"'"' ]*' | head -1 || true)"
        name="${name#advisory-dbs/}"
        [ -n "$name" ] || name="advisory-db-3157b0e258782691"
        mkdir -p "$DB_DIR"
        git clone --quiet "$SIGSTEAD_ADVISORY_DB" "$DB_DIR/$name"
        existing="$DB_DIR/$name/.git"
    fi
    if [ -z "$existing" ]; then
        echo "advisory database: github.com is unreachable and no local copy exists" \
             "(set SIGSTEAD_ADVISORY_DB to a clone of github.com/rustsec/advisory-db)" >&2
        exit 1
    fi
    repo="$(dirname "$existing")"
    echo "advisory database: local copy $repo, newest advisory commit $(git -C "$repo" log -1 --format=%cs)"
    args+=(--offline)
fi
cargo deny --locked "${args[@]}" check advisories bans licenses sources
