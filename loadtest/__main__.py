"""A bounded load test on loopback, then a check of every write in the database.

    make loadtest                 # 3 minutes; make loadtest DURATION=60s USERS=12
    python -m loadtest --help     # every option (each also a LOADTEST_* variable)

1. Creates a database of its own (csplatform_loadtest, dropped and recreated), migrates
   and seeds it: the demo's organizations, each with a CS manager, an API key and an NPS
   campaign whose invitations' signed links the respondents open.
2. Starts gunicorn (3 sync workers on a free loopback port) and a Celery worker, both on
   that database and on a Redis database of their own (14), rate limits raised.
3. Runs locust headless (loadtest/locustfile.py): survey answers, API event batches
   with deliberate retries, and the dashboards signed in as a manager.
4. Waits for the Celery work the load caused (rollups, satisfaction, health), then
   checks the database: every confirmed answer and every accepted event exactly once,
   nothing else written, retries created nothing, rollups equal to the raw events.
5. Prints the report and writes it to artifacts/loadtest/report.json; exits 1 if a write
   was lost or duplicated, any 5xx occurred, or the error rate exceeds 1 %.

Every process is stopped and the database dropped at the end, on failure or Ctrl-C
too (LOADTEST_KEEP=1 keeps the database).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from contextlib import suppress
from dataclasses import replace
from types import FrameType
from typing import Any

from loadtest.config import Config, arguments
from loadtest.processes import Processes, environment, warm_up

LOCK_KEY = "loadtest:lock"
AUTO_REDIS_DBS = range(8, 14)  # LOADTEST_REDIS_DB=auto: the first free of these


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _holder_alive(client: Any) -> bool:
    holder = client.get(LOCK_KEY)
    if holder is None:
        return False
    try:
        os.kill(int(holder), 0)
    except ProcessLookupError:
        return False  # a crashed run's lock
    except (PermissionError, ValueError):
        return True
    return True


def _redis_claim(config: Config) -> tuple[Config, Any]:
    """Take a Redis database for the run (one load test at a time in each): the one asked
    for, or with `auto` the first free of AUTO_REDIS_DBS. Empty it of a crashed run's
    leftovers (a stale debounce mark would hold back a roll-up)."""
    import redis

    wanted = [config.redis_db] if config.redis_db is not None else list(AUTO_REDIS_DBS)
    for number in wanted:
        claimed = replace(config, redis_db=number)
        client = redis.Redis.from_url(claimed.redis_url)
        taken = client.set(LOCK_KEY, os.getpid(), nx=True, ex=6 * 3600)
        if not taken and not _holder_alive(client):
            client.set(LOCK_KEY, os.getpid(), ex=6 * 3600)
            taken = True
        if taken:
            for key in client.scan_iter(count=1000):
                if key != LOCK_KEY.encode():
                    client.delete(key)
            return claimed, client
    raise SystemExit(
        f"Redis database(s) {', '.join(map(str, wanted))} in use by other load tests: wait "
        "for them, or choose another with LOADTEST_REDIS_DB."
    )


def run(config: Config, out: Any) -> int:
    from loadtest import checks, report, seed

    config.artifacts.mkdir(parents=True, exist_ok=True)
    config, redis_client = _redis_claim(config)
    env = environment(config)
    os.environ.update(env)
    out.write(
        f"load test: {config.duration}s, {config.users} users, database {config.database}, "
        f"Redis database {config.redis_db}, queue {config.queue}\n"
    )
    processes = Processes(config, env, out)
    created = False
    try:
        seed.database_recreate(config)
        created = True
        import django

        django.setup()
        started = time.monotonic()
        seed.migrate(config, out)
        processes.start()  # they start while the organizations are seeded
        plan = seed.seed(config, out)
        out.write(f"migrated and seeded in {time.monotonic() - started:.0f}s\n")
        plan_path = config.artifacts / "plan.json"
        plan_path.write_text(json.dumps(plan))
        results_path = config.artifacts / "results.json"
        results_path.unlink(missing_ok=True)

        host, worker = processes.ready()
        made = warm_up(host, plan, rounds=2 * config.web_workers)
        out.write(f"warmed up the web workers ({made} requests, not counted)\n")
        out.write(
            f"locust: {config.users} users (spawn {config.spawn_rate}/s) for {config.duration}s "
            f"against {host}\n"
        )
        out.flush()
        processes.locust(host, plan_path, results_path)
        if not results_path.exists():
            out.write(f"locust wrote no results; see {config.artifacts}/locust.log\n")
            return 2
        results = json.loads(results_path.read_text())
        drained = checks.drain(config, plan, worker, out, processes.alive)
        processes.stop()  # gunicorn and the worker: nothing runs while the checks read
        full = {
            "config": {
                k: str(v) if not isinstance(v, int | float | bool) else v
                for k, v in vars(config).items()
            },
            "requests": report.requests(results),
            "invitations_exhausted": results["invitations_exhausted"],
            "drain": drained,
            "celery": report.celery_log(config.artifacts / "celery.log"),
            "checks": {
                "survey_answers": checks.surveys(plan, results),
                "event_writes": checks.events(plan, results),
                "rollups": checks.rollups(plan),
            },
        }
        full["problems"] = report.verdict(config, full)
        report.table(full, out)
        report.write(full, config.report)
        out.write(f"\nreport: {config.report}\nlogs: {config.artifacts}/\n")
        return 1 if full["problems"] else 0
    finally:
        processes.stop()
        if created:
            with suppress(Exception):
                from django.db import connections

                connections.close_all()
            if config.keep:
                out.write(f"kept database {config.database} (LOADTEST_KEEP=1)\n")
            else:
                try:
                    seed.database_drop(config)
                except Exception as error:  # Postgres down: say so, keep the first error
                    out.write(f"could not drop database {config.database}: {error}\n")
        with suppress(Exception):
            for key in redis_client.scan_iter(count=1000):
                if key != LOCK_KEY.encode():
                    redis_client.delete(key)
            redis_client.delete(LOCK_KEY)


def main(argv: list[str] | None = None) -> int:
    config = arguments(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    # Ctrl-C too, even when started by a shell that ignores SIGINT in background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return run(config, _Unbuffered(sys.stdout))
    except KeyboardInterrupt:
        sys.stdout.write("\ninterrupted: every process of the run stopped\n")
        return 130


class _Unbuffered:
    """Progress that shows as it happens, under make and pytest too."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        self.stream.flush()
        return int(written)

    def flush(self) -> None:
        self.stream.flush()


if __name__ == "__main__":
    raise SystemExit(main())
