from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts import privacy
from accounts.models import Contact, ErasureChannel, normalize_email
from csplatform.commands import org_argument_add, org_from_options
from csplatform.tenancy import tenant_context


class Command(BaseCommand):
    help = (
        "Erase a person from an organization on their request (LGPD / GDPR): every contact "
        "with the email, and every text naming them; their survey scores stay, anonymous. "
        "See docs/privacy.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        org_argument_add(parser)
        parser.add_argument("--email", required=True, help="The person's email address.")
        parser.add_argument(
            "--requested-by",
            required=True,
            metavar="WHO",
            help=(
                "Who asked, for the audit log: the operator and the request, e.g. "
                "'ana@ops: ticket 4312'. Never the erased person's email."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = org_from_options(options)
        email = normalize_email(options["email"])
        with tenant_context(organization):
            contact = Contact.objects.filter(email__iexact=email).order_by("pk").first()
            if contact is None:
                # Said without echoing the address back into logs.
                self.stdout.write("No contact of this organization has that email: nothing to do.")
                return
            result = privacy.contact_erase(
                contact,
                actor=None,
                channel=ErasureChannel.COMMAND,
                operator=options["requested_by"],
            )
        removed = ", ".join(f"{kind}: {count}" for kind, count in result.removed.items())
        self.stdout.write(self.style.SUCCESS(f"Erased. {removed}"))
