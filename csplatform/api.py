"""Shared pieces of the REST API: error format, batch errors, the per-key rate limit."""

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from csplatform.batches import RowsRejected
from csplatform.ratelimit import Verdict, rate_limit_hit


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's errors, plus: a rejected batch lists every bad row; an oversized body is a 413;
    a key over its rate limit is a 429 that says when to send again (also in Retry-After)."""
    if isinstance(exc, RowsRejected):
        return rows_rejected_response(exc)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "detail": _(
                    "The request body is too large (at most %(size)s): send fewer rows at a time."
                )
                % {"size": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Throttled):
        wait: float | None = getattr(exc, "wait", None)  # set by DRF; missing from its stubs
        seconds = max(1, int(wait or 1))
        return Response(
            {
                "detail": _(
                    "Too many requests with this API key: wait %(seconds)s seconds, then send "
                    "again."
                )
                % {"seconds": seconds}
            },
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(seconds)},
        )
    return drf_exception_handler(exc, context)


class ApiKeyRateThrottle(BaseThrottle):
    """At most REST_FRAMEWORK's DEFAULT_THROTTLE_RATES["api_key"] (API_RATE_LIMIT) requests
    per API key; counted in the cache, failing open (csplatform.ratelimit).

    Runs after authentication: a request without a valid key is a 401 before it counts.
    """

    scope = "api_key"

    def __init__(self) -> None:
        self.verdict = Verdict(allowed=True)

    def allow_request(self, request: Request, view: object) -> bool:
        api_key = request.auth
        if api_key is None:
            return True
        # Read per request (not at import, as DRF's own throttles do), so a changed
        # setting applies at once.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        self.verdict = rate_limit_hit(
            scope="api", ident=str(api_key.pk), rate=None if rate is None else str(rate)
        )
        return self.verdict.allowed

    def wait(self) -> float | None:
        return self.verdict.retry_after or None


def rows_rejected_response(exc: RowsRejected, *, single: bool = False) -> Response:
    """400 with every problem. A single object's errors read like a serializer's: {field: [..]}."""
    if single:
        body: dict[str, Any] = {}
        for error in exc.errors:
            body.setdefault(error.field, []).append(str(error.message))
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return Response(
        {
            "detail": _("Nothing was written: fix these rows and send the batch again."),
            "errors": [e.as_dict() for e in exc.errors],
        },
        status=status.HTTP_400_BAD_REQUEST,
    )
