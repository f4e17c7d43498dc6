#!/usr/bin/env bash
# Restore a `pg_dump -Fc` file (scripts/backup.sh) into a NEW database.
#
# Usage: scripts/restore.sh DUMP_FILE NEW_DATABASE_NAME [OWNER]
#   OWNER (default $APP_DB_ROLE, else `csplatform`) owns the new database; the dump
#   makes the same role own the tables, so that role must exist on this server first
#   (scripts/create_db_role.sh creates it, NOSUPERUSER NOBYPASSRLS).
#
# Never touches an existing database: it refuses if NEW_DATABASE_NAME exists. Once it
# is restored (and checked), point DATABASE_URL at it, or stop the app and rename the
# databases (see docs/operations.md, Restore). Connects as an administrative role
# (PGADMIN_URL, else the local `postgres` superuser; see scripts/_pgadmin.sh).
# RESTORE_JOBS=N restores with N parallel jobs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/_pgadmin.sh
source "$here/_pgadmin.sh"

if [ $# -lt 2 ]; then
  sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
dump=$1
db=$2
owner=${3:-${APP_DB_ROLE:-csplatform}}
[ -r "$dump" ] || { echo "cannot read $dump" >&2; exit 2; }
pg_restore --list "$dump" >/dev/null # a readable custom-format dump, or stop here

if [ -n "$(admin_sql postgres -v db="$db" <<<"SELECT 1 FROM pg_database WHERE datname = :'db'")" ]; then
  echo "database '$db' exists: restore into a new name, then switch (docs/operations.md)" >&2
  exit 1
fi
if [ -z "$(admin_sql postgres -v role="$owner" <<<"SELECT 1 FROM pg_roles WHERE rolname = :'role'")" ]; then
  echo "role '$owner' does not exist: run scripts/create_db_role.sh first" >&2
  exit 1
fi

admin_sql postgres -v db="$db" -v owner="$owner" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0', :'db', :'owner') \gexec
SQL
echo "created database $db (owner $owner); restoring $dump"
trap 'echo "the restore FAILED: $db is incomplete; drop it before trying again" >&2' ERR
if [ -n "${RESTORE_JOBS:-}" ]; then
  # Parallel jobs need the file itself, so the administrative role must be able to read it.
  pg_admin pg_restore "$db" --exit-on-error --no-password --jobs="$RESTORE_JOBS" "$dump"
else
  pg_admin pg_restore "$db" --exit-on-error --no-password <"$dump"
fi
echo "restored into $db. Check it: psql … -c 'SELECT count(*) FROM django_migrations'," \
  "then point DATABASE_URL at it and run manage.py migrate (a no-op if the code matches)."
