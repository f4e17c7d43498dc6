import uuid
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import MemberInvitation
from csplatform import clock
from csplatform.tenancy import tenant_context
from journeys.models import Todo, Touchpoint
from surveys.models import Campaign, SurveyInvitation
from tests.factories import (
    AccountFactory,
    ContactFactory,
    MembershipFactory,
    OrganizationFactory,
    ResponseFactory,
    SegmentFactory,
    SurveyFactory,
    TouchpointFactory,
)

LINK_BY_EXTERNAL_ID = "0002_negative_touchpoint_by_external_id"


@pytest.mark.django_db
def test_it_has_a_migration_for_every_model_change():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def _migrate(*targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(list(targets))


def _migrate_to_latest():
    """Every app to its last migration: going back in one app can undo others' that
    depend on it, and the tests after this one expect the whole schema."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _linked(org):
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute("SELECT id, negative_touchpoint_id FROM surveys_response ORDER BY id")
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_negative_touchpoints_when_the_response_link_becomes_their_external_id():
    before, after = ("surveys", "0001_surveys_and_answers"), ("surveys", LINK_BY_EXTERNAL_ID)
    _migrate(before)
    try:
        org = OrganizationFactory()
        with tenant_context(org):
            # Imported-style responses (no invitation): at surveys 0001 the invitations'
            # table has its old name, and this migration reads only responses.
            named, legacy = (
                ResponseFactory(
                    score=score, invitation=None, contact=None, account=AccountFactory()
                )
                for score in (2, 0)
            )
            kept = TouchpointFactory(
                account=named.account,
                external_id=f"survey-response-{named.pk}",
                dedupe_key=uuid.uuid5(uuid.NAMESPACE_URL, f"csplatform:survey-response-{named.pk}"),
            )
            renamed = TouchpointFactory(account=legacy.account, external_id="written-by-hand")
            with connection.cursor() as cursor:
                for response, touchpoint in ((named, kept), (legacy, renamed)):
                    cursor.execute(
                        "UPDATE surveys_response SET negative_touchpoint_id = %s WHERE id = %s",
                        [touchpoint.pk, response.pk],
                    )
        _migrate(after)
        with tenant_context(org):
            touchpoints = dict(Touchpoint.objects.values_list("pk", "external_id"))
            assert touchpoints == {
                kept.pk: f"survey-response-{named.pk}",
                renamed.pk: f"survey-response-{legacy.pk}",  # named by its response first
            }
            assert Touchpoint.objects.get(pk=renamed.pk).dedupe_key == uuid.uuid5(
                uuid.NAMESPACE_URL, f"csplatform:survey-response-{legacy.pk}"
            )
        _migrate(before)  # and back: the column is filled from the external ids
        assert _linked(org) == [(named.pk, kept.pk), (legacy.pk, renamed.pk)]
    finally:
        _migrate_to_latest()


SUBSCRIPTION_RULES = ("accounts", "0012_subscription_rules")
MEMBER_INVITATION = ("accounts", "0013_member_invitation")


def _subscriptions(org):
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute(
            "SELECT amount_cents, interval_months, mrr_cents,"
            " csp_next_renewal(started_on, ended_on, interval_months, mrr_cents, %s)"
            " FROM accounts_subscription ORDER BY id",
            [date(2026, 11, 24)],
        )
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
def test_it_computes_the_mrr_columns_of_the_subscriptions_already_stored():
    before = ("accounts", "0011_usage_event_retention")
    # The account is made with today's columns (the model's), before going back.
    org = OrganizationFactory()
    with tenant_context(org):
        account = AccountFactory()
    _migrate(before)
    try:
        with tenant_context(org), connection.cursor() as cursor:
            for external_id, amount, interval, started_on in (
                ("leap", 1_200_006, "year", date(2024, 2, 29)),  # 100,000.5 → 100,000
                ("quarter", 3_001, "quarter", date(2025, 11, 30)),
                ("month", 5_000, "month", date(2025, 1, 31)),
            ):
                cursor.execute(
                    "INSERT INTO accounts_subscription (organization_id, external_id, account_id,"
                    " plan, amount_cents, currency, billing_interval, started_on, created_at)"
                    " VALUES (%s, %s, %s, 'Pro', %s, 'BRL', %s, %s, %s)",
                    [org.pk, external_id, account.pk, amount, interval, started_on, clock.now()],
                )
        _migrate(SUBSCRIPTION_RULES)
        assert _subscriptions(org) == [
            (1_200_006, 12, 100_000, date(2027, 2, 28)),
            (3_001, 3, 1_000, date(2026, 11, 30)),
            (5_000, 1, 5_000, None),
        ]
        _migrate(before)  # and back: the columns and the function go, the rows stay
        with tenant_context(org), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM accounts_subscription")
            assert cursor.fetchone() == (3,)
            cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = 'csp_next_renewal'")
            assert cursor.fetchone() == (0,)
    finally:
        _migrate_to_latest()


def _row_security(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relrowsecurity, c.relforcerowsecurity,"
            "  (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid),"
            "  (SELECT count(*) FROM pg_indexes i WHERE i.tablename = c.relname AND i.indexname"
            "     IN ('invitation_org_expiry_idx', 'invitation_one_open_per_email'))"
            " FROM pg_class c WHERE c.relname = %s",
            [table],
        )
        return cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_invitations_and_their_row_security_when_renamed_member_invitations():
    _migrate(SUBSCRIPTION_RULES)
    try:
        org, other = OrganizationFactory(), OrganizationFactory()
        for organization, email in ((org, "ana@example.com"), (other, "bia@example.com")):
            with tenant_context(organization), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO accounts_invitation (organization_id, email, role, created_at,"
                    " expires_at) VALUES (%s, %s, 'viewer', %s, %s)",
                    [organization.pk, email, clock.now(), clock.now()],
                )
        _migrate(MEMBER_INVITATION)
        assert _row_security("accounts_memberinvitation") == (True, True, 1, 2)
        with tenant_context(org):
            assert list(MemberInvitation.objects.values_list("email", flat=True)) == [
                "ana@example.com"
            ]
        _migrate(SUBSCRIPTION_RULES)  # and back: the table has its old name, rows and policy
        assert _row_security("accounts_invitation") == (True, True, 1, 2)
        with tenant_context(other), connection.cursor() as cursor:
            cursor.execute("SELECT email FROM accounts_invitation")
            assert cursor.fetchall() == [("bia@example.com",)]
    finally:
        _migrate_to_latest()


# --- names that cannot be confused: the to-do and the survey invitation ------------------


def _campaign_at_0004(org, cursor, name="Q4 NPS", segment="", stage="", owner_id=None):
    """A campaign as surveys 0004 stored it (free-text audience), by SQL: the model has
    moved on."""
    survey = SurveyFactory()
    cursor.execute(
        "INSERT INTO surveys_campaign (organization_id, survey_id, name, segment,"
        " lifecycle_stage, owner_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " RETURNING id",
        [org.pk, survey.pk, name, segment, stage, owner_id, clock.now()],
    )
    return cursor.fetchone()[0]


BEFORE_RENAMES = (
    ("journeys", "0012_default_lifecycle_stages"),
    ("surveys", "0002_negative_touchpoint_by_external_id"),
)


def _one_row(org, sql):
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _names_on(table):
    """The table's index and constraint names, and whether row-level security is forced
    with a policy."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        names = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass", [table])
        names |= {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT c.relforcerowsecurity, (SELECT count(*) FROM pg_policy p"
            " WHERE p.polrelid = c.oid) FROM pg_class c WHERE c.oid = %s::regclass",
            [table],
        )
        return names, cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_to_dos_and_survey_invitations_through_their_renames():
    _migrate(*BEFORE_RENAMES)
    try:
        org = OrganizationFactory()
        with tenant_context(org), connection.cursor() as cursor:
            contact = ContactFactory()
            campaign_id = _campaign_at_0004(org, cursor)
            cursor.execute(
                "INSERT INTO journeys_task (organization_id, title_key, custom_title,"
                " account_id, due_on, trigger_key, reason_key, reason_params, custom_reason,"
                " status, created_at) VALUES (%s, '', 'Call Ana', %s, %s, '', '', '{}',"
                " 'Asked for a call', 'open', %s) RETURNING id",
                [org.pk, contact.account_id, date(2026, 12, 10), clock.now()],
            )
            [todo_id] = cursor.fetchone()
            cursor.execute(
                "INSERT INTO surveys_invitation (organization_id, campaign_id, send_number,"
                " contact_id, status, skip_reason, created_at)"
                " VALUES (%s, %s, 1, %s, 'sent', '', %s) RETURNING id",
                [org.pk, campaign_id, contact.pk, clock.now()],
            )
            [invitation_id] = cursor.fetchone()

        _migrate_to_latest()
        with tenant_context(org):
            todo = Todo.objects.get()
            invitation = SurveyInvitation.objects.get()
        assert (todo.pk, todo.title, todo.reason, todo.account_id, todo.status) == (
            todo_id,
            "Call Ana",
            "Asked for a call",
            contact.account_id,
            "open",
        )
        assert (invitation.pk, invitation.campaign_id, invitation.contact_id) == (
            invitation_id,
            campaign_id,
            contact.pk,
        )
        names, security = _names_on("journeys_todo")
        assert {
            "todo_idx",
            "todo_account_idx",
            "todo_one_open_per_playbook",
            "todo_once_per_occurrence",
            "todo_title_key_or_text",
            "todo_reason_key_or_text",
        } <= names
        assert not {name for name in names if name.startswith("task_")}
        assert security == (True, 1)  # row-level security came along
        assert _names_on("surveys_surveyinvitation")[1] == (True, 1)

        _migrate(*BEFORE_RENAMES)  # and back: the old tables, the same rows
        assert _one_row(org, "SELECT id, custom_title FROM journeys_task") == [
            (todo_id, "Call Ana")
        ]
        assert _one_row(org, "SELECT id, contact_id FROM surveys_invitation") == [
            (invitation_id, contact.pk)
        ]
        names, security = _names_on("journeys_task")
        assert {"task_idx", "task_one_open_per_playbook", "task_title_key_or_text"} <= names
        assert security == (True, 1)
    finally:
        _migrate_to_latest()


@pytest.mark.django_db(transaction=True)
def test_it_turns_each_campaigns_free_text_audience_into_a_saved_segment():
    _migrate(("surveys", "0004_campaign_bounds"))
    try:
        org = OrganizationFactory()
        owner = MembershipFactory(organization=org).user
        with tenant_context(org), connection.cursor() as cursor:
            SegmentFactory(name="Enterprise NPS")  # the name is taken already
            enterprise = _campaign_at_0004(
                org, cursor, "Enterprise NPS", segment="Enterprise", stage="adoption"
            )
            mine = _campaign_at_0004(org, cursor, "Owner CSAT", owner_id=owner.pk)
            everyone = _campaign_at_0004(org, cursor, "Everyone")
        _migrate_to_latest()
        with tenant_context(org):
            campaigns = {c.pk: c for c in Campaign.objects.select_related("audience")}
        assert campaigns[enterprise].audience.name == "Enterprise NPS (2)"
        assert campaigns[enterprise].audience.filters == {
            "segment": "Enterprise",
            "stage": "adoption",
        }
        assert campaigns[mine].audience.filters == {"owner": str(owner.pk)}
        assert campaigns[everyone].audience is None
        assert not any(c.include_former_customers for c in campaigns.values())
        assert _names_on("accounts_segment")[1] == (True, 1)  # row-level security
    finally:
        _migrate_to_latest()
