"""The test suite's clock: the real one, or moved for the whole run.

CSPLATFORM_TEST_NOW="2028-02-29T23:30 America/Sao_Paulo" (an ISO 8601 instant, then
an IANA time zone, or an instant with its UTC offset) moves the clock of the test
process, and of the worker and web server processes the tests start
(`python -m tests.clocked …`), to that instant, ticking on from there; with a zone it
is also the processes' local time zone. So `make test` can be run "as of" any day:
every business rule reads Django's clock (docs/time.md), which time-machine moves.
What cannot move is skipped in such a run: a browser's own clock, and the fault tests
that stop and start the machine's services.
"""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

VARIABLE = "CSPLATFORM_TEST_NOW"


def moved_to() -> datetime | None:
    """The instant CSPLATFORM_TEST_NOW names, or None for the real clock."""
    value = os.environ.get(VARIABLE, "").strip()
    if not value:
        return None
    stamp, _, zone = value.partition(" ")
    try:
        instant = datetime.fromisoformat(stamp)
        if zone.strip():
            if instant.tzinfo is not None:
                raise ValueError("give either a UTC offset or a time zone, not both")
            instant = instant.replace(tzinfo=ZoneInfo(zone.strip()))
    except (ValueError, KeyError) as error:
        raise SystemExit(
            f"{VARIABLE}={value!r}: {error}. Expected e.g. '2028-02-29T23:30 America/Sao_Paulo'"
            " or '2028-02-29T23:30-03:00'."
        ) from error
    if instant.tzinfo is None:
        raise SystemExit(f"{VARIABLE}={value!r}: add a time zone or a UTC offset.")
    return instant


def travel() -> time_machine.travel | None:
    """Start moving this process's clock to CSPLATFORM_TEST_NOW; None if it is not set."""
    instant = moved_to()
    if instant is None:
        return None
    traveller = time_machine.travel(instant, tick=True)
    traveller.start()
    return traveller


def move_to_the_start_of_an_hour(traveller: time_machine.TimeMachineFixture) -> None:
    """Move a test's clock to the top of the next hour, ticking on from there.

    Rate limits count in windows aligned on the clock (a second's, a minute's, an
    hour's, a day's): a test that crossed a window's end would start counting afresh
    halfway, and fail once in a while. The top of an hour starts every window up to an
    hour, and leaves an hour before a day's end."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    traveller.move_to(now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
