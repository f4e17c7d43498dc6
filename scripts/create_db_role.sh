#!/usr/bin/env bash
# Create the application's Postgres role and database if they are missing.
#
# The role is NOSUPERUSER NOBYPASSRLS on purpose: superusers and BYPASSRLS
# roles ignore row-level security, and RLS is half of tenant isolation.
# CREATEDB lets the test runner create its own test database.
#
# Connects as an administrative role: PGADMIN_URL, else the local `postgres`
# role over the socket (as `postgres` via sudo/su when run as root).
set -euo pipefail

APP_ROLE=${APP_DB_ROLE:-csplatform}
APP_PASSWORD=${APP_DB_PASSWORD:-csplatform}
APP_DB=${APP_DB_NAME:-csplatform}

admin_psql() {
  if [ -n "${PGADMIN_URL:-}" ]; then
    psql "$PGADMIN_URL" -v ON_ERROR_STOP=1 -qAt "$@"
  elif psql -U postgres -h 127.0.0.1 -d postgres -qAt -c 'select 1' >/dev/null 2>&1; then
    psql -U postgres -h 127.0.0.1 -d postgres -v ON_ERROR_STOP=1 -qAt "$@"
  elif [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
    runuser -u postgres -- psql -d postgres -v ON_ERROR_STOP=1 -qAt "$@"
  else
    psql -d postgres -v ON_ERROR_STOP=1 -qAt "$@"
  fi
}

admin_psql -v role="$APP_ROLE" -v password="$APP_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOBYPASSRLS CREATEDB NOCREATEROLE',
              :'role', :'password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I NOSUPERUSER NOBYPASSRLS CREATEDB', :'role') \gexec
SQL

if [ -z "$(admin_psql -c "SELECT 1 FROM pg_database WHERE datname = '$APP_DB'")" ]; then
  admin_psql -c "CREATE DATABASE \"$APP_DB\" OWNER \"$APP_ROLE\""
fi
echo "Postgres role '$APP_ROLE' (no superuser, no BYPASSRLS) and database '$APP_DB' are ready."
