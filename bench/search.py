"""Server time of finding an account (issue 18) in the largest organization of the large
workload, against trivial and familiar views of the same server in the same run.

Rendered in-process by Django's test client (the whole request: middleware, session,
tenant, view, template), signed in as the organization's owner, one request at a time:

- `baseline`: GET /healthz (one `SELECT 1`); `accounts`: the accounts list's first page;
- `typeahead`: the header's type-ahead (the search URL asked by htmx: eight options);
- `results`: the results page (a plain GET, twenty to a page);
- `selector`: accounts.search.account_search alone, in the organization's context.

Each over four queries taken from the organization's own data: a prefix (three
letters of a name), an accented name typed without its accents, a name with a typo,
and a contact's email. Reported: each query's median ms per path, each path's median
over all of them and its ratio to the baseline. Targets (issue 18): the type-ahead
under 50 ms, and within 5 × the baseline, as the other pages (bench/pages.py).
"""

from __future__ import annotations

import unicodedata
from typing import IO, Any

from bench.pages import _largest_organization, _owner, _summary, _timed

REQUESTS = 20  # per query and path (3 in a quick run)


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _queries(organization: Any) -> dict[str, str]:
    """A prefix, an accented name without accents, a typo and a contact's email, from
    the organization's own accounts and contacts (deterministic: the lowest ids)."""
    from accounts.models import Account, Contact
    from csplatform.tenancy import tenant_context

    with tenant_context(organization):
        names = list(Account.objects.order_by("pk").values_list("name", flat=True)[:500])
        email = Contact.objects.order_by("pk").values_list("email", flat=True).first()
    first = names[0]
    accented = next((n for n in names if _plain(n) != n.lower()), first)
    word = next((w for n in names for w in n.split() if len(w) >= 6 and w.isalpha()), "horizonte")
    typo = word[:2] + word[3:]  # a letter left out
    return {
        "prefix": _plain(first)[:3],
        "accented": _plain(accented),
        "typo": _plain(typo),
        "email": email or "nobody@example.com",
    }


def _selector_times(organization: Any, query: str, requests: int) -> list[float]:
    import time

    from accounts.search import TYPEAHEAD_LIMIT, account_search
    from csplatform.tenancy import tenant_context

    times = []
    with tenant_context(organization):
        account_search(query, TYPEAHEAD_LIMIT)[:]  # warm
        for _ in range(requests):
            started = time.perf_counter()
            account_search(query, TYPEAHEAD_LIMIT)[:]
            times.append((time.perf_counter() - started) * 1000)
    return times


def run(*, quick: bool, progress: IO[str]) -> dict[str, object]:
    from urllib.parse import urlencode

    from django.test import Client
    from django.urls import reverse

    from bench.workload import large_workload

    with large_workload(quick=quick, progress=progress) as admin_dsn:
        organization = _largest_organization(admin_dsn)
        if organization is None:
            raise RuntimeError("the workload has no accounts")
        from accounts.models import Account
        from csplatform.tenancy import tenant_context

        with tenant_context(organization):
            accounts = Account.objects.count()
        progress.write(f"search: {organization.slug} ({accounts} accounts)\n")
        requests = 3 if quick else REQUESTS
        client = Client(HTTP_HOST="localhost")
        client.force_login(_owner(organization))
        slug = {"org_slug": organization.slug}
        baseline = _summary(_timed(client, reverse("healthz"), requests))
        accounts_page = _summary(
            _timed(client, reverse("dashboards:accounts", kwargs=slug), requests)
        )
        progress.write(f"  baseline /healthz: {baseline}; accounts list: {accounts_page}\n")
        queries = _queries(organization)
        search_url = reverse("dashboards:search", kwargs=slug)
        htmx = Client(HTTP_HOST="localhost", HTTP_HX_REQUEST="true")
        htmx.force_login(_owner(organization))
        paths: dict[str, dict[str, Any]] = {"typeahead": {}, "results": {}, "selector": {}}
        all_times: dict[str, list[float]] = {name: [] for name in paths}
        for kind, query in queries.items():
            url = f"{search_url}?{urlencode({'q': query})}"
            measured = {
                "typeahead": _timed(htmx, url, requests),
                "results": _timed(client, url, requests),
                "selector": _selector_times(organization, query, requests),
            }
            for name, times in measured.items():
                paths[name][kind] = _summary(times)
                all_times[name].extend(times)
            progress.write(
                f"  {kind} {query!r}: "
                + ", ".join(f"{n} {paths[n][kind]['median_ms']} ms" for n in paths)
                + "\n"
            )
        for name, times in all_times.items():
            overall = _summary(times)
            overall["ratio"] = round(overall["median_ms"] / baseline["median_ms"], 2)
            overall["ratio_to_accounts_list"] = round(
                overall["median_ms"] / accounts_page["median_ms"], 2
            )
            paths[name]["all"] = overall
            progress.write(f"  {name}: {overall}\n")
    return {
        "organization": organization.slug,
        "accounts": accounts,
        "queries": queries,
        "requests_per_query": requests,
        "baseline": baseline,
        "accounts_list": accounts_page,
        "paths": paths,
        "ratio_target": 5.0,
        "median_ms_target": 50.0,
        "median_ms_of": "typeahead",
    }
