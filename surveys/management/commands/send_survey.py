from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from accounts.models import Organization
from csplatform.commands import org_argument_add
from csplatform.tenancy import tenant_context
from surveys.models import Campaign, SkipReason
from surveys.sending import SendPlan, StillSending, campaign_send_start


class Command(BaseCommand):
    help = (
        "Start the next send of a survey campaign: one invitation per contact of its "
        "audience, with the skipped ones and why, then queue the emails (Celery sends them "
        "at SURVEY_EMAILS_PER_MINUTE)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        org_argument_add(parser)
        parser.add_argument("--campaign", metavar="NAME", required=True, help="Its name.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print who the send would email and every exclusion with its count (the "
            "preview before “Send now”), and write nothing.",
        )

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
                plan = campaign_send_start(campaign, dry_run=options["dry_run"])
            except StillSending as still:
                raise CommandError(" ".join(still.messages)) from still
            audience = campaign.audience.name if campaign.audience else "every account"
        with translation.override("en"):
            if options["dry_run"]:
                self._preview(campaign, audience, plan)
                return
            self.stdout.write(
                f"Send {plan.send_number} of {campaign.name!r}: {plan.pending} to email"
                + (", queued" if plan.pending else "")
            )
            for reason, count in sorted(plan.skipped.items()):
                self.stdout.write(f"  skipped {count}: {SkipReason(reason).label}")

    def _preview(self, campaign: Campaign, audience: str, plan: SendPlan) -> None:
        former = "included" if campaign.include_former_customers else "excluded"
        self.stdout.write(
            f"Dry run of send {plan.send_number} of {campaign.name!r} "
            f"(audience: {audience}; former customers {former}): nothing was written."
        )
        self.stdout.write(
            f"Would email {plan.pending} contacts at {plan.accounts} accounts, "
            f"of {plan.contacts} contacts in the audience."
        )
        for reason in SkipReason:
            if reason == SkipReason.REFUSED:
                continue  # known only while sending
            self.stdout.write(f"  excluded {plan.skipped.get(reason.value, 0)}: {reason.label}")
        self.stdout.write(f"Fingerprint: {plan.fingerprint}")
