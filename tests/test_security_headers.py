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
