"""A GET never writes: every page of accounts (the organization's settings under
/o/<org_slug>/, and the site-wide ones: home, organization switcher, invitation,
sign-in) answers a GET without an INSERT, UPDATE or DELETE.

Mail scanners and link previews open every URL they see; a page that wrote on a GET
would let them change data. The pages are found by walking the URL resolver, so a new
accounts page is covered without anyone remembering.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tokens import make_invitation_token
from csplatform.tenancy import tenant_context
from tests.factories import MemberInvitationFactory
from tests.url_catalogue import ORG_ROUTES, objects_of, org_url

ACCOUNTS_ORG_ROUTES = [route for route in ORG_ROUTES if route.name.startswith("accounts:")]

# The import preview validates the file against the database in a savepoint that it
# rolls back (csplatform.imports.import_file's dry run): its statements write nothing
# that survives, which `_surviving_writes` checks instead of "no write statement".
ROLLED_BACK_DRY_RUNS = {"accounts:import_preview"}

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY\s+\S+\s+FROM)\b", re.I)
SAVEPOINT = re.compile(r'^\s*SAVEPOINT\s+"?(\w+)"?', re.I)
RELEASE = re.compile(r'^\s*RELEASE\s+SAVEPOINT\s+"?(\w+)"?', re.I)
ROLLBACK_TO = re.compile(r'^\s*ROLLBACK\s+TO\s+SAVEPOINT\s+"?(\w+)"?', re.I)


def _writes(captured) -> list[str]:
    return [query["sql"] for query in captured if WRITE.match(query["sql"])]


def _surviving_writes(captured) -> list[str]:
    """The write statements not undone by a ROLLBACK TO SAVEPOINT after them.

    Postgres: ROLLBACK TO s undoes what ran since s (and drops later savepoints) but
    keeps s; RELEASE s keeps what ran since s, in the enclosing savepoint.
    """
    kept: list[str] = []
    stack: list[tuple[str, list[str]]] = []  # (savepoint, the writes since it)

    def writes_of_enclosing() -> list[str]:
        return stack[-1][1] if stack else kept

    for query in captured:
        sql = query["sql"]
        if match := SAVEPOINT.match(sql):
            stack.append((match[1], []))
        elif match := RELEASE.match(sql):
            while stack:
                name, writes = stack.pop()
                writes_of_enclosing().extend(writes)
                if name == match[1]:
                    break
        elif match := ROLLBACK_TO.match(sql):
            while stack[-1][0] != match[1]:
                stack.pop()
            stack[-1][1].clear()
        elif WRITE.match(sql):
            writes_of_enclosing().append(sql)
    for _name, writes in stack:
        kept.extend(writes)
    return kept


def test_it_knows_every_accounts_page():
    names = {route.name for route in ACCOUNTS_ORG_ROUTES}
    assert {"accounts:members", "accounts:audit_log", "accounts:privacy"} <= names
    assert names >= ROLLED_BACK_DRY_RUNS


@pytest.mark.parametrize("route", ACCOUNTS_ORG_ROUTES, ids=lambda route: route.name)
def test_it_writes_nothing_on_a_get_of_an_organization_page(route, team, signed_in):
    objects = objects_of(team.organization, "reader")
    url = org_url(route, objects, org_slug=team.organization.slug)
    client = signed_in(team.owner)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code in {200, 302, 405}, (route.name, response.status_code)
    if route.name in ROLLED_BACK_DRY_RUNS:
        assert _surviving_writes(captured) == [], route.name
    else:
        assert _writes(captured) == [], route.name


def _writes_on_get(client, urls) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        for url in urls:
            assert client.get(url).status_code in {200, 302}, url
    return _writes(captured)


def _invitation_link(invitation) -> str:
    token = make_invitation_token(
        organization_id=invitation.organization_id, invitation_id=invitation.pk
    )
    return reverse("invitation_accept", args=[token])


def test_it_writes_nothing_on_a_get_of_a_site_wide_page(team, signed_in, client):
    with tenant_context(team.organization):
        to_a_member = _invitation_link(MemberInvitationFactory(email=team.viewer.email))
        to_a_newcomer = _invitation_link(MemberInvitationFactory(email="newcomer@example.com"))
    anonymous = [reverse("login"), to_a_member, to_a_newcomer]
    assert _writes_on_get(client, anonymous) == []
    member = [reverse("home"), reverse("organization_list"), to_a_member]
    assert _writes_on_get(signed_in(team.viewer), member) == []


def test_it_tells_a_write_undone_by_a_savepoint_from_one_that_stays():
    def sql(*statements):
        return [{"sql": statement} for statement in statements]

    undone = sql(
        'SAVEPOINT "s1"',
        "INSERT INTO t VALUES (1)",
        'SAVEPOINT "s2"',
        "INSERT INTO t VALUES (2)",
        'ROLLBACK TO SAVEPOINT "s1"',
        'RELEASE SAVEPOINT "s1"',
    )
    kept = sql(
        'SAVEPOINT "s1"',
        'SAVEPOINT "s2"',
        "UPDATE t SET a = 1",
        'RELEASE SAVEPOINT "s2"',
        'RELEASE SAVEPOINT "s1"',
    )
    assert _surviving_writes(undone) == []
    assert _surviving_writes(kept) == ["UPDATE t SET a = 1"]
    assert _surviving_writes(sql("DELETE FROM t")) == ["DELETE FROM t"]
