"""Secrets encrypted at rest (csplatform.crypto): Fernet keys from ENCRYPTION_KEYS, the
first encrypting and all decrypting; rotation re-encrypts every stored secret."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from billing.models import StripeConnection
from csplatform import crypto
from csplatform.checks import check_encryption_keys_set
from csplatform.tenancy import tenant_context
from tests.factories import OrganizationFactory, StripeConnectionFactory

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def _raw_key_column(organization):
    with tenant_context(organization), connection.cursor() as cursor:
        cursor.execute("SELECT restricted_key FROM billing_stripeconnection")
        return cursor.fetchone()[0]


def test_it_round_trips_a_secret_and_never_stores_the_plain_value(settings):
    settings.ENCRYPTION_KEYS = [KEY_A]
    token = crypto.secret_encrypt("rk_test_abc123456789")
    assert "rk_test" not in token
    assert crypto.secret_decrypt(token) == "rk_test_abc123456789"


def test_it_derives_a_key_from_the_secret_key_when_none_is_set(settings):
    settings.ENCRYPTION_KEYS = []
    token = crypto.secret_encrypt("whsec_x")
    assert Fernet(crypto.derived_key(settings.SECRET_KEY)).decrypt(token.encode()) == b"whsec_x"
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    with pytest.raises(crypto.SecretUnreadableError):
        crypto.secret_decrypt(token)


def test_it_decrypts_with_an_old_key_after_a_new_one_is_put_first(settings):
    settings.ENCRYPTION_KEYS = [KEY_A]
    token = crypto.secret_encrypt("rk_test_rotate0001")
    settings.ENCRYPTION_KEYS = [KEY_B, KEY_A]
    assert crypto.secret_decrypt(token) == "rk_test_rotate0001"
    settings.ENCRYPTION_KEYS = [KEY_B]
    with pytest.raises(crypto.SecretUnreadableError):
        crypto.secret_decrypt(token)


def test_it_reencrypts_every_stored_secret_under_the_new_key(settings, db):
    settings.ENCRYPTION_KEYS = [KEY_A]
    first, second = OrganizationFactory(), OrganizationFactory()
    for organization in (first, second):
        with tenant_context(organization):
            StripeConnectionFactory(
                restricted_key=crypto.secret_encrypt(f"rk_test_org{organization.pk}key00"),
                webhook_secret=crypto.secret_encrypt("whsec_signing0001"),
            )
    settings.ENCRYPTION_KEYS = [KEY_B, KEY_A]
    call_command("rotate_encryption_keys")
    settings.ENCRYPTION_KEYS = [KEY_B]  # the old key dropped
    for organization in (first, second):
        with tenant_context(organization):
            stored = StripeConnection.objects.get()
            assert crypto.secret_decrypt(stored.restricted_key) == (
                f"rk_test_org{organization.pk}key00"
            )
            assert crypto.secret_decrypt(stored.webhook_secret) == "whsec_signing0001"
        assert Fernet(KEY_B.encode()).decrypt(_raw_key_column(organization).encode())


def test_it_changes_nothing_when_a_secret_cannot_be_decrypted(settings, db):
    settings.ENCRYPTION_KEYS = [KEY_A]
    organization = OrganizationFactory()
    with tenant_context(organization):
        StripeConnectionFactory(restricted_key=crypto.secret_encrypt("rk_test_lost00000"))
    before = _raw_key_column(organization)
    settings.ENCRYPTION_KEYS = [KEY_B]  # key A dropped before the rotation ran
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("rotate_encryption_keys")
    assert _raw_key_column(organization) == before


def test_it_finds_every_encrypted_column():
    found = {model._meta.label: names for model, names in crypto.encrypted_fields()}
    assert found["billing.StripeConnection"] == ["restricted_key", "webhook_secret"]


def test_it_refuses_a_key_that_is_not_a_fernet_key():
    assert crypto.fernet_keys_check([KEY_A, "not-a-key"]) == [
        "key 2 is not a Fernet key (32 url-safe base64-encoded bytes, as `python -c 'from "
        "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'` prints)"
    ]


def test_it_warns_in_production_when_no_encryption_key_is_set(settings):
    settings.DEBUG = False
    settings.ENCRYPTION_KEYS = []
    assert [warning.id for warning in check_encryption_keys_set()] == ["csplatform.W001"]
    settings.ENCRYPTION_KEYS = [KEY_A]
    assert check_encryption_keys_set() == []


def test_it_never_shows_the_secret_in_a_connections_repr(settings, db):
    organization = OrganizationFactory()
    with tenant_context(organization):
        stored = StripeConnectionFactory(restricted_key=crypto.secret_encrypt("rk_test_hidden0001"))
        assert "rk_test_hidden" not in repr(stored) + str(stored)
        assert stored.restricted_key not in repr(stored) + str(stored)


def test_it_leaves_every_encrypted_secret_out_of_the_organizations_export():
    from accounts import privacy

    [columns] = [
        columns for _name, model, columns in privacy.export_tables() if model is StripeConnection
    ]
    assert "restricted_key" not in columns
    assert "webhook_secret" not in columns
    assert "key_hint" in columns
