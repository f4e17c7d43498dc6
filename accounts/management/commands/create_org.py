from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services


class Command(BaseCommand):
    help = "Create an organization (a tenant) and its owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Used in addresses: /o/<slug>/ (e.g. acme-brasil).")
        parser.add_argument("--name", required=True, help="The organization's display name.")
        parser.add_argument("--owner-email", required=True, help="Created if no such user yet.")
        parser.add_argument("--owner-password", help="For a new owner; else reset by email.")
        parser.add_argument("--currency", default="USD", help="ISO 4217 code, e.g. BRL.")
        parser.add_argument("--time-zone", default="UTC", help="e.g. America/Sao_Paulo.")
        parser.add_argument("--locale", default="en", choices=["en", "pt-br"])

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            organization = services.organization_create(
                slug=options["slug"],
                name=options["name"],
                owner_email=options["owner_email"],
                owner_password=options["owner_password"],
                currency=options["currency"],
                time_zone=options["time_zone"],
                default_locale=options["locale"],
            )
        except ValidationError as error:
            details = (
                "; ".join(
                    f"{field}: {' '.join(messages)}"
                    for field, messages in error.message_dict.items()
                )
                if hasattr(error, "error_dict")
                else " ".join(error.messages)
            )
            raise CommandError(f"Organization not created: {details}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {organization.name} at /o/{organization.slug}/ "
                f"owned by {options['owner_email']}."
            )
        )
