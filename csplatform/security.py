"""Who the client is (its address, behind trusted proxies) and what no request may carry."""

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, trusting X-Forwarded-For only as far as TRUSTED_PROXY_COUNT says.

    Each trusted proxy appends the address it received the request from, so
    the client is the Nth entry from the right; entries further left were
    written by the client and may be forged.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def client_network(request: HttpRequest) -> str | None:
    """Who to count a throttled request against: the client's address (`client_ip`), but
    for IPv6 its /64, written as the network's first address (`2001:db8:1:2::`).

    One IPv6 subscriber is routed a whole /64 (often more) and can pick a new address
    from it for every request; an IPv4 address written as IPv6 (`::ffff:203.0.113.5`)
    counts as that IPv4 address. Something that is not an address is returned as is.
    """
    address = client_ip(request)
    if not address:
        return address
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False).network_address)
    return str(parsed)


NUL = "\x00"
# Bodies whose fields Django parses into request.POST. Any other body (JSON for the API)
# is left to its own parser, unread; an uploaded file's contents are never looked at
# (a CSV import names the line and column of a NUL itself).
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(query: QueryDict) -> bool:
    return any(NUL in name or any(NUL in v for v in values) for name, values in query.lists())


def nul_in_request(request: HttpRequest) -> bool:
    """Whether the path, a query-string parameter or a form field (name or value) holds a
    NUL character, which Postgres cannot store in a text column."""
    if NUL in request.path_info or _has_nul(request.GET):
        return True
    if request.method != "POST" or request.content_type not in FORM_CONTENT_TYPES:
        return False
    if request.path_info.startswith(settings.TENANT_API_PREFIX):
        return False  # the API reads only JSON, and its parser refuses NULs (csplatform.parsers)
    try:
        return _has_nul(request.POST)
    except OSError:  # the client went away mid-body: the view's own reading will say so
        return False


class DropNulCookiesMiddleware:
    """Forgets, before the session or CSRF middleware reads them, the cookies whose name
    or value holds a NUL (a quoted cookie may write one as \\000): no browser sends one,
    and the session's lookup would be a 500. The request goes on as without them (an
    anonymous session, a new CSRF cookie), so nothing is refused that could be read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any(NUL in name or NUL in value for name, value in request.COOKIES.items()):
            request.COOKIES = {
                name: value
                for name, value in request.COOKIES.items()
                if NUL not in name and NUL not in value
            }
        return self.get_response(request)


class RefuseNulMiddleware:
    """Answers 400, before any view runs, a request whose path, query string or form fields
    hold a NUL character: without it, the first query to use the value is a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not nul_in_request(request):
            return self.get_response(request)
        message = _(
            "The request contains a NUL character (code 0), which cannot be stored: "
            "remove it and send again."
        )
        if request.path_info.startswith(settings.TENANT_API_PREFIX):
            return JsonResponse({"detail": message}, status=400)
        return render(request, "bad_request.html", {"message": message}, status=400)
