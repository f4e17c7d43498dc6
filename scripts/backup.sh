#!/usr/bin/env bash
# Back up the csplatform database: one `pg_dump -Fc` file, named by database and UTC time.
#
# Usage: scripts/backup.sh [DATABASE_URL | DATABASE_NAME] [DIRECTORY]
#   default database: $DATABASE_URL, else `csplatform`; default directory:
#   $BACKUP_DIR, else ./backups. Prints the file's path.
#
# Connects as an administrative role (PGADMIN_URL, else the local `postgres`
# superuser; see scripts/_pgadmin.sh): the application's role obeys row-level security
# and would dump no tenant's rows. The file holds the whole database: schema, every
# tenant's rows, the row-level security policies, django_migrations. It is written
# under a temporary name and renamed when complete, so a file with the final name is
# never a partial dump. BACKUP_KEEP_DAYS=N deletes this database's dumps in the
# directory older than N days after a successful backup.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/_pgadmin.sh
source "$here/_pgadmin.sh"

db=$(pg_database_name "${1:-${DATABASE_URL:-csplatform}}")
dir=${2:-${BACKUP_DIR:-backups}}
mkdir -p "$dir"
file="$dir/$db-$(date -u +%Y%m%dT%H%M%SZ).dump"

pg_admin_require_all_rows "$db"
trap 'rm -f "$file.partial"' EXIT
pg_admin pg_dump "$db" --format=custom --no-password >"$file.partial"
mv "$file.partial" "$file"
echo "$file"

if [ -n "${BACKUP_KEEP_DAYS:-}" ]; then
  find "$dir" -maxdepth 1 -name "$db-*.dump" -mtime "+$BACKUP_KEEP_DAYS" -print -delete \
    | sed 's/^/deleted old backup: /' >&2
fi
