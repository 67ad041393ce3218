#!/usr/bin/env bash
# Ensures the appliance's own PostgreSQL 15 cluster ("kyc", port 5433, unix socket in /var/run/postgresql)
# is created, configured and running, with the roles kyc_owner (schema owner) and kyc_app (runtime) and the
# database kyc. Local connections authenticate by peer with an ident map: the OS user running the appliance
# (root in development, kyc under systemd) may act as kyc_app and kyc_owner; root may also act as postgres
# (tests need a superuser for tamper checks). Idempotent: a second run changes nothing.
set -euo pipefail
version=15
cluster=kyc
port=${KYC_PG_PORT:-5433}
os_user=${KYC_PG_OS_USER:-root}
db=${KYC_PG_DATABASE:-kyc}
conf=/etc/postgresql/$version/$cluster

if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version $cluster"; then
  pg_createcluster "$version" "$cluster" --port "$port" -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  echo "created PostgreSQL cluster $version/$cluster on port $port"
fi

hba_marker="# kyc-appliance"
if ! grep -q "$hba_marker" "$conf/pg_hba.conf"; then
  tmp=$(mktemp)
  {
    echo "$hba_marker: local peer with ident map"
    echo "local   all   all   peer map=kyc"
    echo "host    all   all   127.0.0.1/32   scram-sha-256"
    echo "host    all   all   ::1/128        scram-sha-256"
  } > "$tmp"
  cat "$tmp" > "$conf/pg_hba.conf"
  rm -f "$tmp"
  {
    echo "$hba_marker"
    echo "kyc   postgres   postgres"
    echo "kyc   $os_user   kyc_app"
    echo "kyc   $os_user   kyc_owner"
    [ "$os_user" = root ] && echo "kyc   root   postgres"
  } > "$conf/pg_ident.conf"
  # Settings for an appliance database: bounded idle transactions so an abandoned request cannot hold locks.
  cat > "$conf/conf.d/kyc.conf" <<CONF
listen_addresses = 'localhost'
max_connections = 200
idle_in_transaction_session_timeout = '60s'
shared_buffers = '512MB'
CONF
  chown -R postgres:postgres "$conf"
  if pg_lsclusters -h | awk '$1=="'$version'" && $2=="'$cluster'" {print $4}' | grep -q online; then
    pg_ctlcluster "$version" "$cluster" restart
  fi
fi

if ! pg_lsclusters -h | awk '$1=="'$version'" && $2=="'$cluster'" {print $4}' | grep -q online; then
  pg_ctlcluster "$version" "$cluster" start
fi

psql_su() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" "$@"; }
psql_su -d postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kyc_owner') THEN CREATE ROLE kyc_owner LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kyc_app') THEN CREATE ROLE kyc_app LOGIN; END IF;
END
\$\$;
ALTER ROLE kyc_owner CREATEDB;
SQL
if ! psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  psql_su -d postgres -c "CREATE DATABASE $db OWNER kyc_owner"
  psql_su -d "$db" -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO kyc_owner; GRANT USAGE ON SCHEMA public TO kyc_app;"
  echo "created database $db"
fi
echo "PostgreSQL: cluster $version/$cluster online, socket /var/run/postgresql port $port, database $db"
