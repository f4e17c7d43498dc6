"""Signing in and resetting a password cannot be tried without limit.

django-axes pauses one email from one network after AXES_FAILURE_LIMIT failures; an IPv6
client counts by its /64 (one subscriber's whole range), not by each address it can pick.
A network that fails SIGN_IN_FAILURE_RATE_LIMIT times, across any emails (password
spraying), is paused too. Password reset emails are limited per network and per email
(PASSWORD_RESET_RATE_LIMIT), and their link is built from SITE_URL, never from the Host
header a client sends.
"""

import hashlib
import re
import uuid

import pytest
from django.urls import reverse

from csplatform.security import client_network
from tests.clock import move_to_the_start_of_an_hour
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _at_the_start_of_a_window(time_machine):
    move_to_the_start_of_an_hour(time_machine)


@pytest.fixture
def network():
    """A /64 of this test alone (the counters live in the shared Redis), as the prefix of
    the addresses in it: f"{network}::1"."""
    return f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def _sign_in(client, email, password, address):
    return client.post(
        reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address
    )


# --- where a client is ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::"),
        ("::ffff:203.0.113.5", "203.0.113.5"),  # IPv4 written as IPv6
        ("not-an-address", "not-an-address"),
        (None, None),
    ],
)
def test_it_counts_an_ipv6_client_by_its_64(rf, settings, address, network):
    settings.TRUSTED_PROXY_COUNT = 0
    request = rf.get("/")
    request.META["REMOTE_ADDR"] = address
    assert client_network(request) == network


def test_it_locks_out_an_email_across_the_addresses_of_one_ipv6_64(client, settings, network):
    user = UserFactory(email=f"{uuid.uuid4().hex[:8]}@example.com")
    for n in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, user.email, "wrong", f"{network}::{n + 1:x}")
    assert _sign_in(client, user.email, PASSWORD, f"{network}::99").status_code == 429
    elsewhere = f"2001:db8:{uuid.uuid4().hex[:4]}::1"
    assert _sign_in(client, user.email, PASSWORD, elsewhere).status_code == 302


# --- password spraying --------------------------------------------------------------------


def test_it_pauses_a_network_that_fails_with_many_emails(client, settings, network):
    settings.SIGN_IN_FAILURE_RATE_LIMIT = "3/hour"
    for n in range(3):
        victim = UserFactory(email=f"sprayed-{n}-{uuid.uuid4().hex[:6]}@example.com")
        response = _sign_in(client, victim.email, "Summer2026!", f"{network}::{n + 1:x}")
        assert response.status_code == 200  # the form again: one failure for each email
    target = UserFactory(email=f"target-{uuid.uuid4().hex[:6]}@example.com")
    paused = _sign_in(client, target.email, PASSWORD, f"{network}::abc")
    assert paused.status_code == 429
    assert 1 <= int(paused["Retry-After"]) <= 3600
    page = paused.content.decode()
    assert "Too many sign-in attempts" in page
    minutes = -(-int(paused["Retry-After"]) // 60)  # the page says the wait it asks for
    assert f"paused for {minutes} minute" in page
    assert "_auth_user_id" not in client.session
    elsewhere = f"2001:db8:{uuid.uuid4().hex[:4]}::1"
    assert _sign_in(client, target.email, PASSWORD, elsewhere).status_code == 302


def test_it_counts_only_failed_sign_ins_against_a_network(client, settings, network):
    settings.SIGN_IN_FAILURE_RATE_LIMIT = "2/hour"
    user = UserFactory(email=f"office-{uuid.uuid4().hex[:6]}@example.com")
    for _ in range(4):
        assert _sign_in(client, user.email, PASSWORD, f"{network}::1").status_code == 302
        client.logout()


# --- password reset -------------------------------------------------------------------------


def _reset(client, email, address):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


def test_it_builds_the_reset_link_from_site_url_not_the_host_header(
    client, settings, mailoutbox, network
):
    settings.SITE_URL = "https://cs.example.com"
    settings.ALLOWED_HOSTS = ["testserver", "evil.example"]
    user = UserFactory(email=f"forgetful-{uuid.uuid4().hex[:6]}@example.com")
    response = client.post(
        reverse("password_reset"),
        {"email": user.email},
        headers={"host": "evil.example"},
        REMOTE_ADDR=f"{network}::1",
    )
    assert response.status_code == 302
    [message] = mailoutbox
    assert re.search(r"https://cs\.example\.com/accounts/reset/\S+/\S+/", message.body)
    assert "evil.example" not in message.body


def test_it_limits_password_reset_requests_per_network(client, settings, mailoutbox, network):
    settings.PASSWORD_RESET_RATE_LIMIT = "2/hour"
    users = [UserFactory(email=f"r{n}-{uuid.uuid4().hex[:6]}@example.com") for n in range(3)]
    assert _reset(client, users[0].email, f"{network}::1").status_code == 302
    assert _reset(client, users[1].email, f"{network}::2").status_code == 302
    refused = _reset(client, users[2].email, f"{network}::3")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert "Too many password reset requests" in refused.content.decode()
    assert [m.to for m in mailoutbox] == [[users[0].email], [users[1].email]]


def test_it_limits_password_reset_emails_to_one_person(client, settings, mailoutbox):
    settings.PASSWORD_RESET_RATE_LIMIT = "2/hour"
    user = UserFactory(email=f"Bombed-{uuid.uuid4().hex[:6]}@example.com")
    addresses = [f"2001:db8:{uuid.uuid4().hex[:4]}::1" for _ in range(3)]
    assert _reset(client, user.email, addresses[0]).status_code == 302
    assert _reset(client, user.email.upper(), addresses[1]).status_code == 302
    assert _reset(client, user.email, addresses[2]).status_code == 429
    assert len(mailoutbox) == 2


def test_it_keeps_no_email_address_in_the_cache(client, settings):
    import redis

    settings.PASSWORD_RESET_RATE_LIMIT = "5/hour"
    email = f"private-{uuid.uuid4().hex[:6]}@example.com"
    _reset(client, email, f"2001:db8:{uuid.uuid4().hex[:4]}::1")
    keys = [k.decode() for k in redis.Redis.from_url(settings.REDIS_URL).keys("*password-reset*")]
    assert keys
    assert not any(email in key for key in keys)
    assert any(hashlib.sha256(email.encode()).hexdigest()[:32] in key for key in keys)
