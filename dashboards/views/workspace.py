"""The CS manager's workspace (dashboards:home for managers): their accounts at risk
with the reason, renewals in the next 90 days with their MRR, their tasks due,
recent detractors and the health mix over time; everyone's with `?owner=all`.

It reads stored results (the health snapshots) and the source rows it lists, in a
fixed number of queries whatever the organization's size.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import fx
from accounts.http import OrganizationRequest
from accounts.models import Account, Role, User
from accounts.permissions import manager_required, request_has_role
from accounts.tenancy import current_organization
from csplatform.clock import organization_today
from dashboards.charts import health_mix_chart
from dashboards.views.health import history_context
from journeys import todo_selectors
from metrics import health_selectors, portfolio_selectors
from metrics.models import HealthBand

SHOWN = 10  # rows per block; each block links to the whole list
RENEWAL_DAYS = 90
TODO_DAYS = 7
DETRACTOR_DAYS = 30
MIX_DAYS = 365  # a year: daily for 90 days, then weekly (the snapshots kept)


def _health_blocks(owner: User | None) -> dict[str, Any]:
    """At-risk accounts with the reason, and the health mix over time."""
    day = health_selectors.health_latest_day()
    if day is None:
        return {"health_day": None}
    at_risk = health_selectors.health_at_risk_list(day=day, owner=owner)
    mix = health_selectors.health_mix_by_day(since=day - timedelta(days=MIX_DAYS), owner=owner)
    latest = mix.iloc[-1] if len(mix) else None
    return {
        "health_day": day,
        "at_risk": health_selectors.health_views_of(list(at_risk[:SHOWN])),
        "at_risk_total": at_risk.count(),
        "mix_chart": health_mix_chart(mix),
        **history_context(day),
        "mix_latest": [
            (value, label, 0 if latest is None else int(latest[value]))
            for value, label in HealthBand.choices
        ],
    }


@manager_required
@require_http_methods(["GET"])
def workspace(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    everyone = request.GET.get("owner") == "all"
    user = request.user
    owner = None if everyone else user
    context: dict[str, Any] = {
        "everyone": everyone,
        # The accounts list and the task list, narrowed as this page is.
        "owner_query": "" if everyone else "owner=me&",
    }
    if not Account.objects.exists():
        return render(request, "dashboards/workspace.html", {**context, "has_accounts": False})
    today = organization_today()
    renewals = portfolio_selectors.renewal_list(today=today, days=RENEWAL_DAYS, owner=owner)
    todos = todo_selectors.todo_list(
        status="open", assignee="all" if everyone else "me", user=user, today=today
    ).filter(due_on__lte=today + timedelta(days=TODO_DAYS))
    detractors = portfolio_selectors.negative_response_list(
        since=timezone.now() - timedelta(days=DETRACTOR_DAYS), owner=owner
    )
    context.update(
        {
            "has_accounts": True,
            "today": today,
            "currency": current_organization().currency,
            "renewals": list(renewals[:SHOWN]),
            # The total leaves out the MRR not known without an exchange rate, and says so.
            "renewals_total": renewals.aggregate(
                n=Count("pk"),
                mrr=Sum("mrr_cents"),
                unrated=Count("pk", filter=Q(mrr_cents__isnull=True)),
            ),
            "todos": list(todos[:SHOWN]),
            "todos_total": todos.count(),
            "detractors": list(detractors[:SHOWN]),
            "detractors_total": detractors.count(),
            "renewal_days": RENEWAL_DAYS,
            "todo_days": TODO_DAYS,
            "detractor_days": DETRACTOR_DAYS,
            **_health_blocks(owner),
            **fx.missing_rates_context(),
        }
    )
    return render(request, "dashboards/workspace.html", context)


def home(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    """The organization's start page: the CS workspace, or the board's dashboard for viewers."""
    if not request_has_role(request, Role.MANAGER):
        return redirect("dashboards:executive", org_slug=org_slug)
    return workspace(request, org_slug=org_slug)
