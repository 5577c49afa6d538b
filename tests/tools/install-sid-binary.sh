#!/usr/bin/env bash
# install-sid-binary.sh PACKAGE VERSION DEST_DIR
#
# Puts the binary PACKAGE (at upstream VERSION) at DEST_DIR/PACKAGE, taken from
# Debian's unstable suite (sid). The .deb is fetched with apt through a
# throwaway source list and only extracted (dpkg -x); nothing from sid is ever
# installed system-wide, and the machine's own apt state (lists, caches) is
# left untouched. The mirror URI is read from the machine's own apt sources.
#
# Version check: Debian builds these Go tools without the release ldflags, so
# the binary may report "devel"; the .deb's own version (control field and
# Debian changelog) must be VERSION-*, and the binary must report vVERSION or
# devel. Writes DEST_DIR/PACKAGE.version ("<debian version> <sha256>").
#
# Idempotent: does nothing when DEST_DIR/PACKAGE is already that binary (stamp
# file matches its sha256) or itself reports vVERSION.
#
# Used by install-cosign.sh and install-gitsign.sh.
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 PACKAGE VERSION DEST_DIR" >&2; exit 2; }
WANT_VERSION="$2"
PKG="$1"
shift 2

die() { echo "install-$PKG: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 DEST_DIR"
DEST="$1"
mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)"
STAMP="$DEST/$PKG.version"

# Prints the version the binary reports (e.g. "v3.1.1" or "devel"):
# cosign prints "GitVersion: <v>", gitsign "gitsign version <v>".
tool_version() {
    case "$PKG" in
        cosign) "$1" version 2>/dev/null | awk '/^GitVersion:/ {print $2; exit}' ;;
        gitsign) "$1" --version 2>/dev/null | awk '/^gitsign version/ {print $3; exit}' ;;
        *) "$1" --version 2>/dev/null | head -n1 ;;
    esac
}

if [ -x "$DEST/$PKG" ]; then
    have="$(tool_version "$DEST/$PKG" || true)"
    if [ "$have" = "v$WANT_VERSION" ]; then
        echo "install-$PKG: $DEST/$PKG is already $have"
        exit 0
    fi
    if [ -n "$have" ] && [ -f "$STAMP" ]; then
        read -r stamp_ver stamp_sum < "$STAMP" || true
        sum="$(sha256sum "$DEST/$PKG" | awk '{print $1}')"
        case "$stamp_ver" in
            "$WANT_VERSION"-*)
                if [ "$stamp_sum" = "$sum" ]; then
                    echo "install-$PKG: $DEST/$PKG is already Debian $stamp_ver ($PKG version: $have)"
                    exit 0
                fi ;;
        esac
    fi
fi

# ---------------------------------------------------------------- mirror URI
# Finds the URI of the main Debian archive (not debian-security, not a third-party
# repository) among the machine's apt sources.
find_mirror() {
    local f
    # deb822 files
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && suites ~ /(^| )(bookworm|trixie|forky|stable|testing|sid|unstable)( |$)/ &&
                    signed !~ /nodesource|google/ && enabled !~ /^no$/) {
                    n = split(uris, u, " ")
                    for (i = 1; i <= n; i++) if (u[i] !~ /security/) print u[i]
                }
                types = ""; uris = ""; suites = ""; signed = ""; enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            {
                key = $1; sub(/:$/, "", key); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                key = tolower(key)
                if (key == "types") types = val
                else if (key == "uris") uris = val
                else if (key == "suites") suites = val
                else if (key == "signed-by") signed = val
                else if (key == "enabled") enabled = val
            }
            END { flush() }
        ' "$f"
    done
    # one-line format
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '
            /^[ \t]*#/ { next }
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
                uri = $i; suite = $(i + 1)
                if (uri !~ /security/ && suite ~ /^(bookworm|trixie|forky|stable|testing|sid|unstable)(-updates)?$/) print uri
            }
        ' "$f"
    done
}

