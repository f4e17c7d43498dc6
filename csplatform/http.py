"""One way to answer htmx: the whole page for a plain request, one of its partials when
htmx asks, and a `Vary: HX-Request` so no cache hands one to the other.

    return render_page(request, "dashboards/accounts.html", context, partial="account-table")

The partial is a `{% partialdef name %}` of the same template (Django 6), so the page
and the fragment can never drift apart, and a link without JavaScript gets the page.

And which responses no cache may keep (`Cache-Control: private, no-store`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx sent the request for a fragment (django-htmx's middleware sets
    `request.htmx`). A history restore (the back button after a cache miss) asks for
    the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not getattr(htmx, "history_restore_request", False)


def render_page(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    partial: str | None = None,
    status: int | None = None,
) -> HttpResponse:
    """`template`, or only its `{% partialdef partial %}` when htmx asks for it."""
    name = f"{template}#{partial}" if partial and is_htmx(request) else template
    response = render(request, name, context, status=status)
    if partial:
        patch_vary_headers(response, ["HX-Request"])
    return response


# Neither a shared cache (a corporate proxy, a CDN) nor the browser's disk cache may keep
# it: the next person on the machine, or behind the proxy, would read it.
PRIVATE_CACHE_CONTROL = "private, no-store"


def private_response[AnyResponse: HttpResponseBase](response: AnyResponse) -> AnyResponse:
    """`response` with `Cache-Control: private, no-store`, unless it says otherwise already."""
    if "Cache-Control" not in response:
        response["Cache-Control"] = PRIVATE_CACHE_CONTROL
    return response


def is_private_request(request: HttpRequest) -> bool:
    """A request whose answer is someone's: from a signed-in person, under an organization
    (`/o/<slug>/`), or to the API (data of the key's organization)."""
    if getattr(request, "organization", None) is not None:
        return True
    if request.path_info.startswith(settings.TENANT_API_PREFIX):
        return True
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated


class PrivateCacheControlMiddleware:
    """Marks every private response (`is_private_request`) `Cache-Control: private,
    no-store`, unless the view set a Cache-Control itself: pages, fragments, CSV exports,
    the export ZIP, the page that shows a new API key once, API answers. The public survey
    pages, which show one person's answer without a login, mark themselves
    (surveys.views)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if is_private_request(request):
            private_response(response)
        return response
