"""scripts/backup_restore_check.sh dumps the test database, restores it into a scratch
database and proves the copy is the same; a copy made different on purpose fails it.

The script reads every tenant's rows as an administrative role (as the application's
role, without a tenant, row-level security would show it none), so the rows here are
committed: `transactional_db`.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.db import connection

from accounts.models import Role
from csplatform.tenancy import tenant_context
from tests.factories import (
    AccountFactory,
    ContactFactory,
    MembershipFactory,
    NoteFactory,
    OrganizationFactory,
    ResponseFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "backup_restore_check.sh"


@pytest.fixture
def two_organizations(transactional_db):
    for name in ("Acme", "Globex"):
        organization = OrganizationFactory(name=name)
        MembershipFactory(organization=organization, role=Role.OWNER)
        with tenant_context(organization):
            for _ in range(3):
                account = AccountFactory()
                ContactFactory(account=account)
                SubscriptionFactory(account=account)
                NoteFactory(account=account)
            ResponseFactory()
    return connection.settings_dict["NAME"]


def _check(database: str, tamper: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "RESTORE_CHECK_TAMPER_SQL"}
    if tamper:
        env["RESTORE_CHECK_TAMPER_SQL"] = tamper
    return subprocess.run(
        [str(SCRIPT), database], env=env, capture_output=True, text=True, timeout=120
    )


def _scratch_database_left(output: str) -> bool:
    match = re.search(r"scratch database (restore_check_\w+)", output)
    assert match, output
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [match[1]])
        return cursor.fetchone() is not None


def test_it_passes_when_the_restored_copy_matches_the_database(two_organizations):
    result = _check(two_organizations)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout
    assert "MISMATCH" not in result.stdout
    # Both tenants' rows were read, though the application's role sees none without a tenant.
    seeded = 2 * (3 * 4 + 1)  # accounts, contacts, subscriptions, notes; a response each
    assert int(re.search(r"(\d+) rows", result.stdout)[1]) >= seeded
    assert "tables with the tenant policy are ENABLED and FORCED" in result.stdout
    assert not _scratch_database_left(result.stdout)


# Each statement breaks the copy in one way; one run (a dump and a restore take seconds)
# shows that each check reports its own difference.
TAMPERING = {
    "a row deleted": "DELETE FROM accounts_note WHERE id = (SELECT min(id) FROM accounts_note)",
    "a value changed": "UPDATE accounts_account SET name = name || ' (changed)'"
    " WHERE id = (SELECT min(id) FROM accounts_account)",
    "RLS not forced": "ALTER TABLE accounts_subscription NO FORCE ROW LEVEL SECURITY",
    "the tenant policy dropped": "DROP POLICY tenant_isolation ON accounts_contact",
    "a migration forgotten": "DELETE FROM django_migrations"
    " WHERE id = (SELECT max(id) FROM django_migrations)",
    "a sequence set back": "SELECT setval('accounts_account_id_seq', 1)",
}


def test_it_fails_when_the_restored_copy_differs(two_organizations):
    result = _check(two_organizations, tamper="; ".join(TAMPERING.values()))
    out = result.stdout

    assert result.returncode == 1, out + result.stderr
    assert "FAIL: the restored copy" in out
    assert "row counts per table differ" in out
    assert re.search(r"^ +-public\.accounts_note 6$", out, re.MULTILINE)
    assert re.search(r"^ +\+public\.accounts_note 5$", out, re.MULTILINE)
    assert "content checksums (md5 of every row), tables differ" in out
    assert re.search(r"^ +\+public\.accounts_account [0-9a-f]{32} \d+$", out, re.MULTILINE)
    assert "row-level security (enabled, forced, policies) per table differ" in out
    assert "+public.accounts_subscription ENABLED not-forced policy tenant_isolation" in out
    assert "+public.accounts_contact ENABLED FORCED no policy" in out
    assert re.search(r"1 of \d+ tables with the tenant policy are not both ENABLED and FORCED", out)
    assert "migrations recorded in django_migrations differ" in out
    assert "public.accounts_account.id largest=" in out
    assert not _scratch_database_left(out)


def test_it_fails_for_a_database_that_does_not_exist(transactional_db):
    result = _check("no_such_database_for_the_backup_check")

    assert result.returncode == 2
    assert "no database named" in result.stderr
