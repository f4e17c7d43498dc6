"""Rate limits: per client address on the public survey page, per API key on the API.

Over the limit: a friendly 429 page, or a 429 JSON error, both with Retry-After.
With Redis unreachable the limits fail open: answers and API batches still save.
"""

import json
import logging
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Account, Role
from csplatform import ratelimit
from csplatform.ratelimit import Rate, parse_rate
from csplatform.tenancy import tenant_context
from journeys.models import UsageEvent
from surveys.models import Response
from surveys.tokens import make_answer_token
from tests.clock import move_to_the_start_of_an_hour
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OrganizationFactory,
    SurveyInvitationFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _at_the_start_of_a_window(time_machine):
    move_to_the_start_of_an_hour(time_machine)


ROOT = Path(__file__).resolve().parent.parent
CLOSED_PORT_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "KEY_PREFIX": "csp",
    }
}


@pytest.fixture(autouse=True)
def _cache_reachable_again():
    """Each test starts as if Redis had always answered (the limiter pauses after a failure)."""
    ratelimit._cache_down_until = 0.0
    yield
    ratelimit._cache_down_until = 0.0


@pytest.fixture
def address():
    """A client address of this test alone (and of its own /64): the counters live in the
    shared Redis."""
    return f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::{uuid.uuid4().hex[:4]}"


@pytest.fixture
def org():
    return OrganizationFactory(default_locale="en")


@pytest.fixture
def invitation(org):
    with tenant_context(org):
        return SurveyInvitationFactory(contact=ContactFactory(locale="en"))


def _answer_url(invitation):
    token = make_answer_token(
        organization_id=invitation.organization_id, invitation_id=invitation.pk
    )
    return reverse("public_surveys:answer", args=[token])


def _responses(org):
    with tenant_context(org):
        return list(Response.objects.all())


def _api_key(org, name="tests"):
    owner = MembershipFactory(organization=org, role=Role.OWNER).user
    with tenant_context(org):
        api_key, key = account_services.api_key_create(name=name, created_by=owner)
    # Key ids repeat from one test database to the next: forget older runs' counts.
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    for counter in client.scan_iter(f"*ratelimit:api:{api_key.pk}:*"):
        client.delete(counter)
    return key


def _api(key):
    client = Client()

    def post(path, body):
        return client.post(
            f"/api/v1/{path}",
            json.dumps(body),
            content_type="application/json",
            headers={"authorization": f"Bearer {key}"},
        )

    def get(path):
        return client.get(f"/api/v1/{path}", headers={"authorization": f"Bearer {key}"})

    return post, get


def _api_rate(settings, rate):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": rate},
    }


# --- the survey page ----------------------------------------------------------------


def test_it_limits_the_survey_page_per_client_address(client, settings, invitation, address):
    settings.SURVEY_RATE_LIMIT = "3/minute"
    url = _answer_url(invitation)
    for _ in range(3):
        assert client.get(url, REMOTE_ADDR=address).status_code == 200
    refused = client.get(url, REMOTE_ADDR=address)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    page = refused.content.decode()
    assert "Please try again in a minute." in page
    assert "Traceback" not in page
    assert refused.templates[0].name == "surveys/too_many_requests.html"


def test_it_counts_answers_too_and_records_none_over_the_limit(
    client, settings, org, invitation, address
):
    settings.SURVEY_RATE_LIMIT = "2/minute"
    url = _answer_url(invitation)
    assert client.get(url, REMOTE_ADDR=address).status_code == 200
    assert client.get(url, REMOTE_ADDR=address).status_code == 200
    refused = client.post(url, {"score": 9, "automatic": "0"}, REMOTE_ADDR=address)
    assert refused.status_code == 429
    assert _responses(org) == []


def test_it_keeps_a_count_for_each_client_address(client, settings, invitation, address):
    settings.SURVEY_RATE_LIMIT = "1/minute"
    url = _answer_url(invitation)
    assert client.get(url, REMOTE_ADDR=address).status_code == 200
    assert client.get(url, REMOTE_ADDR=address).status_code == 429
    other = _another_network()
    assert client.get(url, REMOTE_ADDR=other).status_code == 200


def test_it_counts_the_addresses_of_one_ipv6_64_as_one_client(
    client, settings, invitation, address
):
    # A subscriber is routed a whole /64 and may pick a new address from it each time.
    settings.SURVEY_RATE_LIMIT = "1/minute"
    url = _answer_url(invitation)
    assert client.get(url, REMOTE_ADDR=address).status_code == 200
    neighbour = address.rsplit(":", 1)[0] + ":beef"
    assert client.get(url, REMOTE_ADDR=neighbour).status_code == 429


