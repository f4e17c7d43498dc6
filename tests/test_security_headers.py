"""Pages carry a strict Content-Security-Policy and contain no inline script or style."""

import re

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory


@pytest.fixture
def pages(team, signed_in, client):
    anonymous = {"login": client.get(reverse("login")).content.decode()}
    client = signed_in(team.owner)
    slug = team.organization.slug
    return anonymous | {
        "workspace": client.get(f"/o/{slug}/").content.decode(),
        "members": client.get(f"/o/{slug}/members/").content.decode(),
        "executive": client.get(f"/o/{slug}/executive/").content.decode(),
    }


def test_it_sends_a_content_security_policy_without_unsafe_inline(client, db):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


def test_it_has_no_inline_scripts_or_styles(pages):
    for name, html in pages.items():
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
        assert scripts, f"{name} loads htmx"
        for attributes, body in scripts:
            assert "src=" in attributes, f"inline script on {name}"
            assert not body.strip(), f"inline script on {name}"
        assert "<style" not in html, f"inline style on {name}"
        assert " style=" not in html, f"style attribute on {name}"
        assert not re.search(r"\son[a-z]+=", html), f"inline event handler on {name}"


def test_it_serves_htmx_and_the_stylesheet_from_this_server(pages):
    html = pages["workspace"]
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert any("htmx" in s for s in sources)
    assert all(s.startswith("/static/") for s in sources), sources


def test_it_puts_the_csrf_token_on_the_body_for_htmx(pages):
    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'>", pages["workspace"])


def test_it_locks_out_repeated_failed_sign_ins(client, db, settings):
    user = UserFactory(email="someone@example.com")
    url = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(url, {"username": user.email, "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    assert client.post(url, {"username": user.email, "password": "wrong"}).status_code == 429
    locked = client.post(url, {"username": user.email, "password": PASSWORD})
    assert locked.status_code == 429
    assert b"Too many sign-in attempts" in locked.content
    assert "_auth_user_id" not in client.session


def test_it_signs_in_with_the_email_in_any_case(client, db):
    UserFactory(email="mixed@example.com")
    response = client.post(
        reverse("login"), {"username": "Mixed@Example.COM", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


@pytest.mark.e2e  # starts a process
def test_it_sets_secure_cookies_outside_debug():
    import subprocess
    import sys

    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='csplatform.settings'; "
        "from django.conf import settings; "
        "print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
        "settings.SECURE_SSL_REDIRECT)"
    )
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "0", "SECRET_KEY": "k" * 60}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "True", "True"]


def test_it_locks_out_only_the_attacked_address(client, db, settings):
    UserFactory(email="target@example.com")
    bystander = UserFactory(email="bystander@example.com")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "target@example.com", "password": "wrong"})
    response = client.post(reverse("login"), {"username": bystander.email, "password": PASSWORD})
    assert response.status_code == 302


def test_it_locks_out_by_the_client_address_behind_a_trusted_proxy(client, db, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    user = UserFactory(email="shared@example.com")
    # The attacker forges a left-hand entry; the proxy appends the real address.
    attacker = {"x-forwarded-for": "10.9.9.9, 203.0.113.5"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": user.email, "password": "x"}, headers=attacker)
    assert (
        client.post(
            reverse("login"), {"username": user.email, "password": PASSWORD}, headers=attacker
        ).status_code
        == 429
    )
    owner = client.post(
        reverse("login"),
        {"username": user.email, "password": PASSWORD},
        headers={"x-forwarded-for": "198.51.100.7"},
    )
    assert owner.status_code == 302  # the real owner, from elsewhere, still gets in


def test_it_ignores_a_forwarded_address_without_a_trusted_proxy(client, db, settings):
    user = UserFactory(email="direct@example.com")
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": user.email, "password": "x"},
            headers={"x-forwarded-for": f"203.0.113.{n}"},
        )
    assert (
        client.post(reverse("login"), {"username": user.email, "password": PASSWORD}).status_code
        == 429
    )


def test_it_answers_health_checks_over_plain_http():
    from django.conf import settings

    assert any(re.match(pattern, "healthz") for pattern in settings.SECURE_REDIRECT_EXEMPT)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.5", "127.0.0.1"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),
        (2, "6.6.6.6, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (2, "203.0.113.5", "127.0.0.1"),
    ],
)
def test_it_trusts_forwarded_addresses_only_from_trusted_proxies(
    rf, settings, proxies, forwarded, expected
):
    from csplatform.security import client_ip

    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", headers={"x-forwarded-for": forwarded}, REMOTE_ADDR="127.0.0.1")
    assert client_ip(request) == expected
