"""The load test's settings: command-line options, else LOADTEST_* environment variables."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://csplatform:csplatform@127.0.0.1:5432/csplatform"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# The same throwaway key as the test suite's (Makefile TEST_ENV): the load test's
# database is dropped at the end, and its answer links are signed with this key.
FALLBACK_SECRET_KEY = "tests-only-secret-key-not-for-production-0123456789abcdef"  # noqa: S105 # nosec B105


def parse_duration(text: str) -> int:
    """Seconds in "180", "90s", "3m", "1m30s" or "1h" (locust's own notation)."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    parts = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?", text)
    if not text or parts is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 180, 60s, 3m, 1m30s)")
    hours, minutes, seconds = (int(p or 0) for p in parts.groups())
    return hours * 3600 + minutes * 60 + seconds


def _redis_db(text: str) -> int | None:
    if text.strip().lower() == "auto":
        return None
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"not a Redis database number: {text!r}")
    return int(text)


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class Config:
    duration: int  # seconds of load
    users: int
    spawn_rate: float
    web_workers: int
    celery_concurrency: int
    organizations: int
    invitations: int  # per organization
    batch_size: int
    wait: str  # "min,max" seconds between a user's tasks
    database: str
    redis_db: int | None  # None: the first free of loadtest.__main__.AUTO_REDIS_DBS
    keep: bool
    max_error_rate: float
    drain_timeout: int
    artifacts: Path
    report: Path

    @property
    def database_url(self) -> str:
        base = _env("DATABASE_URL", DEFAULT_DATABASE_URL)
        return base.rsplit("/", 1)[0] + "/" + self.database

    @property
    def maintenance_database_url(self) -> str:
        """The same role on the `postgres` database, to create and drop the load test's
        (the application role has CREATEDB and owns what it creates: no superuser)."""
        return _env("DATABASE_URL", DEFAULT_DATABASE_URL).rsplit("/", 1)[0] + "/postgres"

    @property
    def redis_url(self) -> str:
        parts = urlsplit(_env("REDIS_URL", DEFAULT_REDIS_URL))
        return urlunsplit(parts._replace(path=f"/{self.redis_db}"))

    @property
    def queue(self) -> str:
        return f"csplatform-loadtest-{os.getpid()}"


def arguments(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest",
        description="A bounded load test on loopback: survey answers, API event batches and "
        "dashboards, then a check of every write in the database.",
    )
    add = parser.add_argument
    add(
        "--duration",
        type=parse_duration,
        default=_env("LOADTEST_DURATION", "3m"),
        help="How long the load runs: 180, 60s, 3m (LOADTEST_DURATION, default 3m).",
    )
    add(
        "--users",
        type=int,
        default=int(_env("LOADTEST_USERS", "24")),
        help="Concurrent users (LOADTEST_USERS, 24).",
    )
    add(
        "--spawn-rate",
        type=float,
        default=float(_env("LOADTEST_SPAWN_RATE", "4")),
        help="Users started per second (LOADTEST_SPAWN_RATE, 4).",
    )
    add(
        "--web-workers",
        type=int,
        default=int(_env("LOADTEST_WEB_WORKERS", "3")),
        help="gunicorn sync workers (LOADTEST_WEB_WORKERS, 3).",
    )
    add(
        "--celery-concurrency",
        type=int,
        default=int(_env("LOADTEST_CELERY_CONCURRENCY", "2")),
        help="Celery worker processes (LOADTEST_CELERY_CONCURRENCY, 2).",
    )
    add(
        "--organizations",
        type=int,
        default=int(_env("LOADTEST_ORGANIZATIONS", "3")),
        help="Demo organizations seeded (LOADTEST_ORGANIZATIONS, 3).",
    )
    add(
        "--invitations",
        type=int,
        default=int(_env("LOADTEST_INVITATIONS", "2500")),
        help="Survey invitations per organization, each answered at most once "
        "(LOADTEST_INVITATIONS, 2500).",
    )
    add(
        "--batch-size",
        type=int,
        default=int(_env("LOADTEST_BATCH_SIZE", "50")),
        help="Usage events per API batch (LOADTEST_BATCH_SIZE, 50).",
    )
    add(
        "--wait",
        default=_env("LOADTEST_WAIT", "0.2,1.0"),
        help="min,max seconds a user waits between tasks (LOADTEST_WAIT, 0.2,1.0).",
    )
    add(
        "--database",
        default=_env("LOADTEST_DATABASE", "csplatform_loadtest"),
        help="Dropped and recreated (LOADTEST_DATABASE, csplatform_loadtest).",
    )
    add(
        "--redis-db",
        type=_redis_db,
        default=_env("LOADTEST_REDIS_DB", "14"),
        help="The Redis database number for the run's broker, results and cache, or auto "
        "(the first free of 8–13); one run at a time each (LOADTEST_REDIS_DB, 14).",
    )
    add(
        "--keep",
        action="store_true",
        default=_env("LOADTEST_KEEP", "0") not in ("", "0", "false", "no"),
        help="Keep the database afterwards (LOADTEST_KEEP=1).",
    )
    add(
        "--max-error-rate",
        type=float,
        default=float(_env("LOADTEST_MAX_ERROR_RATE", "0.01")),
        help="Above it the run fails (LOADTEST_MAX_ERROR_RATE, 0.01).",
    )
    add(
        "--drain-timeout",
        type=parse_duration,
        default=_env("LOADTEST_DRAIN_TIMEOUT", "180"),
        help="How long to wait for the Celery queue (LOADTEST_DRAIN_TIMEOUT, 180).",
    )
    add(
        "--artifacts",
        type=Path,
        default=Path(_env("LOADTEST_ARTIFACTS", "artifacts/loadtest")),
        help="Plan, results, logs, report (LOADTEST_ARTIFACTS, artifacts/loadtest).",
    )
    add("--report", type=Path, default=None, help="Default: <artifacts>/report.json.")
    args = parser.parse_args(argv)
    if isinstance(args.redis_db, str):
        args.redis_db = _redis_db(args.redis_db)
    if isinstance(args.duration, str):
        args.duration = parse_duration(args.duration)
    if isinstance(args.drain_timeout, str):
        args.drain_timeout = parse_duration(args.drain_timeout)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.database):
        parser.error("--database: lower-case letters, digits and underscores only")
    if not 2 <= args.web_workers <= 8 or args.users < 1 or args.duration < 1:
        parser.error("--web-workers 2–8, at least one user and one second")
    artifacts = args.artifacts if args.artifacts.is_absolute() else ROOT / args.artifacts
    return Config(
        duration=args.duration,
        users=args.users,
        spawn_rate=args.spawn_rate,
        web_workers=args.web_workers,
        celery_concurrency=args.celery_concurrency,
        organizations=args.organizations,
        invitations=args.invitations,
        batch_size=args.batch_size,
        wait=args.wait,
        database=args.database,
        redis_db=args.redis_db,
        keep=args.keep,
        max_error_rate=args.max_error_rate,
        drain_timeout=args.drain_timeout,
        artifacts=artifacts,
        report=args.report or artifacts / "report.json",
    )
