import pytest
from django.db import connection, transaction

from accounts.models import MemberInvitation
from csplatform.tenancy import TenantScopeError, current_organization, tenant_context
from tests.factories import MemberInvitationFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def _db_tenant():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.organization_id', true)")
        return cursor.fetchone()[0]


def test_it_restores_the_outer_organization_after_a_nested_block():
    org_a, org_b = OrganizationFactory(), OrganizationFactory()
    with tenant_context(org_a):
        MemberInvitationFactory()
        with tenant_context(org_b):
            assert current_organization() == org_b
            assert _db_tenant() == str(org_b.pk)
            assert MemberInvitation.objects.count() == 0
        assert current_organization() == org_a
        assert _db_tenant() == str(org_a.pk)
        assert MemberInvitation.objects.count() == 1
    with pytest.raises(TenantScopeError):
        current_organization()


def test_it_restores_the_outer_organization_after_a_nested_block_fails():
    org_a, org_b = OrganizationFactory(), OrganizationFactory()
    with tenant_context(org_a):
        with pytest.raises(ValueError, match="boom"), tenant_context(org_b):
            raise ValueError("boom")
        assert _db_tenant() == str(org_a.pk)
        assert current_organization() == org_a


def test_it_accepts_an_organization_id():
    organization = OrganizationFactory()
    with tenant_context(organization.pk) as entered:
        assert entered == organization


def test_it_claims_rows_for_the_current_organization_in_bulk():
    organization = OrganizationFactory()
    with tenant_context(organization):
        created = MemberInvitation.objects.bulk_create(
            [MemberInvitationFactory.build(), MemberInvitationFactory.build()]
        )
        assert {i.organization_id for i in created} == {organization.pk}
        assert MemberInvitation.objects.count() == 2


def test_it_leaves_no_organization_to_work_queued_for_after_commit(
    django_capture_on_commit_callbacks,
):
    organization = OrganizationFactory()
    seen = []

    def after_commit():
        try:
            seen.append(MemberInvitation.objects.count())
        except TenantScopeError:
            seen.append("raised")

    with django_capture_on_commit_callbacks(execute=True), tenant_context(organization):
        MemberInvitationFactory()
        transaction.on_commit(after_commit)
    assert seen == ["raised"]


@pytest.mark.django_db(transaction=True)
def test_it_deletes_an_organization_with_its_rows_without_a_tenant_context():
    organization = OrganizationFactory()
    with tenant_context(organization):
        MemberInvitationFactory.create_batch(2)

    organization_id = organization.pk
    organization.delete()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('app.organization_id', %s, false)", [str(organization_id)]
        )
        cursor.execute("SELECT count(*) FROM accounts_memberinvitation")
        remaining = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('app.organization_id', '', false)")
    assert remaining == 0
