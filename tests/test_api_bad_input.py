"""Odd and hostile input to the API gets a clear 4xx, never a 500, and writes nothing."""

import base64
import threading
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db import close_old_connections
from django.utils import timezone

from accounts.models import Account, Subscription
from csplatform.tenancy import tenant_context
from journeys.models import DailyUsage, Touchpoint, UsageEvent
from journeys.rollups import usage_roll_up
from tests.factories import OrganizationFactory
from tests.test_api import ACCOUNT, SUBSCRIPTION, Api, _key_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganizationFactory(currency="BRL")


@pytest.fixture
def api(org):
    api = Api(_key_for(org)[1])
    api.post("accounts/", ACCOUNT)
    return api


def _count(org, model):
    with tenant_context(org):
        return model.objects.count()


def _event(**extra):
    when = (timezone.now() - timedelta(hours=1)).isoformat()
    return {"account_external_id": "acme-1", "event": "login", "occurred_at": when, **extra}


def test_it_refuses_a_key_with_non_ascii_digits(org):
    assert Api("csp_²_x").get("accounts/").status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "accounts/", {**ACCOUNT, "custom_attributes": {"a\u0000": "b"}}),
        ("post", "accounts/", {**ACCOUNT, "name": "nul\u0000name"}),
        ("post", "events/batch/", {"events": [_event(event="lo\u0000gin")]}),
        ("post", "events/batch/", {"events": [_event(properties={"k": "v\u0000"})]}),
        ("get", "accounts/a%00b/", None),
        ("get", "contacts/?account=%00", None),
    ],
)
def test_it_refuses_nul_characters_with_a_400(org, api, method, path, body):
    response = api.post(path, body) if method == "post" else api.get(path)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert _count(org, UsageEvent) == 0


def test_it_refuses_absurdly_nested_json(org, api):
    body = "[" * 100_000 + "]" * 100_000
    response = api.client.post(
        "/api/v1/accounts/", data=body, content_type="application/json", headers=api.headers
    )
    assert response.status_code == 400


def test_it_refuses_an_amount_beyond_any_contract(org, api):
    response = api.post("subscriptions/", {**SUBSCRIPTION, "amount": 10**20})
    assert response.status_code == 400
    assert "amount" in response.json()
    assert _count(org, Subscription) == 0


@pytest.mark.parametrize("quantity", ["1E-20000", 1e-9, "12.345678"])
def test_it_rounds_tiny_quantities_to_four_decimals(org, api, quantity):
    response = api.post("events/batch/", {"events": [_event(quantity=quantity)]})
    assert response.status_code == 200


def test_it_keeps_daily_sums_of_huge_quantities(org, api):
    events = [_event(id=f"e{i}", quantity=99_999_999_999_999) for i in range(200)]
    assert api.post("events/batch/", {"events": events}).status_code == 200
    with tenant_context(org):
        usage_roll_up()
        assert DailyUsage.objects.get().events == 200


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+05:00", "1999-12-31T23:00:00+00:00"])
def test_it_refuses_events_before_2000(org, api, when):
    response = api.post("events/batch/", {"events": [_event(occurred_at=when)]})
    assert response.status_code == 400
    assert "before the year 2000" in response.json()["errors"][0]["message"]


def test_it_refuses_two_events_with_one_id_in_a_batch(org, api):
    events = [_event(id="same"), _event(id="same", event="export")]
    response = api.post("events/batch/", {"events": events})
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(1, "id")]
    assert _count(org, UsageEvent) == 0


def test_it_reads_back_a_write_whatever_the_list_filter(org, api):
    response = api.post(
        "contacts/?account=zzz", {"account_external_id": "acme-1", "email": "a@acme.com"}
    )
    assert response.status_code == 201


def test_it_treats_one_touchpoint_written_differently_as_the_same(org, api):
    base = {
        "account_external_id": "acme-1",
        "touchpoint": "QBR",
        "occurred_at": "2026-01-10T15:00:00-03:00",
    }
    api.post("contacts/", {"account_external_id": "acme-1", "email": "ana@acme.com"})
    assert api.post("touchpoints/", {**base, "contact_email": "ana@acme.com"}).status_code == 201
    variants = [
        {**base, "contact_email": "ANA@acme.com"},
        {**base, "contact_email": "ana@acme.com", "notes": ""},
        {**base, "contact_email": "ana@acme.com", "sentiment": "neutral"},
    ]
    assert [api.post("touchpoints/", v).status_code for v in variants] == [200, 200, 200]
    assert _count(org, Touchpoint) == 1


