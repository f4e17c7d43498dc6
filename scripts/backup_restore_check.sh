#!/usr/bin/env bash
# Prove that a backup of the csplatform database restores: dump it with `pg_dump -Fc`,
# restore the dump into a scratch database (created here, dropped on exit, whatever
# happens), and compare the copy with the original:
#
#   - the same tables;
#   - the same number of rows in every table;
#   - row-level security: the same tables ENABLED and FORCED, with the same policies
#     (and every table with the tenant policy is still ENABLED and FORCED);
#   - the same migrations recorded in django_migrations;
#   - the same content (an md5 over every row) in a few key tables;
#   - in the copy, every sequence ahead of the largest id it gave out.
#
# Prints PASS or FAIL; exits non-zero on any difference.
#
# Usage: scripts/backup_restore_check.sh [DATABASE_URL | DATABASE_NAME]
#   default: $DATABASE_URL, else the application's database `csplatform`. Only the
#   database name is used: the script connects as an administrative role (PGADMIN_URL,
#   else the local `postgres` superuser; see scripts/_pgadmin.sh), because the
#   application's role obeys row-level security and sees no rows without a tenant.
#
# The original is read in one snapshot, which pg_dump shares, so the check holds on a
# database in use: rows written while it runs are in neither side.
#
# Environment:
#   PGADMIN_URL             administrative connection (superuser or BYPASSRLS)
#   CHECKSUM_TABLES         tables whose content is compared (space- or comma-separated,
#                           or `all`); default: organizations, users, memberships,
#                           accounts, contacts, subscriptions, survey responses, migrations
#   BACKUP_CHECK_DIR        where the dump is written (default: a temporary directory,
#                           removed on exit unless KEEP_DUMP=1)
#   KEEP_DUMP=1             keep the dump file
#   RESTORE_CHECK_TAMPER_SQL  FOR THE TEST SUITE ONLY: SQL run in the scratch copy after
#                           the restore, to prove that the check catches a difference
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/_pgadmin.sh
source "$here/_pgadmin.sh"

SOURCE_DB=$(pg_database_name "${1:-${DATABASE_URL:-csplatform}}")
SCRATCH_DB="restore_check_$(date -u +%Y%m%d%H%M%S)_$$_${RANDOM}"
DEFAULT_CHECKSUM_TABLES="accounts_organization accounts_user accounts_membership
  accounts_account accounts_contact accounts_subscription surveys_response django_migrations"
CHECKSUM_TABLES=${CHECKSUM_TABLES:-$DEFAULT_CHECKSUM_TABLES}

work=$(mktemp -d)
dump_dir=${BACKUP_CHECK_DIR:-$work}
dump_file="$dump_dir/$SOURCE_DB-$(date -u +%Y%m%dT%H%M%SZ).dump"
scratch_created=0
snapshot_pid=""
failures=()

step() { printf '\n== [%3d s] %s\n' "$SECONDS" "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
mismatch() {
  printf '   MISMATCH: %s\n' "$*"
  failures+=("$*")
}

cleanup() {
  local status=$?
  if [ -n "$snapshot_pid" ] && kill -0 "$snapshot_pid" 2>/dev/null; then
    kill "$snapshot_pid" 2>/dev/null || true
    wait "$snapshot_pid" 2>/dev/null || true
  fi
  if [ "$scratch_created" = 1 ]; then
    if admin_sql postgres -v db="$SCRATCH_DB" >/dev/null <<'SQL'; then
SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'db') \gexec
SQL
      printf 'Dropped the scratch database %s.\n' "$SCRATCH_DB"
    else
      printf 'WARNING: could not drop the scratch database %s; drop it by hand.\n' \
        "$SCRATCH_DB" >&2
    fi
  fi
  if [ "${KEEP_DUMP:-0}" = 1 ]; then
    printf 'The dump is kept: %s\n' "$dump_file"
  elif [ -f "$dump_file" ]; then
    rm -f "$dump_file"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every inspection runs with the same settings on both sides, so a row prints the same.
PRELUDE="SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';
SET extra_float_digits = 3; SET row_security = off;"

USER_TABLES="FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema'
    AND n.nspname NOT LIKE 'pg\_%'"

TABLES_SQL="SELECT format('%I.%I', n.nspname, c.relname) $USER_TABLES ORDER BY 1"

COUNTS_SQL="SELECT format('%I.%I', n.nspname, c.relname) || ' ' || (xpath('/row/n/text()',
    query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),
                 false, true, '')))[1]::text
  $USER_TABLES ORDER BY 1"

