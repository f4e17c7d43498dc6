"""Tenant isolation, proven for every tenant-owned model found by introspection.

Both layers are checked separately: the fail-closed manager (application) and
Postgres row-level security (database), so one cannot hide a hole in the other.
"""

import psycopg
import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from csplatform.tenancy import TenantScopeError, tenant_context, tenant_models
from tests.factories import TENANT_FACTORIES, OrganizationFactory

MODELS = tenant_models()
ids = [m._meta.label for m in MODELS]


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


def _raw_count(model, organization_id=None):
    with connection.cursor() as cursor:
        if organization_id is None:
            cursor.execute(f"SELECT count(*) FROM {_table(model)}")  # noqa: S608
        else:
            cursor.execute(
                f"SELECT count(*) FROM {_table(model)} WHERE organization_id = %s",  # noqa: S608
                [organization_id],
            )
        return cursor.fetchone()[0]


@pytest.fixture
def two_tenants(db):
    """Two organizations, each with one row of every tenant-owned model."""
    org_a, org_b = OrganizationFactory(), OrganizationFactory()
    for organization in (org_a, org_b):
        with tenant_context(organization):
            for model in MODELS:
                TENANT_FACTORIES[model]()
    return org_a, org_b


def test_it_finds_the_tenant_owned_models():
    assert "accounts.MemberInvitation" in ids


@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_it_has_a_factory_for_every_tenant_model(model):
    assert model in TENANT_FACTORIES, f"add a factory for {model._meta.label} to TENANT_FACTORIES"


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_it_forces_row_level_security_with_the_tenant_policy(model):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relrowsecurity, c.relforcerowsecurity, "
            "  (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) "
            "FROM pg_class c WHERE c.oid = %s::regclass",
            [model._meta.db_table],
        )
        enabled, forced, policies = cursor.fetchone()
    assert (enabled, forced, policies) == (True, True, 1)


def test_it_names_the_to_do_and_the_survey_invitation_apart_from_tasks_and_members():
    # A "task" is a Celery task; an invitation to join an organization is accounts'.
    assert {"journeys.Todo", "surveys.SurveyInvitation"} <= set(ids)
    assert not {"journeys.Task", "surveys.Invitation"} & set(ids)


@pytest.mark.django_db
def test_it_connects_as_a_role_that_obeys_row_level_security():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)


# (1) The manager raises without a context.
@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_it_raises_when_the_manager_is_used_without_an_organization(model, two_tenants):
    with pytest.raises(TenantScopeError):
        model.objects.count()
    with pytest.raises(TenantScopeError):
        model.objects.all()


@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_it_scopes_the_manager_to_the_current_organization(model, two_tenants):
    org_a, _org_b = two_tenants
    with tenant_context(org_a):
        assert {row.organization_id for row in model.objects.all()} == {org_a.pk}


# (2) Raw SQL inside org A's context sees none of org B's rows.
@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_it_hides_other_tenants_rows_from_raw_sql(model, two_tenants):
    org_a, org_b = two_tenants
    with tenant_context(org_a):
        assert _raw_count(model, org_b.pk) == 0
        assert _raw_count(model) == _raw_count(model, org_a.pk) > 0
        assert model.objects.unscoped().filter(organization_id=org_b.pk).count() == 0


# (3) Raw SQL with no context sees no rows at all.
@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_it_shows_no_rows_to_raw_sql_without_an_organization(model, two_tenants):
    assert _raw_count(model) == 0


# (4) Writing a row for org B inside org A's context is refused, by both layers.
@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_it_refuses_to_insert_another_tenants_row(model, two_tenants):
    org_a, org_b = two_tenants
    columns = [  # Postgres computes generated columns (Subscription.mrr_cents): not written
        f.column for f in model._meta.concrete_fields if not f.primary_key and not f.generated
    ]
    select = ", ".join(
        "%s" if c == "organization_id" else connection.ops.quote_name(c) for c in columns
    )
    insert = ", ".join(connection.ops.quote_name(c) for c in columns)
    with tenant_context(org_a):
        source = model.objects.first()
        with (
            pytest.raises(ProgrammingError) as refused,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                f"INSERT INTO {_table(model)} ({insert}) "  # noqa: S608
                f"SELECT {select} FROM {_table(model)} WHERE id = %s",
                [org_b.pk, source.pk],
            )
        assert isinstance(refused.value.__cause__, psycopg.errors.InsufficientPrivilege)
        assert "row-level security" in str(refused.value)

        stray = TENANT_FACTORIES[model].build(organization=org_b)
        with pytest.raises(TenantScopeError):
            stray.save()
        with pytest.raises(TenantScopeError):
            model.objects.bulk_create([TENANT_FACTORIES[model].build(organization=org_b)])


@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_it_refuses_to_move_a_row_to_another_tenant(model, two_tenants):
    org_a, org_b = two_tenants
    with tenant_context(org_a):
        source = model.objects.first()
        with (
            pytest.raises(ProgrammingError, match="row-level security"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                f"UPDATE {_table(model)} SET organization_id = %s WHERE id = %s",  # noqa: S608
                [org_b.pk, source.pk],
            )


def test_it_refuses_to_save_a_tenant_row_without_an_organization(db):
    model = MODELS[0]
    with pytest.raises(TenantScopeError):
        TENANT_FACTORIES[model].build().save()


def test_it_makes_every_model_that_points_at_an_organization_tenant_owned():
    from django.apps import apps
    from django.conf import settings

    from csplatform.tenancy import TenantModel

    tenancy_tables = {settings.TENANT_MEMBERSHIP_MODEL}
    offenders = [
        model._meta.label
        for model in apps.get_models()
        if model._meta.label not in tenancy_tables
        and not issubclass(model, TenantModel)
        and any(
            field.is_relation
            and field.related_model is not None
            and field.related_model._meta.label == settings.TENANT_MODEL
            for field in model._meta.concrete_fields
        )
    ]
    assert offenders == []


@pytest.mark.django_db
def test_it_forces_row_level_security_on_every_table_with_an_organization_column():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE a.attname = 'organization_id' AND NOT a.attisdropped AND c.relkind = 'r' "
            "AND n.nspname = current_schema() "
            "AND NOT (c.relrowsecurity AND c.relforcerowsecurity)"
        )
        unprotected = {row[0] for row in cursor.fetchall()}
    # Memberships are read before any tenant is entered (see docs/tenancy.md).
    assert unprotected == {"accounts_membership"}


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_it_indexes_every_tenant_table_by_organization_first(model):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "WHERE i.indrelid = %s::regclass AND a.attname = 'organization_id'",
            [model._meta.db_table],
        )
        assert cursor.fetchone()[0] >= 1, f"add an index leading with organization to {model}"
