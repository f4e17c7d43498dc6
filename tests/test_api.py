"""The REST API: API keys set the tenant; writes are idempotent; bad input gets a clear error."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import Account, Role, Subscription
from csplatform.tenancy import tenant_context
from journeys.models import DailyUsage, UsageEvent
from journeys.rollups import usage_roll_up
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def _key_for(organization):
    owner = MembershipFactory(organization=organization, role=Role.OWNER).user
    with tenant_context(organization):
        api_key, key = services.api_key_create(name="tests", created_by=owner)
    return api_key, key


class Api:
    def __init__(self, key):
        self.client = Client(raise_request_exception=False)
        self.headers = {"authorization": f"Bearer {key}"} if key else {}

    def _send(self, method, path, body=None, **kwargs):
        return getattr(self.client, method)(
            f"/api/v1/{path}",
            data=json.dumps(body) if body is not None else None,
            content_type="application/json",
            headers=self.headers,
            **kwargs,
        )

    def get(self, path):
        return self.client.get(f"/api/v1/{path}", headers=self.headers)

    def post(self, path, body):
        return self._send("post", path, body)

    def patch(self, path, body):
        return self._send("patch", path, body)


@pytest.fixture
def org():
    return OrganizationFactory(currency="BRL", time_zone="America/Sao_Paulo")


@pytest.fixture
def api(org):
    return Api(_key_for(org)[1])


ACCOUNT = {"external_id": "acme-1", "name": "Acme Ltda.", "segment": "Enterprise"}


def _in(org, fn):
    with tenant_context(org):
        return fn()


# --- authentication ------------------------------------------------------------


def test_it_refuses_a_request_without_a_key(org):
    response = Api(None).get("accounts/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "key", ["nonsense", "csp_x_abc", "csp_999999_not-a-real-secret", "Basic dXNlcjpwYXNz"]
)
def test_it_refuses_a_malformed_or_unknown_key(org, key):
    assert Api(key).get("accounts/").status_code == 401


def test_it_refuses_a_revoked_key(org):
    api_key, key = _key_for(org)
    assert Api(key).get("accounts/").status_code == 200
    _in(org, lambda: services.api_key_revoke(api_key=api_key))
    response = Api(key).get("accounts/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_it_refuses_a_key_with_another_organizations_id(org):
    other = OrganizationFactory()
    _api_key, key = _key_for(org)
    forged = key.replace(f"csp_{org.pk}_", f"csp_{other.pk}_")
    assert Api(forged).get("accounts/").status_code == 401


def test_it_refuses_the_key_of_a_deactivated_organization(org):
    _api_key, key = _key_for(org)
    org.is_active = False
    org.save()
    assert Api(key).get("accounts/").status_code == 401


def test_it_hides_another_organizations_accounts_behind_a_404(org, api):
    other = OrganizationFactory()
    other_api = Api(_key_for(other)[1])
    assert other_api.post("accounts/", ACCOUNT).status_code == 201
    assert api.get("accounts/acme-1/").status_code == 404
    assert api.get("accounts/").json()["results"] == []
    assert api.patch("accounts/acme-1/", {"name": "Mine now"}).status_code == 404
    assert _in(other, lambda: Account.objects.get().name) == "Acme Ltda."


def test_it_records_when_a_key_was_last_used(org):
    api_key, key = _key_for(org)
    Api(key).get("accounts/")
    with tenant_context(org):
        api_key.refresh_from_db()
    assert api_key.last_used_at is not None


# --- accounts ---------------------------------------------------------------------


def test_it_creates_an_account_and_a_retry_does_not_duplicate_it(org, api):
    first = api.post("accounts/", ACCOUNT)
    retry = api.post("accounts/", ACCOUNT)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["external_id"] == "acme-1"
    assert first.json()["owner_email"] is None
    assert _in(org, Account.objects.count) == 1


def test_it_updates_an_account_by_external_id(org, api):
    api.post("accounts/", ACCOUNT)
    response = api.patch("accounts/acme-1/", {"segment": "SMB", "custom_attributes": {"uf": "SP"}})
    assert response.status_code == 200
    assert response.json()["segment"] == "SMB"
    assert response.json()["custom_attributes"] == {"uf": "SP"}
    assert api.get("accounts/acme-1/").json()["name"] == "Acme Ltda."


def test_it_names_the_owner_who_is_not_a_member(org, api):
    stranger = MembershipFactory().user
    response = api.post("accounts/", {**ACCOUNT, "owner_email": stranger.email})
    assert response.status_code == 400
    assert "not a member" in response.json()["owner_email"][0]
    assert _in(org, Account.objects.count) == 0


def test_it_sets_an_owner_who_is_a_member(org, api):
    manager = MembershipFactory(organization=org, role=Role.MANAGER).user
    response = api.post("accounts/", {**ACCOUNT, "owner_email": manager.email})
    assert response.json()["owner_email"] == manager.email


def test_it_answers_malformed_json_with_a_400(org, api):
    response = api.client.post(
        "/api/v1/accounts/", data="{not json", content_type="application/json", headers=api.headers
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_it_lists_accounts_a_page_at_a_time(org, api):
    for n in range(3):
        api.post("accounts/", {"external_id": f"a{n}", "name": f"A{n}"})
    page = api.get("accounts/").json()
    assert [a["external_id"] for a in page["results"]] == ["a0", "a1", "a2"]
    assert page["next"] is None


# --- contacts, subscriptions, touchpoints ------------------------------------------


def test_it_upserts_contacts_and_names_an_unknown_account(org, api):
    api.post("accounts/", ACCOUNT)
    contact = {"account_external_id": "acme-1", "email": "Ana@Acme.com.br", "locale": "pt-br"}
    assert api.post("contacts/", contact).status_code == 201
    assert api.post("contacts/", contact).status_code == 200
    unknown = api.post("contacts/", {**contact, "account_external_id": "nope"})
    assert unknown.status_code == 400
    assert "nope" in unknown.json()["account_external_id"][0]
    assert len(api.get("contacts/?account=acme-1").json()["results"]) == 1


SUBSCRIPTION = {
    "external_id": "sub-1",
    "account_external_id": "acme-1",
    "plan": "Pro anual",
    "amount": 1_200_00,
    "currency": "brl",
    "billing_interval": "year",
    "started_on": "2025-01-01",
}


def test_it_records_a_subscription_and_ends_it(org, api):
    api.post("accounts/", ACCOUNT)
    created = api.post("subscriptions/", SUBSCRIPTION)
    assert created.status_code == 201
    assert created.json()["mrr"] == 10_000
    ended = api.patch("subscriptions/sub-1/", {"ended_on": "2025-07-01"})
    assert ended.status_code == 200
    assert ended.json()["ended_on"] == "2025-07-01"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"currency": "USD"}, "currency", "BRL"),
        ({"amount": -1}, "amount", "greater than or equal to 0"),
        ({"amount": "12,50"}, "amount", "valid integer"),
        ({"ended_on": "2024-12-01"}, "ended_on", "before started_on"),
        ({"billing_interval": "weekly"}, "billing_interval", "not a valid choice"),
        ({"account_external_id": "ghost"}, "account_external_id", "ghost"),
    ],
)
def test_it_refuses_a_bad_subscription_naming_the_field(org, api, change, field, words):
    api.post("accounts/", ACCOUNT)
    response = api.post("subscriptions/", {**SUBSCRIPTION, **change})
    assert response.status_code == 400
    assert words in " ".join(response.json()[field])
    assert _in(org, Subscription.objects.count) == 0


def test_it_refuses_to_overwrite_a_subscriptions_history(org, api):
    api.post("accounts/", ACCOUNT)
    api.post("subscriptions/", SUBSCRIPTION)
    response = api.post("subscriptions/", {**SUBSCRIPTION, "amount": 99})
    assert response.status_code == 400
    assert "never overwritten" in response.json()["amount_cents"][0]


def test_it_records_a_touchpoint_once(org, api):
    api.post("accounts/", ACCOUNT)
    touchpoint = {
        "account_external_id": "acme-1",
        "touchpoint": "QBR",
        "occurred_at": "2026-01-10T15:00:00-03:00",
        "sentiment": "positive",
    }
    assert api.post("touchpoints/", touchpoint).status_code == 201
    again = api.post("touchpoints/", touchpoint)
    assert again.status_code == 200
    assert len(api.get("touchpoints/").json()["results"]) == 1


# --- events -------------------------------------------------------------------------


def _events(n, **extra):
    when = timezone.now() - timedelta(hours=1)
    return [
        {
            "id": f"e{i}",
            "account_external_id": "acme-1",
            "event": "report.generated",
            "occurred_at": (when - timedelta(minutes=i)).isoformat(),
            **extra,
        }
        for i in range(n)
    ]


def test_it_ingests_a_batch_of_events_and_skips_them_on_retry(org, api):
    api.post("accounts/", ACCOUNT)
    batch = {"events": _events(50, quantity=2)}
    first = api.post("events/batch/", batch)
    assert first.json() == {"received": 50, "created": 50, "duplicates": 0}
    retry = api.post("events/batch/", batch)
    assert retry.json() == {"received": 50, "created": 0, "duplicates": 50}
    assert _in(org, UsageEvent.objects.count) == 50
    assert _in(org, usage_roll_up) == 50
    assert sum(_in(org, lambda: list(DailyUsage.objects.values_list("events", flat=True)))) == 50


def test_it_lists_every_bad_event_and_writes_none(org, api):
    api.post("accounts/", ACCOUNT)
    events = _events(4)
    events[1]["occurred_at"] = "yesterday"
    events[2]["account_external_id"] = "ghost"
    events[3]["occurred_at"] = (timezone.now() + timedelta(days=2)).isoformat()
    response = api.post("events/batch/", {"events": events})
    assert response.status_code == 400
    problems = [(e["row"], e["field"]) for e in response.json()["errors"]]
    assert problems == [(1, "occurred_at"), (2, "account_external_id"), (3, "occurred_at")]
    assert _in(org, UsageEvent.objects.count) == 0


def test_it_refuses_more_than_ten_thousand_events(org, api):
    response = api.post("events/batch/", {"events": _events(10_001)})
    assert response.status_code == 400
    assert "at most 10000" in response.json()["errors"][0]["message"].replace(",", "")


def test_it_refuses_an_oversized_request_with_a_413(org, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = api.post("events/batch/", {"events": _events(200)})
    assert response.status_code == 413
    assert "too large (at most 9.8\xa0KB)" in response.json()["detail"]


@pytest.mark.parametrize("body", [[], {"events": "many"}, {"evts": []}])
def test_it_explains_the_expected_shape_of_a_batch(org, api, body):
    response = api.post("events/batch/", body)
    assert response.status_code == 400
    assert "events" in response.json()["detail"]


# --- schema and docs ----------------------------------------------------------------


def test_it_serves_an_openapi_schema_and_offline_docs(client):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/events/batch/" in schema.content
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger" in docs.lower()
    assert "//cdn" not in docs
    assert "unpkg" not in docs
    assert "jsdelivr" not in docs
    for asset in (part.split('"')[0] for part in docs.split('src="')[1:]):
        assert asset.startswith("/"), asset
        assert client.get(asset).status_code == 200, asset


def test_it_updates_a_contact_and_a_touchpoint(org, api):
    api.post("accounts/", ACCOUNT)
    contact = api.post("contacts/", {"account_external_id": "acme-1", "email": "ana@acme.com"})
    changed = api.patch(f"contacts/{contact.json()['id']}/", {"locale": "pt-br", "role": "CFO"})
    assert changed.status_code == 200
    assert (changed.json()["locale"], changed.json()["role"]) == ("pt-br", "CFO")
    touchpoint = {
        "account_external_id": "acme-1",
        "touchpoint": "QBR",
        "occurred_at": "2026-01-10T15:00:00-03:00",
    }
    created = api.post("touchpoints/", touchpoint).json()
    corrected = api.patch(f"touchpoints/{created['id']}/", {"sentiment": "negative", "notes": "x"})
    assert corrected.json()["sentiment"] == "negative"
    assert api.post("touchpoints/", touchpoint).status_code == 200  # the retry still matches
    assert api.patch(f"touchpoints/{created['id']}/", {"sentiment": "furious"}).status_code == 400
