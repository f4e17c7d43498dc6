"""Rate limits counted in the cache (Redis): a fixed window per scope and client.

A limit is written as DRF writes throttle rates, `"<count>/<second|minute|hour|day>"`;
an empty value turns it off. Configured (README, configuration table; docs/security.md):
`SURVEY_RATE_LIMIT` per client address on the public survey pages, `API_RATE_LIMIT` per
API key on the REST API (`csplatform.api.ApiKeyRateThrottle`), and, per client network
(`csplatform.security.client_network`: an IPv6 client counts by its /64), failed sign-ins
(`SIGN_IN_FAILURE_RATE_LIMIT`), password reset requests (`PASSWORD_RESET_RATE_LIMIT`,
also per email) and requests with an API key that is not valid
(`API_KEY_FAILURE_RATE_LIMIT`).

The limits fail open. A limit protects the service; it is not what keeps tenants
apart or answers safe. When the cache cannot be reached, a survey answer or an
API batch is still saved (Postgres is the source of truth): the limiter logs a
warning and lets the request through, and stops asking the cache for a few
seconds so that an outage does not add a connection timeout to every request.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from redis.exceptions import RedisError

from csplatform.security import client_network

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# After the cache fails, seconds during which requests pass without asking it again.
OUTAGE_PAUSE_SECONDS = 10.0

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day|[smhd])\s*$", re.IGNORECASE)
_cache_down_until = 0.0


@dataclass(frozen=True)
class Rate:
    requests: int
    seconds: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds until the window resets (when not allowed)


def parse_rate(value: str | None, *, name: str = "rate") -> Rate | None:
    """`"60/minute"` as a Rate; None for an empty value (no limit).

    Raises ImproperlyConfigured naming `name` (the environment variable) when the
    value is not a rate, so a typo fails at start-up instead of limiting nothing.
    """
    if value is None or not value.strip():
        return None
    match = _RATE.match(value)
    if match is None or int(match.group(1)) < 1:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate: write it as <count>/<period>, e.g. 60/minute "
            "(period: second, minute, hour or day), or leave it empty for no limit."
        )
    return Rate(requests=int(match.group(1)), seconds=PERIODS[match.group(2)[0].lower()])


def _window(rate: Rate, now: float) -> int:
    return int(now // rate.seconds)


def _retry_after(rate: Rate, now: float) -> int:
    """Seconds until the current window ends (at least 1)."""
    return max(1, math.ceil((_window(rate, now) + 1) * rate.seconds - now))


def _key(scope: str, ident: str, rate: Rate, now: float) -> str:
    return f"ratelimit:{scope}:{ident}:{_window(rate, now)}"


def _cache_failed(exc: Exception) -> Verdict:
    """Fail open, and stop asking the cache for OUTAGE_PAUSE_SECONDS."""
    global _cache_down_until
    _cache_down_until = time.monotonic() + OUTAGE_PAUSE_SECONDS
    logger.warning(
        "Rate limits are off for %ss: the cache cannot be reached (%s). Requests pass.",
        OUTAGE_PAUSE_SECONDS,
        exc,
    )
    return Verdict(allowed=True)


def rate_limit_hit(*, scope: str, ident: str, rate: str | None) -> Verdict:
    """Count one request of `ident` in `scope` against `rate` (None: no limit).

    Fixed windows aligned on the period: at most `rate.requests` per window, so a
    burst straddling two windows may reach twice that. Fails open (see the module).
    """
    parsed = parse_rate(rate)
    if parsed is None or time.monotonic() < _cache_down_until:
        return Verdict(allowed=True)
    now = timezone.now().timestamp()
    key = _key(scope, ident, parsed, now)
    try:
        if cache.add(key, 1, timeout=parsed.seconds + 1):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # the window's key expired in between: a new window
                count = 1
    except (RedisError, OSError) as exc:
        return _cache_failed(exc)
    if count <= parsed.requests:
        return Verdict(allowed=True)
    return Verdict(allowed=False, retry_after=_retry_after(parsed, now))


def rate_limit_reached(*, scope: str, ident: str, rate: str | None) -> Verdict:
    """Whether `ident` has already used up `rate` in `scope`'s current window, without
    counting this request. For limits on failures: checked before the work that may fail,
    which counts (`rate_limit_hit`) only when it did. Fails open (see the module)."""
    parsed = parse_rate(rate)
    if parsed is None or time.monotonic() < _cache_down_until:
        return Verdict(allowed=True)
    now = timezone.now().timestamp()
    try:
        count = cache.get(_key(scope, ident, parsed, now), 0)
    except (RedisError, OSError) as exc:
        return _cache_failed(exc)
    if count < parsed.requests:
        return Verdict(allowed=True)
    return Verdict(allowed=False, retry_after=_retry_after(parsed, now))


def limit_by_client_address(
    *, scope: str, rate_setting: str, template: str
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A view decorator: over `settings.<rate_setting>` per client address, answer 429
    with `template` (context: `retry_after`) and a Retry-After header, without running
    the view. The client is `csplatform.security.client_network` (its address behind
    TRUSTED_PROXY_COUNT proxies; for IPv6 its /64, which one subscriber holds whole)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            verdict = rate_limit_hit(
                scope=scope,
                ident=client_network(request) or "unknown",
                rate=getattr(settings, rate_setting),
            )
            if not verdict.allowed:
                response = render(
                    request, template, {"retry_after": verdict.retry_after}, status=429
                )
                response["Retry-After"] = str(verdict.retry_after)
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
