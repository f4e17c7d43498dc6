import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts import services
from accounts.models import Account, Membership, Organization, Role
from bench import demo
from bench.demo.surveys import responses_generate
from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from journeys.models import CoreFeature, ValueMilestone
from journeys.services import lifecycle_stages_ensure
from metrics.health.model import health_model
from metrics.playbooks import playbooks_default

# A demo organization's configuration: the features that make a customer "adopted",
# and the events that mean it got value.
DEMO_CORE_FEATURES = ["report.generated", "dashboard.viewed", "export.csv", "integration.synced"]
DEMO_MILESTONES = [
    ("report.generated", "First report generated"),
    ("integration.synced", "First integration synced"),
]

DEMO_AT_RISK_BELOW = 55

DEMO_PEOPLE = [
    ("owner@demo.csplatform.test", "Olivia Owner", Role.OWNER),
    ("manager@demo.csplatform.test", "Marcos Gerente", Role.MANAGER),
    ("board@demo.csplatform.test", "Beatriz Board", Role.VIEWER),
]


class Command(BaseCommand):
    help = (
        "Create the demo organization (owner, manager and board viewer logins) with realistic "
        "customers, subscriptions, usage, touchpoints and NPS answers, and its journey "
        "configuration (stages, core features, value milestones, playbooks); --scale large "
        "is the benchmark "
        "workload. Deterministic for a given --seed. Organizations that already have "
        "accounts are left as they are."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=sorted(demo.SCALES), default="small")
        parser.add_argument("--orgs", type=int, help="Organizations (default: the scale's).")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--password",
            default="demo-password-123",
            help="Password of the demo logins (demo only: never in production).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scale = demo.SCALES[options["scale"]]
        count = options["orgs"] or scale.organizations
        organization = self._demo_organization(options["password"])
        self.stdout.write(self.style.SUCCESS(f"Demo organization ready at /o/{organization.slug}/"))
        for email, _name, role in DEMO_PEOPLE:
            self.stdout.write(f"  {role.label:<14} {email}  password: {options['password']}")
        started = time.monotonic()
        for index in range(count):
            target = organization if index == 0 else self._extra_organization(index)
            self._seed(target, index, scale, options["seed"], count)
        self.stdout.write(f"Seeded in {time.monotonic() - started:.1f}s.")

    @transaction.atomic
    def _demo_organization(self, password: str) -> Organization:
        organization = Organization.objects.filter(slug="demo").first()
        if organization is None:
            organization = services.organization_create(
                slug="demo",
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
        return organization

    def _extra_organization(self, index: int) -> Organization:
        slug = f"demo-{index:03d}"
        return Organization.objects.filter(slug=slug).first() or services.organization_create(
            slug=slug,
            name=f"Demo Tenant {index:03d}",
            owner_email=f"owner-{index:03d}@demo.csplatform.test",
            currency="BRL",
            time_zone="America/Sao_Paulo",
            default_locale="pt-br",
        )

    def _seed(
        self, organization: Organization, index: int, scale: demo.Scale, seed: int, count: int
    ) -> None:
        started = time.monotonic()
        with tenant_context(organization):
            if Account.objects.exists():
                self.stdout.write(f"[{index + 1}/{count}] {organization.slug}: already seeded")
                return
            owners = list(
                Membership.objects.filter(
                    organization=organization,  # Membership: the tenancy's own table
                    role__in=[Role.MANAGER, Role.OWNER, Role.ADMIN],
                ).values_list("user_id", flat=True)
            )
            made = demo.generate(
                organization_id=organization.pk,
                index=index,
                seed=seed,
                scale=scale,
                owner_ids=owners,
                today=organization_today(organization),
            )
            answers = responses_generate(
                organization_id=organization.pk,
                customers=made.customers,
                seed=seed,
                index=index,
                today=organization_today(organization),
            )
            self._configure()
        self.stdout.write(
            f"[{index + 1}/{count}] {organization.slug}: {made.accounts} accounts, "
            f"{made.contacts} contacts, {made.subscriptions} subscriptions, {made.events} events, "
            f"{made.touchpoints} touchpoints, {answers} survey answers "
            f"({time.monotonic() - started:.1f}s)"
        )

    def _configure(self) -> None:
        """The journey a CS team would set up: stages, core features, value milestones,
        the default health model and playbooks."""
        lifecycle_stages_ensure()
        for feature in DEMO_CORE_FEATURES:
            CoreFeature.objects.get_or_create(feature=feature)
        for event_name, name in DEMO_MILESTONES:
            ValueMilestone.objects.get_or_create(event_name=event_name, defaults={"name": name})
        # Calibrated as the demo's CS team would after reading its back-test: the lowest
        # tenth of scores (below about 55) churned at four times the average rate.
        calibrated = health_model()
        calibrated.at_risk_below = DEMO_AT_RISK_BELOW
        calibrated.save(update_fields=["at_risk_below"])
        playbooks_default()
