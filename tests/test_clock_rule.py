"""One clock (docs/time.md): business rules read Django's, the check finds every other
reading, and the test suite's clock can be moved for a whole run."""

import importlib.util
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from csplatform.clock import (
    local_midnight,
    local_today,
    organization_midnight,
    organization_today,
)
from csplatform.tenancy import tenant_context
from tests.clock import VARIABLE, moved_to
from tests.factories import OrganizationFactory

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("check_clock", ROOT / "scripts/check_clock.py")
check_clock = importlib.util.module_from_spec(_spec)
sys.modules["check_clock"] = check_clock
_spec.loader.exec_module(check_clock)

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def _found(source: str) -> list[str]:
    return [finding.what for finding in check_clock.check_source(source)]


def test_it_finds_no_clock_but_djangos_in_the_code():
    assert [str(finding) for finding in check_clock.check_paths()] == []


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("day = date.today()", "date.today()"),
        ("at = datetime.now(UTC)", "datetime.now()"),
        ("at = datetime.datetime.utcnow()", "datetime.datetime.utcnow()"),
        ("at = datetime.today()", "datetime.today()"),
        ("seconds = time.time()", "time.time()"),
        ("nanoseconds = time.time_ns()", "time.time_ns()"),
        ("at = pd.Timestamp.now()", "pd.Timestamp.now()"),
        ("day = np.datetime64('today')", 'np.datetime64("today")'),
        ("field = models.DateTimeField(db_default=Now())", "Now()"),
        ("sql = 'SELECT * FROM t WHERE at < now()'", "now()"),
        ("sql = 'UPDATE t SET day = CURRENT_DATE'", "CURRENT_DATE"),
        ("sql = 'SELECT current_timestamp'", "current_timestamp"),
        ("sql = 'SELECT localtimestamp'", "localtimestamp"),
        ("sql = 'SELECT clock_timestamp()'", "clock_timestamp()"),
        ("sql = \"SELECT 'today'::date\"", "'today'::"),
    ],
)
def test_it_flags_each_reading_of_another_clock(line, named):
    [what] = _found(line)
    assert named in what


@pytest.mark.parametrize(
    "line",
    [
        "at = timezone.now()",
        "day = timezone.localdate()",
        "day = clock.now()",
        "elapsed = time.monotonic() - started",
        "elapsed = time.perf_counter()",
        "sql = 'SELECT * FROM t WHERE at < %(now)s'",
        "sql = 'SELECT date_trunc(%s, at) FROM t'",
        "label = 'known now, or later'",
    ],
)
def test_it_lets_djangos_clock_durations_and_parameters_pass(line):
    assert _found(line) == []


def test_it_reads_docstrings_as_prose_and_honours_a_stated_reason():
    source = '''
def f():
    """Never `now()` inside SQL."""
    return "INSERT INTO t (at) VALUES (now())"  # clock-ok: records when it was written
'''
    assert _found(source) == []
    assert len(_found(source.replace("# clock-ok: records when it was written", ""))) == 1


def test_it_skips_migrations(tmp_path):
    migrations = tmp_path / "app" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "0001_initial.py").write_text("x = 'DEFAULT now()'\n")
    (tmp_path / "app" / "models.py").write_text("x = 'DEFAULT now()'\n")
    found = check_clock.check_paths([str(tmp_path / "app")])
    assert [Path(finding.path).name for finding in found] == ["models.py"]


@pytest.mark.django_db
def test_it_takes_an_organizations_today_from_djangos_clock_in_its_zone(time_machine):
    time_machine.move_to(datetime(2028, 3, 1, 2, 30, tzinfo=UTC), tick=False)
    sao_paulo = OrganizationFactory(time_zone="America/Sao_Paulo")
    tokyo = OrganizationFactory(time_zone="Asia/Tokyo")
    assert organization_today(sao_paulo) == date(2028, 2, 29)
    assert organization_today(tokyo) == date(2028, 3, 1)
    with tenant_context(sao_paulo):
        assert organization_today() == date(2028, 2, 29)
    assert local_today("UTC") == date(2028, 3, 1)


@pytest.mark.django_db
def test_it_starts_an_organizations_day_at_midnight_in_its_zone():
    sao_paulo = OrganizationFactory(time_zone="America/Sao_Paulo")
    assert organization_midnight(date(2028, 2, 29), sao_paulo) == datetime(
        2028, 2, 29, 3, tzinfo=UTC
    )
    with tenant_context(sao_paulo):
        assert organization_midnight(date(2028, 3, 1)) == datetime(2028, 3, 1, 3, tzinfo=UTC)
    # New York's clocks go forward on 2026-03-08 at 02:00: that day starts on EST.
    assert local_midnight(date(2026, 3, 8), "America/New_York") == datetime(
        2026, 3, 8, 5, tzinfo=UTC
    )
    assert local_midnight(date(2026, 3, 9), "America/New_York") == datetime(
        2026, 3, 9, 4, tzinfo=UTC
    )


def test_it_reads_the_instant_to_move_the_suite_to(monkeypatch):
    monkeypatch.setenv(VARIABLE, "2028-02-29T23:30 America/Sao_Paulo")
    assert moved_to() == datetime(2028, 2, 29, 23, 30, tzinfo=SAO_PAULO)
    monkeypatch.setenv(VARIABLE, "2028-02-29T23:30-03:00")
    assert moved_to() == datetime(2028, 3, 1, 2, 30, tzinfo=UTC)
    monkeypatch.setenv(VARIABLE, "")
    assert moved_to() is None


@pytest.mark.parametrize("value", ["2028-02-29T23:30", "yesterday", "2028-02-29 Mars/Olympus"])
def test_it_refuses_an_instant_it_cannot_place(monkeypatch, value):
    monkeypatch.setenv(VARIABLE, value)
    with pytest.raises(SystemExit, match=VARIABLE):
        moved_to()


@pytest.mark.e2e  # starts a process
def test_it_moves_the_clock_of_the_processes_the_tests_start():
    env = {**os.environ, VARIABLE: "2031-05-01T12:00 America/Sao_Paulo"}
    shown = subprocess.run(
        [sys.executable, "-m", "tests.clocked", "calendar"],  # this year's calendar
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert shown.stdout.split()[0] == "2031"
