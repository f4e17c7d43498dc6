"""One way to answer htmx: the whole page for a plain request, one of its partials when
htmx asks, and a `Vary: HX-Request` so no cache hands one to the other.

    return render_page(request, "dashboards/accounts.html", context, partial="account-table")

The partial is a `{% partialdef name %}` of the same template (Django 6), so the page
and the fragment can never drift apart, and a link without JavaScript gets the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
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