RLS_SQL="SELECT format('%I.%I', n.nspname, c.relname)
    || CASE WHEN c.relrowsecurity THEN ' ENABLED' ELSE ' disabled' END
    || CASE WHEN c.relforcerowsecurity THEN ' FORCED' ELSE ' not-forced' END
    || coalesce((SELECT string_agg(format(' policy %s for %s %s to %s using (%s) check (%s)',
                   p.polname, p.polcmd,
                   CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END,
                   (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END,
                                      ',' ORDER BY 1) FROM unnest(p.polroles) AS r),
                   pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)),
                 ';' ORDER BY p.polname)
                 FROM pg_policy p WHERE p.polrelid = c.oid), ' no policy')
  $USER_TABLES
    AND (c.relrowsecurity OR c.relforcerowsecurity
         OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
  ORDER BY 1"

# In the copy: tables with the tenant policy, and those of them both ENABLED and FORCED.
TENANT_POLICY_SQL="SELECT count(*) || ' ' || count(*) FILTER (WHERE c.relrowsecurity
                                                        AND c.relforcerowsecurity)
  $USER_TABLES AND EXISTS (SELECT 1 FROM pg_policy p
                           WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')"

MIGRATIONS_SQL="SELECT app || '.' || name FROM django_migrations ORDER BY app, name"

# In the copy: a sequence behind its column's largest value would collide on the next insert.
SEQUENCES_SQL="SELECT format('%I.%I.%I', n.nspname, t.relname, a.attname)
    || ' largest=' || coalesce(m.largest::text, 'none')
    || ' sequence=' || coalesce(s.last_value::text, 'unused')
  FROM pg_depend d
  JOIN pg_class q ON q.oid = d.objid AND q.relkind = 'S'
  JOIN pg_sequences s ON s.schemaname = q.relnamespace::regnamespace::text
                     AND s.sequencename = q.relname
  JOIN pg_class t ON t.oid = d.refobjid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
  CROSS JOIN LATERAL (SELECT (xpath('/row/m/text()', query_to_xml(
      format('SELECT max(%I) AS m FROM %I.%I', a.attname, n.nspname, t.relname),
      false, true, '')))[1]::text::numeric AS largest) AS m
  WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
    AND d.deptype IN ('a', 'i')
    AND m.largest IS NOT NULL AND (s.last_value IS NULL OR s.last_value < m.largest)
  ORDER BY 1"

# Content: per table, an md5 over the md5 of every row in order, and the row count.
CHECKSUMS_SQL="SELECT t.name || ' ' || CASE WHEN to_regclass(t.name) IS NULL THEN 'missing' ELSE
    (xpath('/row/h/text()', query_to_xml(format(
      'SELECT md5(coalesce(string_agg(h, %L ORDER BY h), %L)) || %L || count(*) AS h
       FROM (SELECT md5(x::text) AS h FROM %s AS x) AS r', '', '', ' ', t.name),
      false, true, '')))[1]::text END
  FROM (SELECT unnest(string_to_array(:'checksum_tables', ' ')) AS name
        WHERE :'checksum_tables' <> 'all'
        UNION
        SELECT format('%I.%I', n.nspname, c.relname) $USER_TABLES
          AND :'checksum_tables' = 'all') AS t
  ORDER BY 1"

# inspect SIDE DATABASE [SNAPSHOT]: every query above in one transaction (in SNAPSHOT if
# given), each one's rows in $work/SIDE.NAME.
inspect() {
  local side=$1 db=$2 snapshot=${3:-} begin="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
  if [ -n "$snapshot" ]; then
    begin="$begin SET TRANSACTION SNAPSHOT '$snapshot';"
  fi
  admin_sql "$db" -v checksum_tables="$checksum_list" -v side="$side" >"$work/$side.all" <<SQL
$begin
$PRELUDE
SELECT to_regclass('public.django_migrations') IS NOT NULL AS has_migrations,
       :'side' = 'restore' AS check_sequences \gset
\echo '@@ tables'
$TABLES_SQL;
\echo '@@ counts'
$COUNTS_SQL;
\echo '@@ rls'
$RLS_SQL;
\echo '@@ tenant_policy'
$TENANT_POLICY_SQL;
\echo '@@ migrations'
\if :has_migrations
$MIGRATIONS_SQL;
\endif
\echo '@@ checksums'
$CHECKSUMS_SQL;
\echo '@@ sequences'
\if :check_sequences
$SEQUENCES_SQL;
\endif
COMMIT;
SQL
  awk -v prefix="$work/$side." '/^@@ / {file = prefix $2; printf "" >file; next}
                                {print >file}' "$work/$side.all"
}

# compare NAME: the same output on both sides, else show the difference.
compare() {
  local name=$1 what=$2
  if diff -u --label "original" --label "restored copy" \
    "$work/source.$name" "$work/restore.$name" >"$work/diff.$name"; then
    ok "$what: $(wc -l <"$work/source.$name" | tr -d ' ') identical"
  else
    mismatch "$what differ"
    sed -n '3,42p' "$work/diff.$name" | sed 's/^/      /'
  fi
}

# --- 1. Dump -------------------------------------------------------------------------

pg_admin_detect
step "Source database: $SOURCE_DB (administrative connection: $PG_ADMIN_MODE)"
if [ -z "$(admin_sql postgres -v db="$SOURCE_DB" <<'SQL'
SELECT 1 FROM pg_database WHERE datname = :'db'
SQL
)" ]; then
  echo "FAIL: there is no database named '$SOURCE_DB'." >&2
  exit 2
fi
pg_admin_require_all_rows "$SOURCE_DB" || exit 2
owner=$(admin_sql postgres -v db="$SOURCE_DB" <<'SQL'
SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'db'
SQL
)

# One snapshot for pg_dump and for reading the original: an open transaction exports it.
coproc SNAPSHOT_SESSION { admin_sql "$SOURCE_DB" 2>"$work/snapshot.err"; }
snapshot_pid=$SNAPSHOT_SESSION_PID
snapshot_in=${SNAPSHOT_SESSION[1]}
snapshot_out=${SNAPSHOT_SESSION[0]}
printf '%s\n' "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;" \
  "SELECT pg_export_snapshot();" >&"$snapshot_in"
snapshot=""
read -r -t 60 snapshot <&"$snapshot_out" || true
if ! [[ $snapshot =~ ^[0-9A-Fa-f]+-[0-9A-Fa-f]+-[0-9]+$ ]]; then
  echo "FAIL: could not export a snapshot of $SOURCE_DB: $snapshot $(cat "$work/snapshot.err")" >&2
  exit 2
fi
ok "reading the original in snapshot $snapshot"

step "Dumping with pg_dump -Fc to $dump_file"
mkdir -p "$dump_dir"
started=$SECONDS
pg_admin pg_dump "$SOURCE_DB" --format=custom --snapshot="$snapshot" --no-password \
  >"$dump_file"
ok "$(du -h "$dump_file" | cut -f1) in $((SECONDS - started)) s;" \
  "$(pg_restore --list "$dump_file" | grep -c ' POLICY ' || true) row-level security" \
  "policies and $(pg_restore --list "$dump_file" | grep -c ' TABLE DATA ' || true) tables' data in it"

step "Reading the original"
checksum_list=""
for table in ${CHECKSUM_TABLES//,/ }; do
  [[ $table == *.* || $table == all ]] || table="public.$table"
  checksum_list="${checksum_list:+$checksum_list }$table"
done
inspect source "$SOURCE_DB" "$snapshot"
if [ ! -s "$work/source.migrations" ]; then
  mismatch "the original has no migrations recorded: is '$SOURCE_DB' a csplatform database?"
fi
# A table named for a checksum that the original lacks is left out on both sides.
grep ' missing$' "$work/source.checksums" | sed 's/^\([^ ]*\) missing$/   (no table \1 to checksum)/' \
  || true
grep -v ' missing$' "$work/source.checksums" >"$work/source.checksums.kept" || true
mv "$work/source.checksums.kept" "$work/source.checksums"
printf '%s\n' "COMMIT;" '\q' >&"$snapshot_in"
wait "$snapshot_pid" || true
snapshot_pid=""
ok "$(wc -l <"$work/source.tables" | tr -d ' ') tables," \
  "$(awk '{n += $2} END {print n + 0}' "$work/source.counts") rows," \
  "$(grep -c ' ENABLED' "$work/source.rls" || true) tables under row-level security"

# --- 2. Restore ----------------------------------------------------------------------

step "Restoring into the scratch database $SCRATCH_DB (owner $owner)"
admin_sql postgres -v db="$SCRATCH_DB" -v owner="$owner" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0', :'db', :'owner') \gexec
SQL
scratch_created=1
started=$SECONDS
pg_admin pg_restore "$SCRATCH_DB" --exit-on-error --no-password <"$dump_file"
ok "restored in $((SECONDS - started)) s"

if [ -n "${RESTORE_CHECK_TAMPER_SQL:-}" ]; then
  step "TEST ONLY: tampering with the restored copy: $RESTORE_CHECK_TAMPER_SQL"
  admin_sql "$SCRATCH_DB" -c "$RESTORE_CHECK_TAMPER_SQL" >/dev/null
fi

# --- 3. Compare ----------------------------------------------------------------------

step "Comparing the restored copy with the original"
inspect restore "$SCRATCH_DB"
# Only the tables checksummed in the original (named ones it lacks were left out).
awk 'NR == FNR {kept[$1]; next} $1 in kept' "$work/source.checksums" "$work/restore.checksums" \
  >"$work/restore.checksums.kept" || true
mv "$work/restore.checksums.kept" "$work/restore.checksums"

compare tables "tables"
compare counts "row counts per table"
compare rls "row-level security (enabled, forced, policies) per table"
read -r with_policy enforced <"$work/restore.tenant_policy"
if [ "$with_policy" -gt 0 ] && [ "$with_policy" = "$enforced" ]; then
  ok "all $with_policy tables with the tenant policy are ENABLED and FORCED in the copy"
else
  mismatch "$((with_policy - enforced)) of $with_policy tables with the tenant policy are" \
    "not both ENABLED and FORCED in the copy (or there are none)"
fi
compare migrations "migrations recorded in django_migrations"
compare checksums "content checksums (md5 of every row), tables"
if [ -s "$work/restore.sequences" ]; then
  mismatch "sequences behind their column's largest value in the copy"
  sed 's/^/      /' "$work/restore.sequences"
else
  ok "every sequence in the copy is ahead of the ids it gave out"
fi

echo
if [ ${#failures[@]} -eq 0 ]; then
  echo "PASS: the backup of $SOURCE_DB restores to an identical database."
else
  echo "FAIL: the restored copy of $SOURCE_DB differs from the original (${#failures[@]}):"
  printf '  - %s\n' "${failures[@]}"
  exit 1
fi
