"""Secrets kept encrypted at rest: third-party keys and signing secrets that the
platform must read back to use (a Stripe restricted key, a webhook signing secret), as
opposed to our own API keys, which are only ever compared and so are stored hashed.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a MultiFernet: the keys
come from ENCRYPTION_KEYS, comma-separated; the first encrypts, every one decrypts.
Rotation: put a new key first, run `manage.py rotate_encryption_keys` (every stored
secret is encrypted again under the first key), then drop the old key.
Without ENCRYPTION_KEYS, one key is derived from SECRET_KEY with HKDF-SHA256, so a
laptop works out of the box; production should set ENCRYPTION_KEYS (system check
csplatform.W001), or changing SECRET_KEY would make every stored secret unreadable.

A column holding a secret is an `EncryptedTextField`: it stores the Fernet token as
text and never decrypts by itself; code reads the plain value with `secret_decrypt`
at the moment it uses it, so the value is in no model instance's attributes, repr,
form or page. The rotation command finds every such column by introspection.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

HKDF_INFO = b"csplatform encryption key v1"


class SecretUnreadableError(Exception):
    """A stored secret that none of the configured keys decrypts (a key was dropped
    before `rotate_encryption_keys` ran, or SECRET_KEY changed without ENCRYPTION_KEYS)."""


class EncryptedTextField(models.TextField):
    """A column that holds a Fernet token (see the module's docstring); blank means unset."""

    description = "A secret, encrypted at rest"


def derived_key(secret_key: str) -> bytes:
    """The Fernet key derived from SECRET_KEY when ENCRYPTION_KEYS is unset."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


def fernet_keys_check(keys: Sequence[str]) -> list[str]:
    """Problems with ENCRYPTION_KEYS' values (position and why), never the values."""
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            problems.append(
                f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes, "
                "as `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'` prints)"
            )
    return problems


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        return MultiFernet([Fernet(derived_key(secret_key))])
    problems = fernet_keys_check(keys)
    if problems:
        raise ImproperlyConfigured("ENCRYPTION_KEYS: " + "; ".join(problems) + ".")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def cipher() -> MultiFernet:
    """The MultiFernet of the current settings (cached per set of keys)."""
    return _cipher(tuple(settings.ENCRYPTION_KEYS), settings.SECRET_KEY)


def secret_encrypt(plain: str) -> str:
    """`plain` encrypted under the first key: a Fernet token, as text."""
    return cipher().encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    """The plain value of a stored token; raises SecretUnreadableError if no key opens it."""
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadableError(
            "A stored secret cannot be decrypted with ENCRYPTION_KEYS: was a key dropped "
            "before `manage.py rotate_encryption_keys` ran?"
        ) from None


def secret_reencrypt(token: str) -> str:
    """The same secret encrypted under the current first key (MultiFernet.rotate)."""
    try:
        return cipher().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadableError(
            "A stored secret cannot be decrypted with ENCRYPTION_KEYS."
        ) from None


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every concrete model with EncryptedTextField columns, and their names."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        names = [
            field.attname
            for field in model._meta.concrete_fields
            if isinstance(field, EncryptedTextField)
        ]
        if names:
            found.append((model, names))
    return found


REENCRYPT_BATCH = 500


def _reencrypt_rows(model: type[models.Model], names: list[str], manager: models.Manager) -> int:
    changed = 0
    rows = manager.order_by("pk").only("pk", *names)
    batch: list[models.Model] = []
    for row in rows.iterator(chunk_size=REENCRYPT_BATCH):
        for name in names:
            token = getattr(row, name)
            if token:
                setattr(row, name, secret_reencrypt(token))
        batch.append(row)
        if len(batch) >= REENCRYPT_BATCH:
            manager.bulk_update(batch, names)
            changed += len(batch)
            batch = []
    if batch:
        manager.bulk_update(batch, names)
        changed += len(batch)
    return changed


def secrets_reencrypt() -> int:
    """Encrypt every stored secret again under the first of ENCRYPTION_KEYS; returns
    the rows rewritten. All or nothing: one transaction; a secret no key opens raises
    SecretUnreadableError and nothing is written. Tenant-owned rows are reached one
    organization at a time (row-level security shows a transaction one organization)."""
    from django.db import transaction

    from csplatform.tenancy import TenantModel, organization_model, tenant_context

    changed = 0
    with transaction.atomic():
        fields = encrypted_fields()
        plain = [(model, names) for model, names in fields if not issubclass(model, TenantModel)]
        owned = [(model, names) for model, names in fields if issubclass(model, TenantModel)]
        for model, names in plain:
            changed += _reencrypt_rows(model, names, model._default_manager)
        if owned:
            for organization in organization_model().objects.order_by("pk"):
                with tenant_context(organization):
                    for model, names in owned:
                        changed += _reencrypt_rows(model, names, model._default_manager)
    return changed
