"""Writes of the executive dashboard: the organization's benchmarks (created from the
defaults on first use) and the monthly email to its board viewers."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.forms import BaseModelFormSet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.audit import audit_record
from accounts.models import AuditEvent, Role, User
from accounts.selectors import membership_list
from accounts.tenancy import current_organization
from csplatform.clock import organization_midnight, organization_today
from csplatform.mail import email_build
from csplatform.tasks import organization_lock
from csplatform.texts import message_define
from dashboards.board_pack import board_pack_filename, board_pack_pdf
from dashboards.executive import (
    ExecutiveSummary,
    Period,
    add_months,
    executive_summary,
    last_complete_month,
)
from dashboards.forms import form_changes
from dashboards.models import Benchmark, BenchmarkMetric, ExecutiveDigest
from metrics.models import MonthlyMetrics


@dataclass(frozen=True)
class DefaultBenchmark:
    metric: str
    label: str  # a key (csplatform.texts)
    low: float
    high: float
    source: str
    year: int | None
    note: str = ""  # a key, or none


# ../shared/METRICS.md, "Board benchmarks". Labels and notes are stored as keys and shown
# in the reader's language (csplatform.texts) until an admin rewrites them.
DEFAULT_BENCHMARKS = [
    DefaultBenchmark(
        BenchmarkMetric.LOGO_CHURN_RATE,
        message_define(
            "benchmark.logo_churn_rate.label", gettext_noop("Monthly logo churn, B2B SaaS")
        ),
        0.05,
        0.05,
        "Recurly churn benchmarks",
        None,
        message_define(
            "benchmark.logo_churn_rate.note",
            gettext_noop("About 5 % a month. The year of the study is not recorded: add it here."),
        ),
    ),
    DefaultBenchmark(
        BenchmarkMetric.NRR,
        message_define("benchmark.nrr.label", gettext_noop("NRR median by ACV (< $12k … > $250k)")),
        1.00,
        1.10,
        "SaaS Capital survey",
        2023,
    ),
    DefaultBenchmark(
        BenchmarkMetric.GRR,
        message_define("benchmark.grr.label", gettext_noop("GRR median")),
        0.90,
        0.93,
        "SaaS Capital survey",
        2023,
    ),
    DefaultBenchmark(
        BenchmarkMetric.GROSS_DOLLAR_CHURN,
        message_define(
            "benchmark.gross_dollar_churn.label", gettext_noop("Annual gross dollar churn, median")
        ),
        0.13,
        0.13,
        "KeyBanc SaaS survey",
        2019,
    ),
]


def benchmark_defaults(
    missing: set[str], *, model: type[Any] = Benchmark, **fields: Any
) -> list[Any]:
    """The default benchmarks of the `missing` metrics, unsaved, their label and note
    stored as keys (shown in the reader's language): instances of `model` (a migration
    passes its historical model, and the `fields` it needs, such as organization_id)."""
    return [
        model(
            metric=d.metric,
            label_key=d.label,
            low=d.low,
            high=d.high,
            source=d.source,
            year=d.year,
            note_key=d.note,
            **fields,
        )
        for d in DEFAULT_BENCHMARKS
        if d.metric in missing
    ]


def _in_page_order(benchmarks: list[Benchmark]) -> list[Benchmark]:
    order = {metric: i for i, metric in enumerate(BenchmarkMetric.values)}
    return sorted(benchmarks, key=lambda b: order.get(b.metric, len(order)))


def _missing(stored: list[Benchmark]) -> set[str]:
    return {d.metric for d in DEFAULT_BENCHMARKS} - {b.metric for b in stored}


def benchmark_list() -> list[Benchmark]:
    """The current organization's benchmarks in the dashboard's order, with the default
    (unsaved) of any it has not got. Writes nothing: for the pages' GETs. One query."""
    stored = list(Benchmark.objects.all())
    return _in_page_order(stored + benchmark_defaults(_missing(stored)))


def benchmarks_ensure() -> list[Benchmark]:
    """The current organization's benchmarks, in the dashboard's order, creating any
    default one it has not got yet (once: an edited or present row is left alone).
    One query once they exist. Called when the organization is created (see
    dashboards.apps) and before its benchmarks are saved."""
    stored = list(Benchmark.objects.all())
    missing = _missing(stored)
    if missing:
        Benchmark.objects.bulk_create(
            benchmark_defaults(missing),
            ignore_conflicts=True,  # a concurrent first save created them
        )
        stored = list(Benchmark.objects.all())
    return _in_page_order(stored)


