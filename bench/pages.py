"""Server time of the dashboards on the largest organization of the large workload,
against a trivial view of the same server in the same run.

The pages are rendered in-process by Django's test client (the whole request:
middleware, session, tenant, view, template), signed in as the organization's
owner, one request at a time, so the time is the server's alone:

- `baseline`: GET /healthz (one `SELECT 1`);
- `home`: the CS manager's workspace (dashboards:home);
- `accounts`: the accounts list, first page, and filtered to the at-risk band;
- `executive`: the executive dashboard.

Before measuring, the organization's stored results are brought up to date as the
nightly sweep would (full recompute, satisfaction, today's health snapshot): the
pages read only those. Reported: each page's median and p90 in ms and its median
as a ratio to the baseline's. Targets (issue #7): median ≤ 5 × the baseline, and
under 50 ms.
"""

from __future__ import annotations

import statistics
import time
from typing import IO, Any

REQUESTS = 40  # per page (5 in a quick run)
PAGES = {
    "home": ("dashboards:home", ""),
    "accounts": ("dashboards:accounts", ""),
    "accounts_at_risk": ("dashboards:accounts", "?band=at_risk"),
    "executive": ("dashboards:executive", ""),
}


def _largest_organization(admin_dsn: str) -> Any:
    """The organization with the most accounts (read as the administrative role: it
    counts across tenants, which row-level security hides from the application)."""
    import psycopg

    from accounts.models import Organization

    with psycopg.connect(admin_dsn) as admin:
        row = admin.execute(
            "SELECT organization_id FROM accounts_account GROUP BY organization_id "
            "ORDER BY count(*) DESC, organization_id LIMIT 1"
        ).fetchone()
    return None if row is None else Organization.objects.get(pk=row[0])


def _prepare(organization: Any) -> None:
    from csplatform.tenancy import tenant_context
    from metrics.health.store import health_recompute
    from metrics.satisfaction import satisfaction_recompute
    from metrics.services import metrics_recompute

    with tenant_context(organization):
        metrics_recompute(full=True)
        satisfaction_recompute()
        health_recompute()


def _owner(organization: Any) -> Any:
    from accounts.models import Membership, Role

    membership = (
        Membership.objects.filter(organization=organization, role=Role.OWNER)
        .select_related("user")
        .first()
    )
    assert membership is not None, f"{organization.slug} has no owner"  # nosec B101 # sanity check; never run with -O
    return membership.user


def _timed(client: Any, url: str, requests: int) -> list[float]:
    response = client.get(url)  # once to warm caches; must answer
    assert response.status_code == 200, (url, response.status_code)  # nosec B101 # sanity check; never run with -O
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p90_ms": round(ordered[max(int(len(ordered) * 0.9) - 1, 0)], 2),
    }


def run(*, quick: bool, progress: IO[str]) -> dict[str, object]:
    from django.test import Client
    from django.urls import reverse

    from bench.workload import large_workload

    with large_workload(quick=quick, progress=progress) as admin_dsn:
        organization = _largest_organization(admin_dsn)
        if organization is None:
            raise RuntimeError("the workload has no accounts")
        progress.write(f"pages: {organization.slug}, bringing its stored results up to date\n")
        _prepare(organization)
        client = Client(HTTP_HOST="localhost")
        client.force_login(_owner(organization))
        requests = 5 if quick else REQUESTS
        baseline = _summary(_timed(client, reverse("healthz"), requests))
        progress.write(f"  baseline /healthz: {baseline}\n")
        pages: dict[str, dict[str, float]] = {}
        for name, (url_name, query) in PAGES.items():
            url = reverse(url_name, kwargs={"org_slug": organization.slug}) + query
            pages[name] = _summary(_timed(client, url, requests))
            pages[name]["ratio"] = round(pages[name]["median_ms"] / baseline["median_ms"], 2)
            progress.write(f"  {name}: {pages[name]}\n")
    return {
        "organization": organization.slug,
        "requests_per_page": requests,
        "baseline": baseline,
        "pages": pages,
        "ratio_target": 5.0,
        "median_ms_target": 50.0,
    }
