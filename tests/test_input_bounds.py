"""What an organization can send is bounded (docs/import.md, "Bounds"): dates from
2000-01-01 to a year after today, quantities not negative, custom attributes and notes
of a sane size, settings the background jobs can compute with; and what got in anyway
cannot make a recompute build centuries of months, nor a poison task run forever."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Subscription
from csplatform.bounds import MAX_ATTRIBUTES_BYTES
from csplatform.imports import ImportRejected, datetime_value, import_file
from csplatform.tenancy import tenant_context
from journeys.models import Touchpoint, UsageEvent
from tests.factories import AccountFactory, OrganizationFactory, SubscriptionFactory, SurveyFactory
from tests.test_api import ACCOUNT, SUBSCRIPTION, Api, _key_for

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
LATEST = "2027-12-08"  # 366 days after 2026-12-07


@pytest.fixture(autouse=True)
def _pinned(time_machine):
    time_machine.move_to(NOW, tick=True)


@pytest.fixture
def org():
    return OrganizationFactory(currency="BRL", time_zone="UTC")


@pytest.fixture
def api(org):
    api = Api(_key_for(org)[1])
    api.post("accounts/", ACCOUNT)
    return api


def _count(org, model):
    with tenant_context(org):
        return model.objects.count()


def _csv(org, kind, content):
    with tenant_context(org):
        return import_file(kind, content.encode(), context={"time_zone": org.time_zone})


def _csv_errors(org, kind, content):
    with pytest.raises(ImportRejected) as rejected:
        _csv(org, kind, content)
    return rejected.value.errors


# --- 1. dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("started_on", "0001-01-01"),
        ("started_on", "0002-01-01"),
        ("started_on", "1900-01-01"),
        ("started_on", "1999-12-31"),
        ("started_on", "9999-12-31"),
        ("started_on", "2027-12-09"),
        ("ended_on", "9999-12-31"),
    ],
)
def test_it_refuses_subscription_dates_outside_the_accepted_range(org, api, field, value):
    response = api.post("subscriptions/", {**SUBSCRIPTION, field: value})
    assert response.status_code == 400, response.content
    [message] = response.json()[field]
    assert "2000-01-01" in message
    assert LATEST in message
    assert _count(org, Subscription) == 0


def test_it_accepts_subscription_dates_at_both_ends_of_the_range(org, api):
    body = {**SUBSCRIPTION, "started_on": "2000-01-01", "ended_on": LATEST}
    assert api.post("subscriptions/", body).status_code == 201


def test_it_refuses_ending_a_subscription_beyond_the_range(org, api):
    api.post("subscriptions/", SUBSCRIPTION)
    response = api.patch("subscriptions/sub-1/", {"ended_on": "9999-12-31"})
    assert response.status_code == 400
    assert LATEST in response.json()["ended_on"][0]


def test_it_refuses_dates_outside_the_range_behind_every_edge(org):
    from accounts.customers import accounts_upsert, subscriptions_upsert
    from csplatform.batches import RowsRejected

    row = {
        "external_id": "s1",
        "account_external_id": "a1",
        "plan": "Pro",
        "amount_cents": 100,
        "currency": "BRL",
        "billing_interval": "month",
        "started_on": date(1900, 1, 1),
        "ended_on": date(9999, 12, 31),
    }
    with tenant_context(org):
        AccountFactory(external_id="a1")
        with pytest.raises(RowsRejected) as rejected:
            subscriptions_upsert([row])
        assert sorted((e.row, e.field) for e in rejected.value.errors) == [
            (0, "ended_on"),
            (0, "started_on"),
        ]
        with pytest.raises(RowsRejected) as rejected:
            accounts_upsert([{"external_id": "a1", "signup_date": date(1, 1, 1)}])
        assert [e.field for e in rejected.value.errors] == ["signup_date"]


def test_it_lets_a_subscription_recorded_before_the_bounds_end(org, api):
    with tenant_context(org):
        SubscriptionFactory(
            external_id="old", account=Account.objects.get(), started_on=date(1995, 1, 1)
        )
    response = api.patch("subscriptions/old/", {"ended_on": "2026-12-01"})
    assert response.status_code == 200, response.content


def test_it_takes_back_rows_recorded_before_the_bounds_as_they_are(org, api):
    # A sync sends every row again: one recorded before the bounds, unchanged, must not
    # make the whole batch (API) or file (CSV) refused; a change to it still is checked.
    with tenant_context(org):
        Account.objects.filter(external_id="acme-1").update(signup_date=date(1995, 1, 1))
        SubscriptionFactory(
            external_id="old",
            account=Account.objects.get(),
            started_on=date(1995, 1, 1),
            plan="Pro",
            amount_cents=10_000,
            currency="BRL",
            billing_interval="month",
        )
    again = api.post("accounts/", {**ACCOUNT, "signup_date": "1995-01-01"})
    assert again.status_code in (200, 201), again.content
    subscription = {
        "external_id": "old",
        "account_external_id": "acme-1",
        "plan": "Pro",
        "amount": 10_000,
        "currency": "BRL",
        "billing_interval": "month",
        "started_on": "1995-01-01",
    }
    resent = api.post("subscriptions/", subscription)
    assert resent.status_code in (200, 201), resent.content
    report = _csv(
        org,
        "subscriptions",
        "external_id;account_external_id;plan;amount;currency;billing_interval;started_on\n"
        "old;acme-1;Pro;100;BRL;month;1995-01-01\n",
    )
    assert report.rows == 1
    moved = api.post("accounts/", {**ACCOUNT, "signup_date": "1996-01-01"})
    assert moved.status_code == 400
    assert "2000-01-01" in moved.json()["signup_date"][0]


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_it_refuses_signup_dates_outside_the_accepted_range(org, api, value):
    created = api.post("accounts/", {**ACCOUNT, "external_id": "new", "signup_date": value})
    assert created.status_code == 400
    assert "2000-01-01" in created.json()["signup_date"][0]
    changed = api.patch("accounts/acme-1/", {"signup_date": value})
    assert changed.status_code == 400
    assert "signup_date" in changed.json()
    with tenant_context(org):
        assert list(Account.objects.values_list("external_id", "signup_date")) == [("acme-1", None)]


def test_it_names_the_line_and_column_of_a_csv_date_outside_the_range(org):
    _csv(org, "accounts", "external_id;name\nacme-1;Acme\n")
    errors = _csv_errors(
        org,
        "subscriptions",
        "external_id;account_external_id;plan;amount;currency;billing_interval;started_on\n"
        "s1;acme-1;Pro;100;BRL;month;2025-01-01\n"
        "s2;acme-1;Pro;100;BRL;month;01/01/1800\n",
    )
    assert [(e.line, e.column) for e in errors] == [(3, "started_on")]
    assert "2000-01-01" in str(errors[0].message)
    assert LATEST in str(errors[0].message)
    errors = _csv_errors(org, "accounts", "external_id;name;signup_date\nb;B;31/12/9999\n")
    assert [(e.line, e.column) for e in errors] == [(2, "signup_date")]
    assert _count(org, Subscription) == 0


def test_it_refuses_csv_instants_outside_the_range():
    raw = pd.Series(["1800-01-01T10:00:00Z", "01/01/1900 10:00", "2026-12-01T10:00:00Z"])
    _values, invalid, expected = datetime_value(raw, {"time_zone": "UTC"})
    assert invalid.tolist() == [True, True, False]
    assert "2000-01-01" in str(expected)


def test_it_refuses_a_campaign_first_send_outside_the_range(org):
    from surveys.forms import CampaignForm

    with tenant_context(org):
        survey = SurveyFactory()
        for starts_at, valid in [("1900-01-01T09:00", False), ("2027-01-04T09:00", True)]:
            form = CampaignForm(data={"survey": survey.pk, "name": "Q", "starts_at": starts_at})
            assert form.is_valid() is valid, form.errors
            if not valid:
                assert "2000-01-01" in form.errors["starts_at"][0]


# --- 2. implausible values ----------------------------------------------------------


def _event(**extra):
    when = (timezone.now() - timedelta(hours=1)).isoformat()
    return {"account_external_id": "acme-1", "event": "login", "occurred_at": when, **extra}


def test_it_refuses_a_negative_event_quantity(org, api):
    response = api.post("events/batch/", {"events": [_event(quantity=-5)]})
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["quantity"]
    assert api.post("events/batch/", {"events": [_event(quantity=0)]}).status_code == 200
    errors = _csv_errors(
        org,
        "events",
        "account_external_id;event;occurred_at;quantity\nacme-1;login;2026-12-01T10:00:00Z;-5\n",
    )
    assert [(e.line, e.column) for e in errors] == [(2, "quantity")]
    assert _count(org, UsageEvent) == 1


def _nested(levels):
    value: dict = {}
    for _level in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    "attributes",
    [_nested(6), _nested(5000), {"big": "x" * (7 * 1024 * 1024)}, {"big": "x" * 16_400}],
    ids=["6 levels", "5000 levels", "7 MB", "16 KiB and a bit"],
)
def test_it_refuses_custom_attributes_too_deep_or_too_large(org, api, attributes):
    response = api.post("accounts/", {**ACCOUNT, "custom_attributes": attributes})
    assert response.status_code in (400, 413)
    if response.status_code == 400:
        assert "custom_attributes" in response.json()
    with tenant_context(org):
        assert Account.objects.get().custom_attributes == {}


def test_it_accepts_custom_attributes_within_the_bounds(org, api):
    attributes = {**_nested(5), "note": "x" * (MAX_ATTRIBUTES_BYTES - 100)}
    response = api.post("accounts/", {**ACCOUNT, "custom_attributes": attributes})
    assert response.status_code == 200, response.content


def test_it_refuses_custom_attributes_that_grow_too_large_once_merged(org, api):
    half = "x" * (MAX_ATTRIBUTES_BYTES // 2)
    assert api.post("accounts/", {**ACCOUNT, "custom_attributes": {"a": half}}).status_code == 200
    response = api.post("accounts/", {**ACCOUNT, "custom_attributes": {"b": half}})
    assert response.status_code == 400
    assert "custom_attributes" in response.json()
    errors = _csv_errors(org, "accounts", f"external_id;name;c\nacme-1;Acme;{half}\n")
    assert [(e.line, e.column) for e in errors] == [(2, "custom_attributes")]


def test_it_refuses_a_touchpoint_note_longer_than_10000_characters(org, api):
    base = {"account_external_id": "acme-1", "touchpoint": "QBR", "occurred_at": NOW.isoformat()}
    response = api.post("touchpoints/", {**base, "notes": "x" * 10_001})
    assert response.status_code == 400
    assert "notes" in response.json()
    created = api.post("touchpoints/", {**base, "notes": "x" * 10_000})
    assert created.status_code == 201
    changed = api.patch(f"touchpoints/{created.json()['id']}/", {"notes": "y" * 10_001})
    assert changed.status_code == 400
    assert "notes" in changed.json()
    assert _count(org, Touchpoint) == 1


# --- 3. settings the jobs compute with ----------------------------------------------


def test_it_refuses_a_retention_the_purge_cannot_compute_with(team, signed_in):
    url = reverse("accounts:privacy", args=[team.organization.slug])
    client = signed_in(team.admin)
    huge = client.post(url, {"usage_event_retention_days": "2147483647"})
    assert huge.status_code == 400
    assert "3650" in huge.content.decode()
    assert client.post(url, {"usage_event_retention_days": "3650"}).status_code == 302


def test_it_purges_with_the_longest_retention_allowed(db):
    from journeys.usage_purge import usage_events_purge

    organization = OrganizationFactory(usage_event_retention_days=3650)
    assert usage_events_purge(organization.pk) == 0


@pytest.mark.parametrize("field", ["repeat_every_days", "remind_after_days"])
def test_it_refuses_campaign_periods_the_scheduler_cannot_compute_with(org, field):
    from surveys.forms import CampaignForm

    with tenant_context(org):
        survey = SurveyFactory()
        data = {"survey": survey.pk, "name": "Q", "starts_at": "2026-12-01T09:00"}
        form = CampaignForm(data={**data, field: 2147483647})
        assert not form.is_valid()
        assert "366" in form.errors[field][0]
        assert CampaignForm(data={**data, field: 366}).is_valid()


def test_it_schedules_a_campaign_repeating_at_the_longest_period_allowed(org):
    from surveys import sending
    from tests.factories import CampaignFactory

    with tenant_context(org):
        campaign = CampaignFactory(starts_at=NOW - timedelta(days=400), repeat_every_days=366)
        assert sending.campaign_due(campaign, timezone.now())
        assert sending.campaigns_with_reminders_due() == []


HUGE = 2147483647  # stored before the limits (the database takes it)


def test_it_purges_nothing_for_a_retention_stored_before_the_limit(db):
    from accounts.models import Organization
    from journeys.usage_purge import usage_events_purge

    organization = OrganizationFactory()
    Organization.objects.filter(pk=organization.pk).update(usage_event_retention_days=HUGE)
    assert usage_events_purge(organization.pk) == 0  # nothing is that old: kept, no crash


def test_it_schedules_campaigns_with_periods_stored_before_the_limit(org):
    from surveys import sending
    from surveys.models import Campaign
    from tests.factories import CampaignFactory, SurveyInvitationFactory

    with tenant_context(org):
        campaign = CampaignFactory(starts_at=NOW - timedelta(days=30))
        Campaign.objects.filter(pk=campaign.pk).update(
            repeat_every_days=HUGE, remind_after_days=HUGE
        )
        campaign.refresh_from_db()
        assert sending.campaign_due(campaign, timezone.now())  # its first send: due
        SurveyInvitationFactory(campaign=campaign, status="sent", sent_at=NOW - timedelta(days=20))
        assert not sending.campaign_due(campaign, timezone.now())  # never again
        assert sending.campaigns_with_reminders_due() == []
        assert sending.invitation_remind_next(campaign.pk) is False


def test_it_refuses_a_survey_quiet_period_the_sender_cannot_compute_with(db):
    from django.core.exceptions import ValidationError

    from accounts.models import Organization

    organization = OrganizationFactory.build(survey_quiet_days=HUGE)
    others = [f.name for f in Organization._meta.fields if f.name != "survey_quiet_days"]
    with pytest.raises(ValidationError) as refused:
        organization.clean_fields(exclude=others)
    assert "3650" in str(refused.value)


def test_it_sends_a_campaign_with_a_quiet_period_stored_before_the_limit(org):
    from accounts.models import Organization
    from surveys import sending
    from tests.factories import CampaignFactory, ContactFactory

    Organization.objects.filter(pk=org.pk).update(survey_quiet_days=HUGE)
    org.refresh_from_db()
    with tenant_context(org):
        ContactFactory()
        campaign = CampaignFactory(starts_at=NOW - timedelta(days=1))
        [(started, plan)] = sending.campaigns_start_due(timezone.now())
        assert (started, plan.pending) == (campaign, 1)


def test_it_counts_the_days_ahead_from_the_organizations_today(time_machine):
    from csplatform.bounds import latest_day

    time_machine.move_to(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False)
    ahead = OrganizationFactory(time_zone="Pacific/Kiritimati")  # UTC+14: already 2 March
    with tenant_context(ahead):
        assert latest_day() == date(2027, 3, 3)  # 2026-03-02 + 366 days
    assert latest_day() == date(2027, 3, 2)  # outside any organization: UTC's today
