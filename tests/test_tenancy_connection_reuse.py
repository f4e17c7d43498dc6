"""(5) The tenant setting is transaction-local: it never outlives its request or task.

These tests commit for real (transactional_db), with persistent connections on,
and check the next unit of work on the *same* Postgres backend sees nothing.
"""

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Invitation
from csplatform.tenancy import tenant_context
from tests.factories import InvitationFactory, MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _visible_invitations() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_invitation")
        return cursor.fetchone()[0]


def _tenant_setting() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.organization_id', true)")
        return cursor.fetchone()[0]


@pytest.fixture
def organization_with_rows():
    membership = MembershipFactory(role="admin")
    with tenant_context(membership.organization):
        InvitationFactory.create_batch(3)
    return membership


def test_it_uses_persistent_connections(settings):
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0


def test_it_forgets_the_tenant_after_a_request_on_the_same_connection(organization_with_rows):
    membership = organization_with_rows
    client = Client()
    client.force_login(membership.user, backend="django.contrib.auth.backends.ModelBackend")
    pid_before = _backend_pid()

    response = client.get(f"/o/{membership.organization.slug}/members/")

    assert response.status_code == 200
    assert response.content.count(b"invitee") >= 3  # the request did see its tenant's rows
    assert _backend_pid() == pid_before, "the connection must have been reused"
    assert _tenant_setting() in (None, "")
    assert _visible_invitations() == 0


def test_it_forgets_the_tenant_after_a_task_on_the_same_connection(organization_with_rows):
    pid_before = _backend_pid()
    with tenant_context(organization_with_rows.organization):
        assert _visible_invitations() == 3
        assert Invitation.objects.count() == 3

    assert _backend_pid() == pid_before
    assert _tenant_setting() in (None, "")
    assert _visible_invitations() == 0


def test_it_forgets_the_tenant_after_a_failed_unit_of_work(organization_with_rows):
    def failing_unit_of_work():
        with tenant_context(organization_with_rows.organization):
            assert _visible_invitations() == 3
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        failing_unit_of_work()
    assert _tenant_setting() in (None, "")
    assert _visible_invitations() == 0
