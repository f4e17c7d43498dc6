"""The accounts list (manager and up): every account with its owner, MRR, health and
next renewal, filtered and sorted by a GET form, 50 to a page, and its CSV export.

Without JavaScript the form is a plain GET; with htmx a change swaps only the table
(the `account-table` partial of dashboards/accounts.html) and pushes the address, so a
filtered list can be shared. It reads stored results only: the latest health
snapshot, and MRR and renewals from the subscriptions, in a fixed number of queries.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts import fx
from accounts.http import OrganizationRequest
from accounts.models import Account, Segment
from accounts.permissions import manager_required
from accounts.selectors import membership_list
from accounts.tenancy import current_organization
from csplatform.clock import organization_today
from csplatform.http import render_page
from csplatform.sparkline import sparkline_svg
from csplatform.spreadsheet import spreadsheet_cell as _cell
from csplatform.spreadsheet import spreadsheet_number, spreadsheet_separators
from dashboards.forms.portfolio import AccountFilterForm, filters_query
from journeys.selectors import lifecycle_stage_list
from metrics import portfolio_selectors as selectors
from metrics.health.scoring import FLAG_ENGAGED_NO_RESULTS, FLAG_HAPPY_UNENGAGED
from metrics.health_selectors import health_latest_day, health_sparklines
from metrics.models import HealthBand
from metrics.portfolio_selectors import AccountFilters

ACCOUNTS_PER_PAGE = 50
SPARKLINE_DAYS = 90  # the daily snapshots kept (metrics.health.store)

FLAG_LABELS = {
    FLAG_HAPPY_UNENGAGED: _("May leave smiling"),
    FLAG_ENGAGED_NO_RESULTS: _("Churn ahead"),
}

# Sortable columns: key, header, the direction of a first click (risk first: the
# lowest score, the largest MRR, the soonest renewal).
SORTABLE = {
    "name": (_("Account"), ""),
    "mrr": (_("MRR"), "-"),
    "score": (_("Health"), ""),
    "renewal": (_("Next renewal"), ""),
}


@dataclass(frozen=True)
class SortHeader:
    label: str
    sort: str  # the sort a click asks for
    aria_sort: str  # "ascending", "descending" or "" when not sorted by it


def _sort_headers(sort: str) -> dict[str, SortHeader]:
    current, descending = sort.removeprefix("-"), sort.startswith("-")
    headers = {}
    for key, (label, first) in SORTABLE.items():
        if key == current:
            headers[key] = SortHeader(
                str(label),
                key if descending else f"-{key}",
                "descending" if descending else "ascending",
            )
        else:
            headers[key] = SortHeader(str(label), f"{first}{key}", "")
    return headers


def filter_form(
    request: OrganizationRequest, data: Any = None
) -> tuple[AccountFilterForm, dict[str, str]]:
    """The filter form bound to `data` (None: unbound) and each stage key's name in the
    active language."""
    stages = lifecycle_stage_list()
    language = translation.get_language() or "en"
    stage_names = {s.key: s.name(language) for s in stages}
    form = AccountFilterForm(
        data,
        members=[(m.user_id, m.user.get_full_name()) for m in membership_list()],
        segments=selectors.segment_list(),
        stages=list(stage_names.items()),
    )
    return form, stage_names


def _query(filters: AccountFilters) -> str:
    """The filters as a query string, without the sort and the page."""
    return filters_query(dict(filters.values))


def _accounts(request: OrganizationRequest, filters: AccountFilters, today: date) -> Any:
    return selectors.account_list(
        filters=filters,
        user=request.user,
        today=today,
        health_day=health_latest_day(),
    )


def saved_view_list() -> list[Segment]:
    """The current organization's saved segments, A to Z, each with `query`: its filters
    as the list's parameters."""
    segments = list(Segment.objects.order_by("name"))
    for segment in segments:
        segment.query = filters_query(segment.filters)
    return segments


@manager_required
@require_http_methods(["GET"])
def account_list(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    form, stage_names = filter_form(request, request.GET or None)
    filters = form.filters()
    today = organization_today()
    page = Paginator(_accounts(request, filters, today), ACCOUNTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    # Labels for the page's rows (in Python: 50 rows, no query).
    page.object_list = list(page.object_list)
    bands = dict(HealthBand.choices)
    trends = health_sparklines(
        account_ids=[account.pk for account in page.object_list],
        since=today - timedelta(days=SPARKLINE_DAYS),
    )  # one query for the page
    label = _("Health score over the last %(days)s days") % {"days": SPARKLINE_DAYS}
    for account in page.object_list:
        account.health_sparkline = sparkline_svg(trends.get(account.pk, []), label=label)
        account.stage_name = stage_names.get(account.lifecycle_stage, account.lifecycle_stage)
        account.band_label = bands.get(account.health_band, "")
        account.flag_labels = [FLAG_LABELS.get(f, f) for f in account.health_flags or []]
    query = _query(filters)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "query": query,
        "sorted_query": f"{query}&sort={filters.sort}" if query else f"sort={filters.sort}",
        "headers": _sort_headers(filters.sort),
        "stage_names": stage_names,
        "currency": current_organization().currency,
        "has_accounts": page.paginator.count > 0 or Account.objects.exists(),
        "saved_views": saved_view_list(),
        **fx.missing_rates_context(),
    }
    return render_page(request, "dashboards/accounts.html", context, partial="account-table")


@manager_required
@require_http_methods(["GET"])
def account_list_csv(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    """The filtered list (every page) as CSV: UTF-8 with a byte-order mark, so that
    Excel reads accents; for the reader's language (`;` and decimal commas in pt-BR,
    csplatform.spreadsheet); MRR in currency units; dates as YYYY-MM-DD."""
    form, _stage_names = filter_form(request, request.GET or None)
    today = organization_today()
    organization = current_organization()
    buffer = io.StringIO()
    buffer.write("\ufeff")
    delimiter, _decimal = spreadsheet_separators()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(
        [
            "external_id",
            "name",
            "owner_email",
            "segment",
            "lifecycle_stage",
            "mrr",
            "currency",
            "health_score",
            "health_band",
            "next_renewal_on",
        ]
    )
    # Built in memory, not streamed: the rows must be read inside the request's
    # tenant transaction, which ends when the view returns.
    for account in _accounts(request, form.filters(), today).iterator(chunk_size=2000):
        writer.writerow(
            [
                _cell(account.external_id),
                _cell(account.name),
                _cell(account.owner.email) if account.owner else "",
                _cell(account.segment),
                _cell(account.lifecycle_stage),
                # Empty when unknown (a subscription without an exchange rate), not 0.
                "" if account.mrr_cents is None else spreadsheet_number(account.mrr_cents / 100, 2),
                organization.currency,
                spreadsheet_number(account.health_score, 1),
                account.health_band or "",
                account.next_renewal_on.isoformat() if account.next_renewal_on else "",
            ]
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"accounts-{organization.slug}-{today.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
