#!/usr/bin/env bash
# ensure-postgres.sh: make sure a PostgreSQL server answers on 127.0.0.1:5432
# with trust authentication for the user `postgres`. Starts an installed
# cluster, or installs Debian's postgresql package and starts it (needs root).
set -euo pipefail

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; }

if command -v pg_isready >/dev/null && ready; then
    exit 0
fi

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "ensure-postgres: installing PostgreSQL from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql postgresql-client >/dev/null
fi

ver="$(ls /etc/postgresql | sort -V | tail -1)"
conf="/etc/postgresql/$ver/main"
# Loopback only, trust auth: this server exists for tests.
grep -q "^listen_addresses = '127.0.0.1'" "$conf/postgresql.conf" || echo "listen_addresses = '127.0.0.1'" >> "$conf/postgresql.conf"
if ! grep -q "sigstead-tests" "$conf/pg_hba.conf"; then
    { echo "# sigstead-tests: trust on loopback"
      echo "host all all 127.0.0.1/32 trust"
      echo "local all all trust"; cat "$conf/pg_hba.conf"; } > "$conf/pg_hba.conf.new"
    mv "$conf/pg_hba.conf.new" "$conf/pg_hba.conf"
fi
pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || pg_ctlcluster --skip-systemctl-redirect "$ver" main reload || true
for _ in $(seq 60); do ready && exit 0; sleep 0.5; done
echo "ensure-postgres: PostgreSQL did not come up on 127.0.0.1:5432" >&2
exit 1