@transaction.atomic
def benchmarks_update(*, formset: BaseModelFormSet[Benchmark, Any], actor: User | None) -> None:
    """Save the (validated) benchmarks formset, audited as done by `actor` with each
    changed field's old and new value, by metric (no entry when nothing changed)."""
    changed = {
        form.instance.metric: form_changes(form) for form in formset.forms if form.has_changed()
    }
    formset.save()
    if changed:
        audit_record(
            AuditEvent.Action.BENCHMARKS_UPDATED, actor=actor, details={"changed": changed}
        )


# --- the monthly email -----------------------------------------------------------------

DIGEST_LOCK = "dashboards.executive_digest"


def executive_url(period: Period | None = None) -> str:
    """The absolute address of the current organization's executive dashboard."""
    url = settings.SITE_URL + reverse(
        "dashboards:executive", kwargs={"org_slug": current_organization().slug}
    )
    return url if period is None else f"{url}?period={period.key}"


def digest_language(viewer: User) -> str:
    """The language of a viewer's digest: theirs (User.language), else the
    organization's default, else English."""
    return viewer.language or current_organization().default_locale or "en"


def executive_digest_email(
    viewer: User,
    summary: ExecutiveSummary,
    url: str,
    board_pack: tuple[str, bytes] | None = None,
) -> EmailMultiAlternatives:
    """The headline numbers of `summary` for one viewer, in their language (else the
    organization's), with a link to the dashboard and, when given, the board pack as
    a PDF attachment (file name, bytes) in the same language."""
    organization = current_organization()
    message = email_build(
        to=viewer.email,
        language=digest_language(viewer),
        subject=lambda: (
            _("%(organization)s: the board's numbers for %(period)s")
            % {"organization": organization.name, "period": summary.period.label}
        ),
        template="dashboards/email/executive_digest",
        context={
            "organization": organization,
            "summary": summary,
            "dashboard_url": url,
            "board_pack": board_pack is not None,
        },
    )
    if board_pack is not None:
        message.attach(board_pack[0], board_pack[1], "application/pdf")
    return message


def executive_digest_send(*, today: date | None = None) -> int:
    """Email every active viewer of the current organization the headline numbers of
    the last complete month (its time zone) with the board pack attached (a PDF in the
    viewer's language, rendered once per language), once per month: the month is recorded
    (ExecutiveDigest) in the same transaction, under the organization's lock, so a
    second run sends nothing. Nothing is sent (or recorded) before that month's
    metrics are stored, or without viewers. Returns the emails sent.

    The sweep runs daily: the month goes out on the first run after its metrics were
    recomputed once it had ended. An address the server refuses, or one SMTP cannot
    carry, is skipped; any other SMTP failure rolls the record back and the next day's
    run sends to all again (at least once).
    """
    organization_lock(DIGEST_LOCK)
    month = last_complete_month(today or organization_today())
    if ExecutiveDigest.objects.filter(month=month).exists():
        return 0
    month_end = organization_midnight(add_months(month, 1))
    if not MonthlyMetrics.objects.filter(month=month, computed_at__gte=month_end).exists():
        return 0  # the month's figures are not final yet
    viewers = [
        m.user
        for m in membership_list().filter(role=Role.VIEWER, user__is_active=True)
        if m.user.email
    ]
    if not viewers:
        return 0
    period = Period("month", month)
    benchmarks = benchmarks_ensure()
    summary = executive_summary(period=period, benchmarks=benchmarks)
    url = executive_url(period)
    name = board_pack_filename(period)
    packs = {
        language: board_pack_pdf(summary=summary, benchmarks=benchmarks, language=language)
        for language in sorted({digest_language(viewer) for viewer in viewers})
    }
    messages = [
        executive_digest_email(viewer, summary, url, (name, packs[digest_language(viewer)]))
        for viewer in viewers
    ]
    with transaction.atomic():
        digest = ExecutiveDigest.objects.create(month=month, sent_at=timezone.now(), recipients=0)
        sent = 0
        for message in messages:
            try:
                message.send()
            except (smtplib.SMTPRecipientsRefused, ValueError):
                continue  # this address only: the others still get theirs
            sent += 1
        digest.recipients = sent
        digest.save(update_fields=["recipients"])
    return sent
