"""Surveys (NPS, CSAT, CES), the campaigns that send them, one invitation per contact and
send, and at most one response per invitation (see docs/surveys.md)."""

from __future__ import annotations

import operator
from functools import reduce

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import Contact
from csplatform.bounds import validate_day
from csplatform.tenancy import TenantModel

# A year: the scheduler computes dates from these periods (2147483647 days overflowed).
MAX_CAMPAIGN_PERIOD_DAYS = 366


class SurveyKind(models.TextChoices):
    NPS = "nps", _("NPS (0–10)")
    CSAT = "csat", _("CSAT (1–5)")
    CES = "ces", _("CES (1–7)")


# Each kind's scale, lowest to highest (METRICS.md, Satisfaction).
SCALES = {SurveyKind.NPS: range(11), SurveyKind.CSAT: range(1, 6), SurveyKind.CES: range(1, 8)}


def is_negative(kind: str, score: int) -> bool:
    """A detractor (NPS 0–6), a dissatisfied customer (CSAT ≤ 2) or a hard effort (CES ≤ 3)."""
    limit = {SurveyKind.NPS: 6, SurveyKind.CSAT: 2, SurveyKind.CES: 3}[SurveyKind(kind)]
    return score <= limit


def negative_answers(score: str = "score") -> Q:
    """The answers is_negative calls negative, as a query condition on a response's kind
    and `score` (the field, or an annotation such as the score an answer had on a past
    day): each kind's worst scores, read from is_negative so the two never disagree."""
    return reduce(
        operator.or_,
        (
            Q(kind=kind, **{f"{score}__lte": max(s for s in scale if is_negative(kind, s))})
            for kind, scale in SCALES.items()
        ),
    )


class SurveyTouchpoint(models.TextChoices):
    SUPPORT = "support", _("Support")
    PRODUCT = "product", _("Product")
    POST_SALE = "post_sale", _("Post-sale")
    COMPANY = "company", _("Company")


