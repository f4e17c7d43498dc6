"""Finding an account (manager and up, as the accounts list): the results page, a plain
GET that works without JavaScript (`?q=…&page=…`), and the header's type-ahead, the
same URL asked by htmx, which gets only the `search-options` partial: the first
TYPEAHEAD_LIMIT accounts as options of the header's listbox.

The matching and ranking are accounts.search's; this view only reads the query, pages
and renders.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.views.decorators.http import require_http_methods

from accounts.http import OrganizationRequest
from accounts.models import Account
from accounts.permissions import manager_required
from accounts.search import (
    MAX_RESULTS,
    MIN_QUERY_CHARS,
    TYPEAHEAD_LIMIT,
    account_search,
    search_query_clean,
)
from csplatform.http import is_htmx, render_page

RESULTS_PER_PAGE = 20


@manager_required
@require_http_methods(["GET"])
def search(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    query = search_query_clean(request.GET.get("q"))
    results: list[Account] = []
    page = None
    if query.is_searchable:
        if is_htmx(request):
            results = account_search(query.text, TYPEAHEAD_LIMIT)[:]
        else:
            page = Paginator(account_search(query.text), RESULTS_PER_PAGE).get_page(
                request.GET.get("page")
            )
            results = list(page.object_list)  # the page's accounts, read once
    context = {
        "query": query,
        "results": results,
        "page": page,
        "min_query_chars": MIN_QUERY_CHARS,
        "max_results": MAX_RESULTS,
    }
    return render_page(request, "dashboards/search.html", context, partial="search-options")
