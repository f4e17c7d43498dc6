"""System checks for configuration that would silently weaken tenant isolation."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.checks import Warning as CheckWarning
from django.db import connections


@register(Tags.database)
def check_database_role_obeys_rls(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> Sequence[CheckMessage]:
    """csplatform.E001: the database role must not be a superuser or BYPASSRLS."""
    errors: list[CheckMessage] = []
    for alias in databases or []:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles "
                "WHERE rolname = current_user"
            )
            role, is_superuser, bypasses_rls = cursor.fetchone()
        if is_superuser or bypasses_rls:
            errors.append(
                Error(
                    f"The database role {role!r} ({alias}) is a superuser or has BYPASSRLS, "
                    "so Postgres row-level security would not isolate tenants.",
                    hint="Connect with a role created NOSUPERUSER NOBYPASSRLS: run "
                    "`make db` (scripts/create_db_role.sh), then set DATABASE_URL to it.",
                    id="csplatform.E001",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def check_encryption_keys_set(
    *, app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> Sequence[CheckMessage]:
    """csplatform.W001: in production, stored secrets need keys of their own."""
    from django.conf import settings

    if settings.ENCRYPTION_KEYS or settings.DEBUG:
        return []
    return [
        CheckWarning(
            "ENCRYPTION_KEYS is unset: stored secrets (Stripe keys, signing secrets) are "
            "encrypted with a key derived from SECRET_KEY, so changing SECRET_KEY would make "
            "them unreadable.",
            hint="Set ENCRYPTION_KEYS to a Fernet key, then run `manage.py "
            "rotate_encryption_keys` (docs/operations.md).",
            id="csplatform.W001",
        )
    ]
