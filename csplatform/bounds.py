"""The accepted range of what an organization can send: dates, instants, sizes.

One definition, read by the API serializers, the CSV parsers (csplatform.imports),
the services every write goes through, and the models' and forms' validators
(docs/import.md, "Bounds"). A day or instant outside it is a typo or a placeholder
(0001-01-01, 9999-12-31), and accepting it costs every computation that spans the
history: a subscription from 1900 makes a recompute build fifteen centuries of months.

- Days (signup, subscription start and end, a campaign's first send): from
  EARLIEST_DAY to DAYS_AHEAD days after the organization's today (Django's clock).
- Instants (usage events, touchpoints, survey responses): from EARLIEST_DAY's
  midnight in UTC; the services refuse the future themselves (minus clock skew).
- Custom attributes: JSON at most MAX_ATTRIBUTES_DEPTH containers deep and
  MAX_ATTRIBUTES_BYTES long once serialized; notes at most MAX_NOTE_CHARS.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_noop

from csplatform.clock import organization_today
from csplatform.tenancy import current_organization_id
from csplatform.texts import Phrase

EARLIEST_DAY = date(2000, 1, 1)  # before any SaaS customer of ours; stops typos
EARLIEST_INSTANT = datetime.combine(EARLIEST_DAY, time(), tzinfo=UTC)
DAYS_AHEAD = 366  # a year after today, leap day included: scheduled ends, renewals

MAX_ATTRIBUTES_DEPTH = 5  # {"a": {"b": …}}: the outer object is level 1
MAX_ATTRIBUTES_BYTES = 16 * 1024  # the whole object, as compact UTF-8 JSON
MAX_NOTE_CHARS = 10_000


def latest_day(today: date | None = None) -> date:
    """The last accepted day: DAYS_AHEAD days after `today` (default: the current
    organization's today, the one definition of it; outside any organization, UTC's)."""
    if today is None:
        zoned = current_organization_id() is not None
        today = organization_today() if zoned else timezone.now().astimezone(UTC).date()
    return today + timedelta(days=DAYS_AHEAD)


def day_range(today: date | None = None) -> tuple[date, date]:
    """The first and last accepted day, both included."""
    return EARLIEST_DAY, latest_day(today)


def day_error(value: date, *, today: date | None = None) -> Phrase | None:
    """Why `value` (a date, or a datetime: its UTC day) is refused, naming the range; None
    when accepted."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    earliest, latest = day_range(today)
    if earliest <= value <= latest:
        return None
    return Phrase(
        gettext_noop(
            "%(value)s is outside the accepted dates: use one from %(earliest)s to %(latest)s."
        ),
        {
            "value": value.isoformat(),
            "earliest": earliest.isoformat(),
            "latest": latest.isoformat(),
        },
    )


def validate_day(value: date | None) -> None:
    """A validator (models, forms, serializers): the day, or the instant's day, is in range."""
    if value is None:
        return
    if (message := day_error(value)) is not None:
        raise ValidationError(str(message), code="date_out_of_range")


def attributes_error(value: Any) -> Phrase | None:
    """Why a custom-attributes object is refused (too deep, too large); None when accepted."""
    if _depth(value, limit=MAX_ATTRIBUTES_DEPTH) > MAX_ATTRIBUTES_DEPTH:
        return Phrase(
            gettext_noop("Nest custom attributes at most %(depth)s levels deep."),
            {"depth": MAX_ATTRIBUTES_DEPTH},
        )
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_ATTRIBUTES_BYTES:
        return Phrase(
            gettext_noop(
                "Custom attributes can take at most %(max)s bytes as JSON; these take %(size)s."
            ),
            {"max": MAX_ATTRIBUTES_BYTES, "size": size},
        )
    return None


def _depth(value: Any, *, limit: int) -> int:
    """How many containers deep `value` is (a scalar: 0), counting no further than
    limit + 1: iterative, so 5,000 levels cost neither the stack nor the time."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if not isinstance(item, dict | list):
            continue
        deepest = max(deepest, level)
        if level > limit:
            return level
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, level + 1) for child in children)
    return deepest


def validate_attributes(value: Any) -> None:
    """A validator for custom attributes (see attributes_error)."""
    if (message := attributes_error(value)) is not None:
        raise ValidationError(str(message), code="attributes_too_large")