def _another_network():
    return f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"


def test_it_counts_the_client_behind_a_trusted_proxy_not_the_proxy(
    client, settings, invitation, address
):
    settings.SURVEY_RATE_LIMIT = "1/minute"
    settings.TRUSTED_PROXY_COUNT = 1
    url = _answer_url(invitation)
    proxy = _another_network()
    first, second = address, _another_network()
    assert client.get(url, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=first).status_code == 200
    assert client.get(url, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=second).status_code == 200
    # An entry the client wrote itself (left of the proxy's) changes nothing.
    forged = client.get(url, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"10.0.0.9, {first}")
    assert forged.status_code == 429


def test_it_lets_one_click_unsubscribes_through_whatever_the_count(
    client, settings, invitation, address
):
    # Mail providers post RFC 8058 unsubscribes for many people from a few addresses.
    settings.SURVEY_RATE_LIMIT = "1/minute"
    token = make_answer_token(
        organization_id=invitation.organization_id, invitation_id=invitation.pk
    )
    url = reverse("public_surveys:unsubscribe", args=[token])
    for _ in range(3):
        assert client.post(url, REMOTE_ADDR=address).status_code == 200


def test_it_saves_survey_answers_when_redis_is_down(
    client, settings, org, invitation, address, caplog
):
    settings.SURVEY_RATE_LIMIT = "1/minute"
    settings.CACHES = CLOSED_PORT_CACHE
    url = _answer_url(invitation)
    with caplog.at_level(logging.WARNING, logger="csplatform.ratelimit"):
        assert client.get(url, REMOTE_ADDR=address).status_code == 200
        answered = client.post(url, {"score": 9, "automatic": "0"}, REMOTE_ADDR=address)
    assert answered.status_code == 302
    assert [r.score for r in _responses(org)] == [9]
    assert "the cache cannot be reached" in caplog.text


# --- the API --------------------------------------------------------------------------


def test_it_limits_the_api_per_key(settings, org):
    _api_rate(settings, "3/minute")
    post, get = _api(_api_key(org))
    for _ in range(3):
        assert get("accounts/").status_code == 200
    refused = get("accounts/")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json() == {
        "detail": "Too many requests with this API key: wait "
        f"{refused['Retry-After']} seconds, then send again."
    }
    written = post("accounts/", {"external_id": "a1", "name": "Acme"})
    assert written.status_code == 429
    with tenant_context(org):
        assert not Account.objects.exists()


def test_it_keeps_a_count_for_each_api_key(settings, org):
    _api_rate(settings, "1/minute")
    _post, get_first = _api(_api_key(org, "first"))
    _post, get_second = _api(_api_key(org, "second"))
    assert get_first("accounts/").status_code == 200
    assert get_first("accounts/").status_code == 429
    assert get_second("accounts/").status_code == 200


def test_it_answers_401_before_counting_a_request_without_a_valid_key(settings, org):
    _api_rate(settings, "1/minute")
    _post, get = _api("csp_1_not-a-real-key")
    assert get("accounts/").status_code == 401
    assert get("accounts/").status_code == 401


def _from(address, key):
    client = Client()

    def get(path):
        return client.get(
            f"/api/v1/{path}", headers={"authorization": f"Bearer {key}"}, REMOTE_ADDR=address
        )

    return get


def test_it_limits_failed_api_keys_per_client_network_before_any_lookup(
    settings, org, address, django_assert_num_queries
):
    settings.API_KEY_FAILURE_RATE_LIMIT = "3/minute"
    forged = _from(address, f"csp_{org.pk}_guessed-{uuid.uuid4().hex}")
    for _ in range(3):
        assert forged("accounts/").status_code == 401
    with django_assert_num_queries(0):  # no organization, no transaction, no key
        refused = forged("accounts/")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json() == {
        "detail": "Too many requests with an API key that is not valid from this network: "
        f"wait {refused['Retry-After']} seconds, then send again."
    }
    # Another address of the same IPv6 /64 is the same client; another network is not.
    assert _from(f"{address}:1", "csp_1_x")("accounts/").status_code == 429
    elsewhere = f"2001:db8:{uuid.uuid4().hex[:4]}::1"
    assert _from(elsewhere, _api_key(org))("accounts/").status_code == 200


