"""The account 360° page (manager and up): header, subscriptions and MRR history, health,
timeline, contacts and open tasks; a note is added inline (the timeline is its partial),
a task completed inline through the to-dos' own views (todos/list.html#task-row).

Every section is a fixed number of queries, whatever the account's history.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import fx
from accounts.http import OrganizationRequest
from accounts.models import Account, Contact
from accounts.permissions import manager_required
from accounts.services import NOTE_MAX_CHARS, note_create
from accounts.tenancy import current_organization
from csplatform.charts import money_axis
from csplatform.clock import organization_today
from csplatform.http import render_page
from dashboards import account_selectors as selectors
from dashboards.charts import chart
from dashboards.forms.todos import SNOOZE_DAYS
from dashboards.views.health import account_trend_context
from journeys.models import LifecycleStage, Todo, TodoStatus
from journeys.selectors import lifecycle_stage_list
from metrics import health_selectors

TIMELINE_LIMIT = 50
TIMELINE = "dashboards/account/timeline.html"


def _account_get(account_id: int) -> Account:
    """One account of the current organization; another organization's is a 404."""
    return get_object_or_404(Account.objects.select_related("owner"), pk=account_id)


def _page_url(account: Account) -> str:
    return reverse(
        "dashboards:account",
        kwargs={"org_slug": current_organization().slug, "account_id": account.pk},
    )


def _mrr_chart(history: pd.DataFrame, currency: str) -> Any:
    """The MRR by month as a line (None with fewer than two months)."""
    if len(history) < 2:
        return None
    figure = go.Figure(
        go.Scatter(
            x=[month.isoformat() for month in history["month"]],
            y=[cents / 100 for cents in history["mrr_cents"].tolist()],
            name=_("MRR (%(currency)s)") % {"currency": currency},
            mode="lines+markers",
            line={"shape": "hv"},
        )
    )
    figure.update_yaxes(rangemode="tozero", title_text=currency, **money_axis(currency))
    return chart(figure, element_id="account-mrr", label=_("MRR at the end of each month"))


def _timeline_context(
    request: OrganizationRequest,
    account: Account,
    stages: list[LifecycleStage],
    *,
    latest: bool = False,
) -> dict[str, Any]:
    """The timeline from the cursor in `?before=` (the latest events when `latest`)."""
    language = translation.get_language() or "en"
    before = None if latest else selectors.Cursor.parse(request.GET.get("before", ""))
    timeline = selectors.account_timeline(
        account_id=account.pk,
        stage_names={stage.key: stage.name(language) for stage in stages},
        before=before,
        limit=TIMELINE_LIMIT,
    )
    return {
        "account": account,
        "timeline": timeline,
        "timeline_from_cursor": before is not None,
        "page_url": _page_url(account),
        "note_max_chars": NOTE_MAX_CHARS,
    }


def _page_context(request: OrganizationRequest, account: Account) -> dict[str, Any]:
    today = organization_today()
    currency = current_organization().currency
    subscriptions = list(
        account.subscriptions.annotate(fx_day=fx.rate_day()).order_by("-started_on", "-pk")
    )
    history = selectors.account_mrr_history(subscriptions, through=today)
    unrated = sorted(
        (s for s in subscriptions if s.fx_rate is None), key=lambda s: (s.started_on, s.pk)
    )
    stages = lifecycle_stage_list()
    return {
        **_timeline_context(request, account, stages),
        "currency": currency,
        "stages": stages,
        "stage": next((s for s in stages if s.key == account.lifecycle_stage), None),
        "mrr_cents": selectors.account_mrr_cents(subscriptions, today=today),
        "subscriptions": subscriptions,
        # The "missing rates" notice, from the subscriptions read already (no query).
        "missing_rates": unrated,
        "missing_rates_count": len(unrated),
        "mrr_history": [
            (month, int(cents))
            for month, cents in zip(history["month"], history["mrr_cents"], strict=True)
        ],
        "mrr_chart": _mrr_chart(history, currency),
        "health": health_selectors.account_health(account_id=account.pk),
        **account_trend_context(account.pk),
        "contacts": Contact.objects.filter(account=account).order_by("name", "email"),
        "todos": Todo.objects.filter(account=account, status=TodoStatus.OPEN)
        .select_related("account", "assignee", "playbook")
        .order_by("due_on", "pk"),
        # What todos/list.html#task-row needs besides its to-do; its forms come back here.
        "today": today,
        "tomorrow": today + timedelta(days=1),
        "snooze_default": today + timedelta(days=SNOOZE_DAYS),
        "next": _page_url(account) + "#tasks",
    }


@manager_required
@require_http_methods(["GET"])
def account(request: OrganizationRequest, org_slug: str, account_id: int) -> HttpResponse:
    account = _account_get(account_id)
    if request.htmx and "before" in request.GET:  # "show older" appends to the timeline
        context = _timeline_context(request, account, lifecycle_stage_list())
        return render_page(request, TIMELINE, context, partial="timeline-items")
    return render(request, "dashboards/account/page.html", _page_context(request, account))


@manager_required
@require_POST
def account_note(request: OrganizationRequest, org_slug: str, account_id: int) -> HttpResponse:
    account = _account_get(account_id)
    body = request.POST.get("body", "")
    try:
        note_create(account=account, author=request.user, body=body)
    except ValidationError as invalid:
        errors = {"note_error": " ".join(invalid.message_dict["body"]), "note_body": body}
        if request.htmx:  # htmx swaps only a 2xx answer: the form again, saying why
            context = _timeline_context(request, account, lifecycle_stage_list(), latest=True)
            return render(request, TIMELINE, {**context, **errors})
        return render(
            request,
            "dashboards/account/page.html",
            {**_page_context(request, account), **errors},
            status=400,
        )
    if request.htmx:  # the timeline again, the new note on top
        context = _timeline_context(request, account, lifecycle_stage_list(), latest=True)
        return render(request, TIMELINE, {**context, "note_added": True})
    messages.success(request, _("Note added to %(account)s.") % {"account": account.name})
    return redirect(_page_url(account) + "#timeline")
