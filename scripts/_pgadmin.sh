# shellcheck shell=bash
# Sourced by backup.sh, restore.sh and backup_restore_check.sh: run a Postgres client
# program as an administrative role, on a named database.
#
# Backups and their checks must read every row. The application's role obeys row-level
# security, and without a tenant it sees no rows at all, so these scripts never use it:
# they connect as PGADMIN_URL (its database name is replaced by the one asked for), else
# as the local `postgres` superuser over TCP (the local server trusts it), else over the
# socket as `postgres` via runuser when run as root, else as the current user over the
# socket (as scripts/create_db_role.sh does).

# The database name in a postgres:// URL, or the argument itself if it is a plain name.
pg_database_name() {
  local value=$1
  if [[ $value =~ ^postgres(ql)?://[^/]*/([^?]*) ]]; then
    value=${BASH_REMATCH[2]}
  elif [[ $value =~ ^postgres(ql)?:// ]]; then
    value=""
  fi
  if [ -z "$value" ]; then
    echo "no database name in '$1'" >&2
    return 1
  fi
  printf '%s\n' "$value"
}

# PGADMIN_URL with its database replaced by $1.
pg_admin_url_for() {
  local db=$1
  if [[ $PGADMIN_URL =~ ^(postgres(ql)?://[^/?]*)(/[^?]*)?(\?.*)?$ ]]; then
    printf '%s/%s%s\n' "${BASH_REMATCH[1]}" "$db" "${BASH_REMATCH[4]}"
  else
    echo "PGADMIN_URL must be a postgres:// URL" >&2
    return 1
  fi
}

PG_ADMIN_MODE=""

pg_admin_detect() {
  if [ -n "${PGADMIN_URL:-}" ]; then
    PG_ADMIN_MODE=url
  elif psql -U postgres -h 127.0.0.1 -d postgres -qAtX -c 'SELECT 1' >/dev/null 2>&1; then
    PG_ADMIN_MODE=tcp
  elif [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
    PG_ADMIN_MODE=runuser
  else
    PG_ADMIN_MODE=local
  fi
}

# pg_admin PROGRAM DATABASE [ARGS...]: psql, pg_dump or pg_restore as the administrative
# role on DATABASE. Dumps go to stdout and restores read stdin, so a file is always
# opened by the caller (runuser's `postgres` need not be able to write it).
pg_admin() {
  local program=$1 db=$2
  shift 2
  [ -n "$PG_ADMIN_MODE" ] || pg_admin_detect
  case $PG_ADMIN_MODE in
    url) "$program" --dbname="$(pg_admin_url_for "$db")" "$@" ;;
    tcp) "$program" -U postgres -h 127.0.0.1 --dbname="$db" "$@" ;;
    runuser) runuser -u postgres -- "$program" --dbname="$db" "$@" ;;
    *) "$program" --dbname="$db" "$@" ;;
  esac
}

# admin_sql DATABASE [psql ARGS...]: unaligned, tuples only, no psqlrc, stop on error.
admin_sql() {
  local db=$1
  shift
  pg_admin psql "$db" -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}

# Refuse to go on unless the administrative role sees every row (superuser or BYPASSRLS).
pg_admin_require_all_rows() {
  local db=$1 sees_all
  sees_all=$(admin_sql "$db" -c \
    "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
  if [ "$sees_all" != t ]; then
    echo "the administrative role is neither superuser nor BYPASSRLS: row-level security" \
      "would hide rows from it. Set PGADMIN_URL to such a role." >&2
    return 1
  fi
}
