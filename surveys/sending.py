"""Sending a campaign: who is asked (with fatigue control), and the emails.

`campaign_send_start` writes one invitation per contact of the campaign's audience
(the accounts its saved segment picks: accounts.segments.segment_accounts) for a new
send of the campaign, in one statement: pending, or skipped with its reason (a
former customer's, unless the campaign includes them; no email address; opted out;
surveyed within the organization's quiet period; the account already had its
surveys for the month). Nobody is dropped silently. Its dry run reads the same
statement instead of inserting it: the preview before "Send now". A second call for the
same send writes nothing (a unique constraint). In the same transaction it records
in the outbox that the emails must be queued (surveys.tasks.start_sending).

`invitations_send` then emails the pending invitations one at a time, each in a
transaction of its own that holds the invitation's row while the SMTP server
accepts the message and marks it sent as it commits: a crashed worker leaves the
invitations it had not finished pending, and the next run sends just those.
(Only a crash in the instant between the server's acceptance and the commit can
send one message twice; its Message-ID is the same both times.) Several workers
can run at once: each takes invitations no other holds.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Count, DateTimeField, ExpressionWrapper, F, Max, QuerySet, Value
from django.db.models.functions import Least
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.segments import FORMER_CUSTOMER, segment_accounts
from accounts.tenancy import current_organization
from csplatform.bounds import EARLIEST_INSTANT
from csplatform.clock import local_today, organization_midnight
from csplatform.mail import email_build
from csplatform.tasks import enqueue_on_commit, organization_lock
from surveys.models import Campaign, SkipReason, SurveyInvitation, SurveyInvitationStatus
from surveys.tokens import make_answer_token
from surveys.views import LANGUAGES


@dataclass(frozen=True)
class SendPlan:
    """Who a send emails: `pending` contacts (at `accounts` accounts) and the skipped
    ones by reason. A preview (dry run) also has the `fingerprint` of exactly who is
    emailed or skipped and why: a confirmation names it, and a different one means the
    audience changed since the preview."""

    send_number: int
    pending: int
    skipped: dict[str, int]  # reason → how many contacts
    accounts: int = 0  # accounts with at least one contact emailed
    fingerprint: str = ""

    @property
    def contacts(self) -> int:
        """Every contact of the audience, emailed or skipped."""
        return self.pending + sum(self.skipped.values())


# Who a send asks, and why not the others, contact by contact (precedence: former
# customer, no email, opted out, quiet period, the account's monthly cap). {audience}
# and {former} are the SQL of querysets of account ids (accounts.segments).
_PLANNED = """
WITH audience AS (
    SELECT c.id AS contact_id, c.account_id, c.email, c.opted_out_at,
           c.account_id IN ({former}) AS former_customer,
           (SELECT max(coalesce(i.sent_at, i.created_at)) FROM surveys_surveyinvitation i
            WHERE i.contact_id = c.id AND i.status IN ('pending', 'sent')) AS last_sent
    FROM accounts_contact c
    WHERE c.account_id IN ({audience})
),
sent_this_month AS (
    SELECT c.account_id, count(*) AS n
    FROM surveys_surveyinvitation i JOIN accounts_contact c ON c.id = i.contact_id
    WHERE i.status IN ('pending', 'sent')
      AND coalesce(i.sent_at, i.created_at) >= %(month_start)s
    GROUP BY c.account_id
),
judged AS (
    SELECT a.contact_id, a.account_id,
           CASE WHEN a.former_customer AND NOT %(include_former)s THEN 'former_customer'
                WHEN a.email = '' THEN 'no_email'
                WHEN a.opted_out_at IS NOT NULL THEN 'opted_out'
                WHEN a.last_sent >= %(quiet_since)s THEN 'quiet_period'
           END AS early_reason
    FROM audience a
),
ranked AS (
    SELECT j.*, coalesce(m.n, 0) + row_number() OVER (
               PARTITION BY j.account_id, j.early_reason IS NULL ORDER BY j.contact_id
           ) AS nth
    FROM judged j LEFT JOIN sent_this_month m ON m.account_id = j.account_id
),
planned AS (
    SELECT contact_id, account_id,
           CASE WHEN early_reason IS NOT NULL OR nth > %(cap)s THEN 'skipped'
                ELSE 'pending' END AS status,
           CASE WHEN early_reason IS NOT NULL THEN early_reason
                WHEN nth > %(cap)s THEN 'account_cap' ELSE '' END AS skip_reason
    FROM ranked
)
"""

_INSERT = """
INSERT INTO surveys_surveyinvitation (organization_id, campaign_id, send_number, contact_id,
                                status, skip_reason, created_at)
