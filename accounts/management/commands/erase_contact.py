from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import privacy
from accounts.models import Contact, ErasureChannel, Organization, normalize_email
from csplatform.tenancy import tenant_context


class Command(BaseCommand):
    help = (
        "Erase a person from an organization on their request (LGPD / GDPR): every contact "
        "with the email, and every text naming them; their survey scores stay, anonymous. "
        "See docs/privacy.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--org",
            "--organization",
            dest="organization",
            metavar="SLUG",
            required=True,
            help="The organization's slug.",
        )
        parser.add_argument("--email", required=True, help="The person's email address.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization has the slug {options['organization']!r}.")
        email = normalize_email(options["email"])
        with tenant_context(organization):
            contact = Contact.objects.filter(email__iexact=email).order_by("pk").first()
            if contact is None:
                # Said without echoing the address back into logs.
                self.stdout.write("No contact of this organization has that email: nothing to do.")
                return
            result = privacy.contact_erase(contact, actor=None, channel=ErasureChannel.COMMAND)
        removed = ", ".join(f"{kind}: {count}" for kind, count in result.removed.items())
        self.stdout.write(self.style.SUCCESS(f"Erased. {removed}"))
