from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from csplatform.commands import org_argument_add
from csplatform.tenancy import tenant_context
from surveys.models import Campaign, SkipReason
from surveys.sending import StillSending, campaign_send_start


class Command(BaseCommand):
    help = (
        "Start the next send of a survey campaign: one invitation per contact of its "
        "audience, with the skipped ones and why, then queue the emails (Celery sends them "
        "at SURVEY_EMAILS_PER_MINUTE)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        org_argument_add(parser)
        parser.add_argument("--campaign", metavar="NAME", required=True, help="Its name.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"], is_active=True).first()
        if organization is None:
            raise CommandError(
                f"No active organization has the slug {options['org']!r}; "
                "`manage.py create_org` makes one."
            )
        with tenant_context(organization):
            campaign = Campaign.objects.filter(name=options["campaign"]).first()
            if campaign is None:
                names = ", ".join(repr(n) for n in Campaign.objects.values_list("name", flat=True))
                raise CommandError(
                    f"{organization.slug} has no campaign named {options['campaign']!r} "
                    f"(it has: {names or 'none yet'})."
                )
            try:
                plan = campaign_send_start(campaign)
            except StillSending as still:
                raise CommandError(" ".join(still.messages)) from still
        self.stdout.write(
            f"Send {plan.send_number} of {campaign.name!r}: {plan.pending} to email"
            + (", queued" if plan.pending else "")
        )
        for reason, count in sorted(plan.skipped.items()):
            self.stdout.write(f"  skipped {count}: {SkipReason(reason).label}")
