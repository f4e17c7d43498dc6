"""Encrypt every stored secret again under the first of ENCRYPTION_KEYS (docs/operations.md)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from csplatform.crypto import SecretUnreadableError, secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (Stripe keys, signing secrets) under the first key "
        "of ENCRYPTION_KEYS. Run after putting a new key first; then drop the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rows = secrets_reencrypt()
        except SecretUnreadableError as error:
            raise CommandError(f"{error} Nothing was changed.") from None
        self.stdout.write(f"Re-encrypted the secrets of {rows} row(s) under the first key.")