class Survey(TenantModel):
    """One question on a scale, in English and Brazilian Portuguese, and an optional
    follow-up question asked once the score is in."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=SurveyKind.choices)
    question_en = models.CharField(_("question (English)"), max_length=500)
    question_pt_br = models.CharField(_("question (Brazilian Portuguese)"), max_length=500)
    follow_up_en = models.CharField(_("follow-up (English)"), max_length=500, blank=True)
    follow_up_pt_br = models.CharField(
        _("follow-up (Brazilian Portuguese)"), max_length=500, blank=True
    )
    touchpoint = models.CharField(
        _("touchpoint"), max_length=16, choices=SurveyTouchpoint.choices, blank=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="survey_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scale(self) -> range:
        return SCALES[SurveyKind(self.kind)]

    def question(self, language: str | None = None) -> str:
        return self.question_pt_br if _is_portuguese(language) else self.question_en

    def follow_up(self, language: str | None = None) -> str:
        return self.follow_up_pt_br if _is_portuguese(language) else self.follow_up_en


def _is_portuguese(language: str | None) -> bool:
    return (language or get_language() or "en").lower().startswith("pt")


class Campaign(TenantModel):
    """A survey sent to an audience: now or from a date, once or every N days."""

    survey = models.ForeignKey(
        Survey, on_delete=models.DB_CASCADE, related_name="campaigns", verbose_name=_("survey")
    )
    name = models.CharField(_("name"), max_length=200)
    # Who is asked: the accounts of a saved segment (accounts.segments), or every account
    # when empty. Former customers' contacts are skipped unless included on purpose.
    audience = models.ForeignKey(
        "accounts.Segment",
        # A segment in use is not deleted (accounts.segment_services.segment_delete
        # refuses it); the database's constraint stops any other way. Never SET NULL: an
        # empty audience is every account.
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("audience"),
        help_text=_("A saved segment of accounts; empty: every account."),
    )
    include_former_customers = models.BooleanField(
        _("include former customers"),
        default=False,
        help_text=_("Also ask the contacts of accounts whose subscriptions have ended."),
    )
    starts_at = models.DateTimeField(
        _("first send"), null=True, blank=True, validators=[validate_day]
    )
    repeat_every_days = models.PositiveIntegerField(
        _("repeat every (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CAMPAIGN_PERIOD_DAYS)],
    )
    remind_after_days = models.PositiveIntegerField(
        _("remind after (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CAMPAIGN_PERIOD_DAYS)],
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        indexes = [models.Index(fields=["organization", "survey"], name="campaign_org_survey_idx")]

    def __str__(self) -> str:
        return self.name


class SurveyInvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")


class SkipReason(models.TextChoices):
    FORMER_CUSTOMER = "former_customer", _("The account is a former customer.")
    NO_EMAIL = "no_email", _("The contact has no email address.")
    OPTED_OUT = "opted_out", _("The contact opted out of survey email.")
    QUIET_PERIOD = "quiet_period", _("The contact was surveyed within the quiet period.")
    ACCOUNT_CAP = "account_cap", _("The account reached its surveys for the month.")
    REFUSED = "refused", _("The mail server refused the address.")


class SurveyInvitation(TenantModel):
    """One contact asked once, in one send of a campaign. Its signed token is the link."""

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.DB_CASCADE,
        related_name="invitations",
        verbose_name=_("campaign"),
    )
    send_number = models.PositiveIntegerField(_("send"), default=1)
    contact = models.ForeignKey(
        Contact, on_delete=models.DB_CASCADE, related_name="+", verbose_name=_("contact")
    )
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=SurveyInvitationStatus.choices,
        default=SurveyInvitationStatus.PENDING,
    )
    skip_reason = models.CharField(
        _("why skipped"), max_length=16, choices=SkipReason.choices, blank=True
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "campaign", "send_number", "contact"],
                name="invitation_once_per_send",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "contact", "sent_at"], name="invitation_contact")
        ]


class Response(TenantModel):
    """The answer to one invitation: one at most (a constraint, not a check in Python).
    An edit within the edit window updates it and is kept in ResponseEdit. A response
    imported from another tool has no invitation, and a key that makes a repeated
    import skip it. A negative one is also a negative touchpoint of its account, which
    journeys records with the external id `survey-response-<id>` (see
    accounts.signals.feedback_recorded): no foreign key, so neither app imports the other."""

    invitation = models.OneToOneField(
        SurveyInvitation, on_delete=models.DB_CASCADE, related_name="response", null=True
    )
    import_key = models.UUIDField(_("import key"), null=True, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.DB_CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.DB_SET_NULL, null=True, related_name="+")
    kind = models.CharField(_("kind"), max_length=8, choices=SurveyKind.choices)
    score = models.SmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    touchpoint = models.CharField(
        _("touchpoint"), max_length=16, choices=SurveyTouchpoint.choices, blank=True
    )
    # Recorded by the page's automatic submit, and so withdrawn if a scanner's burst of
    # other scores follows within the minute (see surveys.services.response_record).
    automatic = models.BooleanField(_("automatic"), default=False)
    responded_at = models.DateTimeField(_("responded"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [
            models.UniqueConstraint(fields=["organization", "invitation"], name="response_once"),
            models.UniqueConstraint(
                fields=["organization", "import_key"], name="response_import_once"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=10), name="response_score_in_any_scale"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "responded_at"], name="response_org_time"),
            models.Index(fields=["organization", "account"], name="response_org_account"),
        ]


class ResponseEdit(TenantModel):
    """What a response said before an edit."""

    response = models.ForeignKey(Response, on_delete=models.DB_CASCADE, related_name="edits")
    score = models.SmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    edited_at = models.DateTimeField(_("edited"), auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "response"], name="response_edit_idx")]


class AnswerAttempt(TenantModel):
    """Every score a page submitted on its own (JavaScript), kept a while to tell a mail
    scanner's burst of different scores from a person's click."""

    invitation = models.ForeignKey(SurveyInvitation, on_delete=models.DB_CASCADE, related_name="+")
    score = models.SmallIntegerField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "invitation", "at"], name="answer_attempt_idx")
        ]