def test_it_lets_a_key_that_passed_lately_through_a_network_paused_for_failed_keys(
    settings, org, address
):
    # Behind one address (a NAT, an integration platform), another tenant's revoked key
    # must not stop a working integration; a valid key not seen lately still waits.
    settings.API_KEY_FAILURE_RATE_LIMIT = "3/minute"
    working = _from(address, _api_key(org))
    assert working("accounts/").status_code == 200  # remembered as good
    forged = _from(address, f"csp_{org.pk}_revoked-{uuid.uuid4().hex}")
    for _ in range(3):
        assert forged("accounts/").status_code == 401
    assert forged("accounts/").status_code == 429
    assert working("accounts/").status_code == 200
    assert _from(address, _api_key(org))("accounts/").status_code == 429  # a new key


def test_it_remembers_a_busy_key_with_one_cache_write_not_one_per_request(
    settings, org, address, monkeypatch
):
    from csplatform import tenancy

    writes = []
    real_set = tenancy.cache.set

    def counted_set(key, *args, **kwargs):
        if key.startswith("api-key-good:"):
            writes.append(key)
        return real_set(key, *args, **kwargs)

    monkeypatch.setattr(tenancy.cache, "set", counted_set)
    get = _from(address, _api_key(org))
    for _ in range(5):
        assert get("accounts/").status_code == 200
    assert len(writes) == 1


def test_it_counts_only_failed_api_keys(settings, org, address):
    settings.API_KEY_FAILURE_RATE_LIMIT = "2/minute"
    get = _from(address, _api_key(org))
    for _ in range(4):
        assert get("accounts/").status_code == 200


def test_it_saves_api_batches_when_redis_is_down(settings, org, caplog):
    _api_rate(settings, "1/minute")
    post, _get = _api(_api_key(org))
    settings.CACHES = CLOSED_PORT_CACHE
    when = timezone.now() - timedelta(hours=1)
    events = [
        {
            "id": f"e{i}",
            "account_external_id": "acme-1",
            "event": "report.generated",
            "occurred_at": (when - timedelta(minutes=i)).isoformat(),
        }
        for i in range(20)
    ]
    with caplog.at_level(logging.WARNING, logger="csplatform.ratelimit"):
        assert post("accounts/", {"external_id": "acme-1", "name": "Acme"}).status_code == 201
        batch = post("events/batch/", {"events": events})
    assert batch.status_code == 200, batch.content
    assert batch.json()["created"] == 20
    with tenant_context(org):
        assert UsageEvent.objects.count() == 20
    assert "the cache cannot be reached" in caplog.text


# --- configuration --------------------------------------------------------------------


def test_it_reads_rates_as_drf_writes_them():
    assert parse_rate("60/minute") == Rate(requests=60, seconds=60)
    assert parse_rate("1200/m") == Rate(requests=1200, seconds=60)
    assert parse_rate("5/second") == Rate(requests=5, seconds=1)
    assert parse_rate("100/day") == Rate(requests=100, seconds=86400)
    assert parse_rate("") is None
    assert parse_rate(None) is None


@pytest.mark.parametrize("value", ["60", "60/fortnight", "0/minute", "many/minute"])
def test_it_refuses_a_rate_it_cannot_read_naming_the_variable(value):
    with pytest.raises(ImproperlyConfigured, match="SURVEY_RATE_LIMIT"):
        parse_rate(value, name="SURVEY_RATE_LIMIT")


def _settings_in_a_fresh_process(**env):
    clean = {"PATH": os.environ["PATH"], "DEBUG": "1", **env}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.SURVEY_RATE_LIMIT, s.API_RATE_LIMIT, "
            "s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['api_key'])",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "csplatform.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.e2e  # starts a process
def test_it_reads_the_limits_from_the_environment():
    defaults = _settings_in_a_fresh_process()
    assert defaults.stdout.split() == ["60/minute", "1200/minute", "1200/minute"]
    chosen = _settings_in_a_fresh_process(SURVEY_RATE_LIMIT="10/hour", API_RATE_LIMIT="")
    assert chosen.stdout.split() == ["10/hour", "None", "None"]
    broken = _settings_in_a_fresh_process(API_RATE_LIMIT="lots")
    assert broken.returncode != 0
    assert "API_RATE_LIMIT='lots' is not a rate" in broken.stderr
