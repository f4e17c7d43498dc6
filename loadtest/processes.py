"""The processes of a run: gunicorn, a Celery worker and locust, each stopped at the end."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess  # nosec B404 # fixed commands
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Any

from loadtest.config import FALLBACK_SECRET_KEY, ROOT, Config

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(config: Config) -> dict[str, str]:
    """The settings of every process of the run (the orchestrator's own included):
    production-like (DEBUG off) on plain http, the run's database, Redis database and
    queue, and rate limits out of the way of the load."""
    return {
        "DJANGO_SETTINGS_MODULE": "csplatform.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or FALLBACK_SECRET_KEY,
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "DATABASE_URL": config.database_url,
        "REDIS_URL": config.redis_url,
        "CELERY_BROKER_URL": config.redis_url,
        "CELERY_RESULT_BACKEND": config.redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": config.queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "API_RATE_LIMIT": "100000/minute",
        "SURVEY_RATE_LIMIT": "100000/minute",
        # Follow-ups run during the load, not after it: a survey answer's satisfaction →
        # health → playbooks refresh 5 s after it (30 s by default), the rollups as usual.
        "METRICS_RECOMPUTE_DELAY_SECONDS": "5",
        "USAGE_ROLLUP_DELAY_SECONDS": "5",
        # Playbooks email the tasks they open: kept in memory, no SMTP server needed.
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }


def warm_up(host: str, plan: dict[str, Any], rounds: int) -> int:
    """Read every page type `rounds` times before the clock starts, so each gunicorn worker
    has imported its views and compiled its templates (first requests take ~10× longer);
    nothing is written. Returns the number of requests made."""
    organization = plan["organizations"][0]
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())

    def get(path: str) -> str:
        with opener.open(host + path, timeout=60) as answer:
            return str(answer.read().decode())

    page = get("/accounts/login/")
    found = CSRF_FIELD.search(page)
    if found is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": found.group(1),
            "username": organization["manager_email"],
            "password": organization["manager_password"],
        }
    ).encode()
    opener.open(
        urllib.request.Request(  # noqa: S310 (loopback http)
            host + "/accounts/login/", data=form, headers={"Referer": host + "/accounts/login/"}
        ),
        timeout=60,
    ).close()
    base = f"/o/{organization['slug']}/"
    account = organization["accounts"][0]["id"]
    paths = [base, f"{base}accounts/", f"{base}accounts/{account}/", f"{base}revenue/"]
    paths += [f"{base}executive/", organization["invitations"][-1]["path"] + "?score=9"]
    for _ in range(rounds):
        for path in paths:
            get(path)
    return 2 + rounds * len(paths)


class Processes:
    """Starts the run's processes and stops every one of them, whatever happens."""

    def __init__(self, config: Config, env: dict[str, str], progress: IO[str]) -> None:
        self.config = config
        self.env = {**os.environ, **env}
        self.progress = progress
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.logs: list[IO[bytes]] = []
        self.port = 0
        self.worker_name = ""

    def _start(self, name: str, command: list[str], log: Path) -> subprocess.Popen[bytes]:
        out = log.open("wb")
        self.logs.append(out)
        process = subprocess.Popen(  # noqa: S603 # nosec B603 # our interpreter, fixed arguments
            command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
        )
        self.running.append((name, process))
        return process

    def start(self) -> None:
        """Start gunicorn (on a free loopback port) and a Celery worker on the run's own
        queue; `ready` waits for them (they start while the database is seeded)."""
        self.port = free_port()
        self.worker_name = f"{self.config.queue}@{socket.gethostname()}"
        self._start(
            "celery worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "csplatform",
                "worker",
                "-Q",
                self.config.queue,
                "-n",
                f"{self.config.queue}@%h",
                "--concurrency",
                str(self.config.celery_concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            self.config.artifacts / "celery.log",
        )
        self._start(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "csplatform.wsgi",
                "--workers",
                str(self.config.web_workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--backlog",
                "2048",
                "--timeout",
                "60",
                "--graceful-timeout",
                "20",
                "--log-level",
                "warning",
            ],
            self.config.artifacts / "gunicorn.log",
        )

    def ready(self) -> tuple[str, str]:
        """The server's URL once /healthz answers, and the worker's name once it answers
        a ping."""
        from csplatform.celery import app as celery_app

        deadline = time.monotonic() + 90
        url = f"http://127.0.0.1:{self.port}"
        while True:
            for name, process in self.running:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited; see its log in {self.config.artifacts}")
            try:
                # http://127.0.0.1 only.
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:  # noqa: S310 # nosec B310
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /healthz within 90 s")
        self.progress.write(f"gunicorn ({self.config.web_workers} workers) serving {url}\n")
        while not celery_app.control.ping(destination=[self.worker_name], timeout=1):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Celery worker did not start; see {self.config.artifacts}/celery.log"
                )
        self.progress.write(
            f"celery worker {self.worker_name} ({self.config.celery_concurrency} processes) ready\n"
        )
        return url, self.worker_name

    def locust(self, host: str, plan: Path, results: Path) -> int:
        """Run locust headless for the configured duration; its exit code."""
        c = self.config
        env = {
            "LOADTEST_PLAN": str(plan),
            "LOADTEST_RESULTS": str(results),
            "LOADTEST_WAIT": c.wait,
            "LOADTEST_BATCH_SIZE": str(c.batch_size),
        }
        self.env.update(env)
        log = (c.artifacts / "locust.log").open("wb")
        self.logs.append(log)
        process = subprocess.Popen(  # noqa: S603 # nosec B603 # our interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "loadtest" / "locustfile.py"),
                "--headless",
                "--users",
                str(c.users),
                "--spawn-rate",
                str(c.spawn_rate),
                "--run-time",
                f"{c.duration}s",
                "--stop-timeout",
                "30",  # users finish what they were doing: no write left half-known
                "--host",
                host,
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--exit-code-on-error",
                "0",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.running.append(("locust", process))
        # Everything to the log; the periodic progress lines to the console too.
        if process.stdout is None:
            raise RuntimeError("locust's output is not piped")
        for line in process.stdout:
            log.write(line)
            if line.startswith(b"[loadtest]"):
                self.progress.write("  " + line.decode(errors="replace"))
                self.progress.flush()
        log.flush()
        return process.wait()

    def alive(self, name: str) -> bool:
        return any(n == name and p.poll() is None for n, p in self.running)

    def stop(self) -> None:
        """SIGTERM every process still running (all at once: each stops gracefully in its
        own time), then wait; SIGKILL any that lingers past a minute."""
        for _name, process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        for name, process in self.running:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.progress.write(f"{name} did not stop within 60 s: killed\n")
                process.kill()
                process.wait()
        self.running.clear()
        for log in self.logs:
            log.close()
        self.logs.clear()
