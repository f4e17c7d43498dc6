"""One clock for every business rule: Django's.

"Now" is `timezone.now()`; an organization's "today" is that instant's date in the
organization's time zone. Windows, as-of days, due dates, renewals, the current month,
retention cut-offs and token expiry all start from here (or from a day passed in as an
argument), never from `date.today()`, `datetime.now()` or `time.time()`, and never from
the database's `now()`/`current_date` inside SQL: raw SQL receives the instant or the
day as a parameter. So a test that pins the clock (time-machine) moves every rule at
once, and the suite passes on any date (docs/time.md; `make lint` checks the rule with
scripts/check_clock.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from csplatform.tenancy import current_organization


class _Zoned(Protocol):
    """An organization, as far as its calendar goes."""

    time_zone: str


# The transaction-local setting through which SQL that stamps rows by itself (the
# lifecycle-stage history trigger, journeys migration 0010) gets Django's "now".
DB_NOW_SETTING = "app.now"


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return timezone.now()


def local_today(time_zone: str, *, at: datetime | None = None) -> date:
    """The date in `time_zone` at the instant `at` (default: now)."""
    return (at or timezone.now()).astimezone(ZoneInfo(time_zone)).date()


def organization_today(organization: _Zoned | None = None) -> date:
    """Today in `organization`'s time zone (default: the current organization's)."""
    return local_today((organization or current_organization()).time_zone)


@contextmanager
def database_now() -> Iterator[None]:
    """Writes in the block that the database stamps by itself (a trigger) are stamped
    with Django's current instant, through the transaction-local `app.now`, instead
    of the database's clock. Cleared again on the way out: a released savepoint keeps
    a SET LOCAL (on an exception, the rollback to the savepoint undoes it)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [DB_NOW_SETTING, now().isoformat()])
        yield
        cursor.execute("SELECT set_config(%s, '', true)", [DB_NOW_SETTING])
