"""An API key is shown once, when it is created, and stored only as a SHA-256 hash."""

import hashlib
import re

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import ApiKey
from csplatform.tenancy import tenant_context

pytestmark = pytest.mark.django_db


def test_it_shows_a_new_key_once_and_stores_only_its_hash(team, signed_in):
    client = signed_in(team.owner)
    url = reverse("accounts:api_keys", kwargs={"org_slug": team.organization.slug})
    created = client.post(url, {"name": "CRM sync"}).content.decode()
    key = re.search(r"csp_\d+_[A-Za-z0-9_-]{40,}", created).group(0)

    with tenant_context(team.organization):
        api_key = ApiKey.objects.get(name="CRM sync")
        assert api_key.hashed_key == hashlib.sha256(key.encode()).hexdigest()
        assert key.startswith(api_key.prefix)
        assert len(api_key.prefix) < len(key) // 2
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM accounts_apikey WHERE id = %s", [api_key.pk])
            row = cursor.fetchone()
    assert not any(key in str(value) for value in row), "the key is stored in clear"
    assert key not in client.get(url).content.decode(), "the key is shown again"
    assert (
        client.get("/api/v1/accounts/", headers={"authorization": f"Bearer {key}"}).status_code
        == 200
    )
