"""(5) The tenant setting is transaction-local: it never outlives its request or task.

These tests commit for real (transactional_db), with persistent connections
on, and check that the next request or task on the *same* Postgres backend,
with no tenant, sees nothing. The test client never closes connections, so
each test also calls close_old_connections() between requests, as Django's
request_finished signal does in a server: with CONN_MAX_AGE > 0 it keeps the
connection, which is exactly the reuse being tested.
"""

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from accounts.models import MemberInvitation
from csplatform.tenancy import tenant_context
from tests.factories import MemberInvitationFactory, MembershipFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.urls")]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _tenant_setting() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.organization_id', true)")
        return cursor.fetchone()[0]


@pytest.fixture
def organization_with_rows():
    membership = MembershipFactory(role="admin")
    with tenant_context(membership.organization):
        MemberInvitationFactory.create_batch(3)
    return membership


def test_it_uses_persistent_connections(settings):
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0


def test_it_forgets_the_tenant_after_a_request_on_the_same_connection(organization_with_rows):
    membership = organization_with_rows
    client = Client()
    client.force_login(membership.user, backend="django.contrib.auth.backends.ModelBackend")
    pid_before = _backend_pid()

    tenant_request = client.get(f"/o/{membership.organization.slug}/members/")
    close_old_connections()
    next_request = client.get("/test/raw-invitation-count/").json()

    assert tenant_request.status_code == 200
    assert tenant_request.content.count(b"invitee") >= 3  # the first request saw its rows
    assert next_request["backend_pid"] == pid_before, "the connection must have been reused"
    assert next_request["count"] == 0
    assert _tenant_setting() in (None, "")


def test_it_forgets_the_tenant_after_a_task_on_the_same_connection(organization_with_rows):
    pid_before = _backend_pid()
    with tenant_context(organization_with_rows.organization):
        assert MemberInvitation.objects.count() == 3
    close_old_connections()

    next_request = Client().get("/test/raw-invitation-count/").json()
    assert next_request == {"count": 0, "backend_pid": pid_before}


def test_it_forgets_the_tenant_after_a_failed_unit_of_work(organization_with_rows):
    def failing_unit_of_work():
        with tenant_context(organization_with_rows.organization):
            assert MemberInvitation.objects.count() == 3
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        failing_unit_of_work()
    assert _tenant_setting() in (None, "")
    assert Client().get("/test/raw-invitation-count/").json()["count"] == 0


@pytest.mark.parametrize(("how", "status"), [("crash", 500), ("not-found", 404), ("fail", 503)])
def test_it_writes_nothing_when_a_request_fails(organization_with_rows, how, status):
    membership = organization_with_rows
    client = Client(raise_request_exception=False)
    client.force_login(membership.user, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get(f"/o/{membership.organization.slug}/test/write-then/{how}/")

    assert response.status_code == status
    with tenant_context(membership.organization):
        assert not MemberInvitation.objects.filter(email=f"{how}@example.com").exists()
        assert MemberInvitation.objects.count() == 3