MIRROR="$(find_mirror | grep -E '/debian/?$' | head -n1 || true)"
[ -n "$MIRROR" ] || MIRROR="$(find_mirror | head -n1 || true)"
[ -n "$MIRROR" ] || die "no Debian mirror URI found in the machine's apt sources"
echo "install-$PKG: using Debian mirror $MIRROR (suite sid) for $PKG $WANT_VERSION"

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$KEYRING" ] || die "$KEYRING missing (package debian-archive-keyring)"

# ---------------------------------------------------------------- fetch
D="$(mktemp -d)"
trap 'rm -rf "$D"' EXIT
mkdir -p "$D/parts" "$D/lists/partial" "$D/cache/archives/partial" "$D/x" "$D/dl"
chmod 755 "$D" "$D/dl"   # lets apt's _apt sandbox user write the download
printf 'Types: deb\nURIs: %s\nSuites: sid\nComponents: main\nSigned-By: %s\n' \
    "$MIRROR" "$KEYRING" > "$D/parts/sid.sources"

# Everything apt reads or writes is redirected into $D: its own source list,
# lists, package caches and preferences, so the system's apt state is not touched.
APT=(
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=$D/parts"
    -o "Dir::Etc::Preferences=/dev/null"
    -o "Dir::Etc::PreferencesParts=$D/parts"
    -o "Dir::State::Lists=$D/lists"
    -o "Dir::Cache=$D/cache"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
    -o "APT::Get::List-Cleanup=0"
    -o "Acquire::Languages=none"
    -o "Debug::NoLocking=1"
)

apt-get "${APT[@]}" -q update >"$D/update.log" 2>&1 \
    || { cat "$D/update.log" >&2; die "apt-get update of the throwaway sid source failed"; }

# Pick the sid package version that is upstream $WANT_VERSION (e.g. 3.1.1-2).
debver="$(apt-cache "${APT[@]}" madison "$PKG" 2>/dev/null \
            | awk -F'|' '{gsub(/ /, "", $2); print $2}' \
            | grep -E "^([0-9]+:)?${WANT_VERSION//./\\.}-" | head -n1 || true)"
[ -n "$debver" ] || {
    apt-cache "${APT[@]}" madison "$PKG" >&2 || true
    die "Debian sid does not carry $PKG $WANT_VERSION (see the versions above)"
}
echo "install-$PKG: downloading $PKG=$debver"

(cd "$D/dl" && apt-get "${APT[@]}" -q download "$PKG=$debver") >"$D/download.log" 2>&1 \
    || { cat "$D/download.log" >&2; die "apt-get download $PKG=$debver failed"; }

deb="$(ls "$D"/dl/${PKG}_*.deb 2>/dev/null | head -n1 || true)"
[ -n "$deb" ] || die "no .deb downloaded"
dpkg -x "$deb" "$D/x"
[ -x "$D/x/usr/bin/$PKG" ] || die "the .deb has no usr/bin/$PKG"

# Version check (see the header): the package's own version, its Debian changelog
# and what the binary says about itself.
ctl_ver="$(dpkg-deb -f "$deb" Version)"
chl_ver="$(zcat "$D/x/usr/share/doc/$PKG/changelog.Debian.gz" 2>/dev/null | head -n1 | sed -n "s/^$PKG (\\([^)]*\\)).*/\\1/p")"
got="$(tool_version "$D/x/usr/bin/$PKG" || true)"
case "$ctl_ver" in "$WANT_VERSION"-*) ;; *) die "package version is '$ctl_ver', want $WANT_VERSION-*" ;; esac
[ "$chl_ver" = "$ctl_ver" ] || die "Debian changelog says '$chl_ver', control says '$ctl_ver'"
case "$got" in
    "v$WANT_VERSION"|devel) ;;
    *) "$D/x/usr/bin/$PKG" --version >&2 || true; die "extracted $PKG reports '$got', want v$WANT_VERSION (or devel for a Debian build)" ;;
esac

install -m 0755 "$D/x/usr/bin/$PKG" "$DEST/$PKG.tmp.$$"
mv -f "$DEST/$PKG.tmp.$$" "$DEST/$PKG"
echo "$ctl_ver $(sha256sum "$DEST/$PKG" | awk '{print $1}')" > "$STAMP"
echo "install-$PKG: installed $DEST/$PKG (Debian $ctl_ver; $PKG version: $got)"
