from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts import services
from accounts.models import Organization, Role

DEMO_PEOPLE = [
    ("owner@demo.csplatform.test", "Olivia Owner", Role.OWNER),
    ("manager@demo.csplatform.test", "Marcos Gerente", Role.MANAGER),
    ("board@demo.csplatform.test", "Beatriz Board", Role.VIEWER),
]


class Command(BaseCommand):
    help = (
        "Create the demo organization (or reset its logins): an owner, a manager and a "
        "board viewer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", default="demo")
        parser.add_argument(
            "--password",
            default="demo-password-123",
            help="Password for the three demo logins (demo only: never in production).",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        slug, password = options["slug"], options["password"]
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            organization = services.organization_create(
                slug=slug,
                name="Demo SaaS Ltda.",
                owner_email=DEMO_PEOPLE[0][0],
                currency="BRL",
                time_zone="America/Sao_Paulo",
                default_locale="pt-br",
            )
        for email, full_name, role in DEMO_PEOPLE:
            user = services.user_get_or_create(email=email, full_name=full_name)
            user.set_password(password)
            user.full_name = full_name
            user.save()
            services.membership_add(organization=organization, user=user, role=role)
        self.stdout.write(self.style.SUCCESS(f"Demo organization ready at /o/{organization.slug}/"))
        for email, _name, role in DEMO_PEOPLE:
            self.stdout.write(f"  {role.label:<14} {email}  password: {password}")