def test_it_refuses_two_touchpoints_with_one_external_id(org, api):
    from csplatform.batches import RowsRejected
    from journeys.ingest import touchpoints_record

    when = timezone.now() - timedelta(days=1)
    rows = [
        {
            "account_external_id": "acme-1",
            "touchpoint": "QBR",
            "occurred_at": when,
            "external_id": "t1",
        },
        {
            "account_external_id": "acme-1",
            "touchpoint": "Call",
            "occurred_at": when,
            "external_id": "t1",
        },
    ]
    with tenant_context(org), pytest.raises(RowsRejected) as rejected:
        touchpoints_record(rows)
    assert [(e.row, e.field) for e in rejected.value.errors] == [(1, "external_id")]


def test_it_stamps_updated_at_when_an_account_changes(org, api):
    before = api.get("accounts/acme-1/").json()["updated_at"]
    after = api.patch("accounts/acme-1/", {"segment": "SMB"}).json()["updated_at"]
    assert after > before


@pytest.mark.parametrize(
    "path", ["contacts/{contact}/", "touchpoints/{touchpoint}/", "subscriptions/sub-1/"]
)
def test_it_hides_another_organizations_records_behind_a_404(org, api, path):
    contact = api.post("contacts/", {"account_external_id": "acme-1", "email": "x@acme.com"})
    touchpoint = api.post(
        "touchpoints/",
        {
            "account_external_id": "acme-1",
            "touchpoint": "QBR",
            "occurred_at": "2026-01-10T15:00:00Z",
        },
    )
    api.post("subscriptions/", SUBSCRIPTION)
    other = Api(_key_for(OrganizationFactory())[1])
    url = path.format(contact=contact.json()["id"], touchpoint=touchpoint.json()["id"])
    assert other.get(url).status_code == 404
    assert other.patch(url, {"notes": "mine", "ended_on": "2026-01-01"}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_it_answers_simultaneous_retries_without_a_server_error():
    organization = OrganizationFactory()
    key = _key_for(organization)[1]
    barrier = threading.Barrier(4)
    statuses = []

    def retry():
        try:
            barrier.wait()
            statuses.append(Api(key).post("accounts/", ACCOUNT).status_code)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=retry) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses)[0] in (200, 201)
    assert set(statuses) <= {200, 201}
    assert statuses.count(201) == 1
    assert _count(organization, Account) == 1


@pytest.mark.parametrize("endpoint", ["accounts/", "contacts/", "subscriptions/", "touchpoints/"])
@pytest.mark.parametrize(
    "position",
    ["abc", "1.5", "99999999999999999999"],  # a word, a fraction, past bigint
)
def test_it_answers_a_cursor_with_a_bad_position_with_404(api, endpoint, position):
    cursor = base64.b64encode(f"p={position}".encode()).decode()
    response = api.get(f"{endpoint}?cursor={quote(cursor)}")
    assert response.status_code == 404
    assert response.json()["detail"] == "Invalid cursor"


@pytest.mark.parametrize("cursor", ["%25%25%25", "%21%21", "cD1hYmM%3D%3D%3D"])
def test_it_answers_a_cursor_that_is_not_base64_with_404(api, cursor):
    response = api.get(f"accounts/?cursor={cursor}")
    assert response.status_code == 404
    assert response.json()["detail"] == "Invalid cursor"


def test_it_still_follows_its_own_next_cursor(api):
    for n in range(3):
        api.post("accounts/", {**ACCOUNT, "external_id": f"page-{n}"})
    first = api.get("accounts/?page_size=2").json()
    second = api.get(first["next"].split("/api/v1/", 1)[1]).json()
    assert [a["external_id"] for a in first["results"] + second["results"]] == [
        "acme-1",
        "page-0",
        "page-1",
        "page-2",
    ]