SELECT %(organization)s, %(campaign)s, %(send)s, contact_id, status, skip_reason, %(now)s
FROM planned
ON CONFLICT DO NOTHING
"""

_PREVIEW = """
SELECT skip_reason, count(*), count(DISTINCT account_id),
       md5(string_agg(contact_id::text, ',' ORDER BY contact_id))
FROM planned
GROUP BY skip_reason
"""


class StillSending(ValidationError):  # noqa: N818 (a verdict, as ValidationError)
    """The campaign's previous send still has emails waiting."""


def _named(sql: str, params: Any, prefix: str) -> tuple[str, dict[str, Any]]:
    """A queryset's SQL with its positional parameters renamed `<prefix><n>`, to sit
    inside a statement with named parameters."""
    values = list(params)
    named: dict[str, Any] = {}

    def rename(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%%"
        name = f"{prefix}{len(named)}"
        named[name] = values[len(named)]
        return f"%({name})s"

    return re.sub(r"%%|%s", rename, sql), named


def campaign_audience(campaign: Campaign, *, today: date) -> QuerySet[Account]:
    """The accounts of the campaign's audience on `today`: its segment's (owner "me"
    being the segment's creator), or every account for a campaign without one."""
    segment = campaign.audience
    if segment is None:
        return segment_accounts({}, today=today)
    return segment_accounts(segment.filters, today=today, user_id=segment.created_by_id)


@transaction.atomic
def campaign_send_start(
    campaign: Campaign, *, now: datetime | None = None, dry_run: bool = False
) -> SendPlan:
    """Start the campaign's next send: its invitations, pending or skipped with a reason,
    and (through the outbox, once this commits) the queueing of its emails.
    Invitations waiting to be emailed count as surveys (quiet period, monthly cap), and
    a campaign still sending its last send is refused (StillSending).

    `dry_run`: the same plan, written nowhere: how many contacts and accounts would be
    emailed, how many skipped by reason, and its fingerprint (the preview before "Send
    now", and `send_survey --dry-run`)."""
    from surveys.tasks import start_sending  # the tasks call this module

    organization = current_organization()
    if not dry_run:
        organization_lock("surveys.sending.campaign_send_start")
    waiting = SurveyInvitation.objects.filter(
        campaign=campaign, status=SurveyInvitationStatus.PENDING
    ).count()
    if waiting:
        raise StillSending(
            _("“%(name)s” is still sending: %(count)s emails are waiting to go out.")
            % {"name": campaign.name, "count": waiting},
            code="sending",
        )
    now = now or timezone.now()
    last = SurveyInvitation.objects.filter(campaign=campaign).aggregate(n=Max("send_number"))["n"]
    send_number = (last or 0) + 1
    today = local_today(organization.time_zone, at=now)  # its month
    audience_sql, audience_params = _named(
        *campaign_audience(campaign, today=today).values("pk").query.sql_with_params(), "aud"
    )
    former_sql, former_params = _named(
        *segment_accounts({"customer": FORMER_CUSTOMER}, today=today)
        .values("pk")
        .query.sql_with_params(),
        "former",
    )
    params = {
        **audience_params,
        **former_params,
        "organization": organization.pk,
        "campaign": campaign.pk,
        "send": send_number,
        "include_former": campaign.include_former_customers,
        "month_start": organization_midnight(today.replace(day=1), organization),
        # Capped where no invitation can be that old (a period stored before
        # its maximum would overflow): the same contacts are quiet.
        "quiet_since": now
        - timedelta(days=min(organization.survey_quiet_days, _days_since_earliest(now))),
        "cap": organization.survey_account_monthly_cap,
        "now": now,
    }
    planned = _PLANNED.format(audience=audience_sql, former=former_sql)
    with connection.cursor() as cursor:
        if dry_run:
            cursor.execute(planned + _PREVIEW, params)
            return _preview(campaign, send_number, cursor.fetchall())
        cursor.execute(planned + _INSERT, params)
    enqueue_on_commit(start_sending, organization.pk, campaign.pk)
    return send_plan(campaign, send_number)


def _preview(
    campaign: Campaign, send_number: int, rows: list[tuple[str, int, int, str]]
) -> SendPlan:
    pending, accounts = 0, 0
    skipped: dict[str, int] = {}
    for reason, contacts, reason_accounts, _digest in rows:
        if reason:
            skipped[reason] = contacts
        else:
            pending, accounts = contacts, reason_accounts
    # What the person confirms: this send, of this survey, to these contacts for these
    # reasons. A survey or audience choice changed since the preview changes it too.
    digest = hashlib.sha256(
        f"{send_number}|{campaign.survey_id}|{campaign.audience_id}|"
        f"{campaign.include_former_customers}".encode()
    )
    for reason, _contacts, _accounts, contacts_digest in sorted(rows):
        digest.update(f"|{reason}:{contacts_digest}".encode())
    return SendPlan(send_number, pending, skipped, accounts, digest.hexdigest()[:32])


def send_plan(campaign: Campaign, send_number: int) -> SendPlan:
    """What the send `send_number` of the campaign wrote: contacts emailed (and their
    accounts) and skipped by reason. One grouped query."""
    rows = (
        SurveyInvitation.objects.filter(campaign=campaign, send_number=send_number)
        .values("status", "skip_reason")
        .annotate(contacts=Count("pk"), accounts=Count("contact__account_id", distinct=True))
        .order_by()
    )
    pending, accounts = 0, 0
    skipped: dict[str, int] = {}
    for row in rows:
        if row["status"] == SurveyInvitationStatus.SKIPPED:
            skipped[row["skip_reason"]] = row["contacts"]
        elif row["status"] == SurveyInvitationStatus.PENDING:
            pending, accounts = row["contacts"], row["accounts"]
    return SendPlan(send_number, pending, skipped, accounts)


def _token(invitation: SurveyInvitation) -> str:
    return make_answer_token(
        organization_id=invitation.organization_id, invitation_id=invitation.pk
    )


def answer_url(invitation: SurveyInvitation, score: int | None = None) -> str:
    url = settings.SITE_URL + reverse("public_surveys:answer", args=[_token(invitation)])
    return url if score is None else f"{url}?score={score}"


def invitation_email(
    invitation: SurveyInvitation, *, reminder: bool = False
) -> EmailMultiAlternatives:
    """The survey email, in the contact's language: the question, the scale as buttons
    (each a link with its score), and a one-click unsubscribe. A reminder says so in
    its subject and has a Message-ID of its own."""
    organization = current_organization()
    contact = invitation.contact
    survey = invitation.campaign.survey
    language = LANGUAGES.get((contact.locale or organization.default_locale or "").lower(), "en")
    unsubscribe = settings.SITE_URL + reverse(
        "public_surveys:unsubscribe", args=[_token(invitation)]
    )

    def subject() -> str:
        plain = _("%(organization)s: a one-click question") % {"organization": organization.name}
        return _("Reminder: %(subject)s") % {"subject": plain} if reminder else plain

    domain = settings.SITE_URL.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return email_build(
        to=contact.email,
        language=language,
        subject=subject,
        template="surveys/email/invitation",
        context={
            "organization": organization,
            "contact": contact,
            "question": survey.question(language),
            "kind": survey.kind,
            "buttons": [(score, answer_url(invitation, score)) for score in survey.scale],
            "unsubscribe_url": unsubscribe,
        },
        headers={
            "Message-ID": f"<survey-{organization.pk}-{invitation.pk}"
            f"{'-reminder' if reminder else ''}@{domain}>",
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def invitation_send_next(campaign_id: int) -> bool:
    """Email one pending invitation of the campaign, in a transaction of its own.
    False when none is left (or every one left is held by another worker)."""
    with transaction.atomic():
        invitation = (
            SurveyInvitation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("contact", "campaign__survey")
            .filter(campaign_id=campaign_id, status=SurveyInvitationStatus.PENDING)
            .order_by("pk")
            .first()
        )
        if invitation is None:
            return False
        if invitation.contact.opted_out_at is not None:  # opted out since the send began
            invitation.status, invitation.skip_reason = (
                SurveyInvitationStatus.SKIPPED,
                SkipReason.OPTED_OUT,
            )
            invitation.save(update_fields=["status", "skip_reason"])
            return True
        email = invitation_email(invitation)
        try:
            email.send()
        except (smtplib.SMTPRecipientsRefused, ValueError):
            # Permanent for this address (refused by the server, or one that cannot be
            # written in an SMTP envelope, such as a non-ASCII local part): say so and go
            # on with the others. (Any other error rolls back: the invitation stays
            # pending and is tried again.)
            invitation.status = SurveyInvitationStatus.FAILED
            invitation.skip_reason = SkipReason.REFUSED
            invitation.save(update_fields=["status", "skip_reason"])
            return True
        invitation.status, invitation.sent_at = SurveyInvitationStatus.SENT, timezone.now()
        invitation.save(update_fields=["status", "sent_at"])
        return True


def campaign_due(campaign: Campaign, now: datetime) -> bool:
    """A scheduled campaign whose latest scheduled time has passed with no send since:
    its first send once `starts_at` has come, then one every `repeat_every_days`."""
    if campaign.starts_at is None or campaign.starts_at > now:
        return False
    latest = campaign.starts_at
    # A period longer than the time since the start has not come round yet (and one
    # stored before its maximum, 2147483647 days, could not even be a timedelta).
    if campaign.repeat_every_days and campaign.repeat_every_days <= (now - latest).days:
        period = timedelta(days=campaign.repeat_every_days)
        latest += period * ((now - campaign.starts_at) // period)
    last_send = SurveyInvitation.objects.filter(campaign=campaign).aggregate(at=Max("created_at"))[
        "at"
    ]
    return last_send is None or last_send < latest


def campaigns_start_due(now: datetime | None = None) -> list[tuple[Campaign, SendPlan]]:
    """Start the send of every campaign of the current organization that is due."""
    now = now or timezone.now()
    started = []
    for campaign in Campaign.objects.filter(starts_at__lte=now).select_related("survey"):
        if campaign_due(campaign, now):
            try:
                started.append((campaign, campaign_send_start(campaign, now=now)))
            except StillSending:
                continue  # the next tick, once its emails are out
    return started


def campaigns_still_sending() -> list[int]:
    """The current organization's campaigns with invitations waiting to be emailed."""
    return list(
        SurveyInvitation.objects.filter(status=SurveyInvitationStatus.PENDING)
        .values_list("campaign_id", flat=True)
        .distinct()
    )


def invitation_remind_next(campaign_id: int, now: datetime | None = None) -> bool:
    """Email the reminder of one invitation sent `remind_after_days` ago or more, not yet
    answered nor reminded, in a transaction of its own (as invitation_send_next).
    False when none is left."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None or not campaign.remind_after_days:
            return False
        if campaign.remind_after_days > _days_since_earliest(now):
            return False  # no invitation was sent that long ago
        invitation = (
            SurveyInvitation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("contact", "campaign__survey")
            .filter(
                campaign_id=campaign_id,
                status=SurveyInvitationStatus.SENT,
                reminded_at__isnull=True,
                response__isnull=True,
                contact__opted_out_at__isnull=True,
                sent_at__lte=now - timedelta(days=campaign.remind_after_days),
            )
            .order_by("pk")
            .first()
        )
        if invitation is None:
            return False
        invitation_email(invitation, reminder=True).send()
        invitation.reminded_at = timezone.now()
        invitation.save(update_fields=["reminded_at"])
        return True


def _days_since_earliest(now: datetime) -> int:
    """More days than any invitation can have waited: none was sent before the accepted
    range's first day (csplatform.bounds)."""
    return (now - EARLIEST_INSTANT).days + 1


def campaigns_with_reminders_due(now: datetime | None = None) -> list[int]:
    """The current organization's campaigns with at least one reminder due (one query)."""
    now = now or timezone.now()
    # Capped where no invitation can be that old, so a period stored before its maximum
    # (2147483647 days) is never due instead of overflowing the timestamp.
    remind_after = Least(F("campaign__remind_after_days"), Value(_days_since_earliest(now)))
    due_at = ExpressionWrapper(
        F("sent_at") + remind_after * timedelta(days=1),
        output_field=DateTimeField(),
    )
    rows = (
        SurveyInvitation.objects.filter(
            status=SurveyInvitationStatus.SENT,
            reminded_at__isnull=True,
            response__isnull=True,
            contact__opted_out_at__isnull=True,
            campaign__remind_after_days__isnull=False,
        )
        .annotate(due_at=due_at)
        .filter(due_at__lte=now)
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    return list(rows)
