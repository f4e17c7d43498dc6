import psycopg
import pytest
from django.db import connection

from csplatform.tasks import lock_namespace, organization_lock
from csplatform.tenancy import tenant_context
from tests.factories import OrganizationFactory


def _other_connection():
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        autocommit=True,
    )


@pytest.mark.django_db(transaction=True)
def test_it_holds_an_advisory_lock_per_task_and_organization_until_commit():
    org_a, org_b = OrganizationFactory(), OrganizationFactory()
    with _other_connection() as other:

        def can_lock(org, name="metrics.recompute"):
            namespace = lock_namespace(name)
            locked = other.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [namespace, org.pk]
            ).fetchone()[0]
            if locked:
                other.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, org.pk])
            return locked

        with tenant_context(org_a):
            organization_lock("metrics.recompute")
            assert not can_lock(org_a)  # another worker would wait
            assert can_lock(org_b)  # other organizations are not held up
            assert can_lock(org_a, name="another.task")
        assert can_lock(org_a)  # released at commit
