"""Real processes for the fault tests: a Redis server of their own, gunicorn, a Celery
worker, and the machine's Postgres cluster, each started, stopped and killed for real.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class RedisServer:
    """A redis-server process of the test's own, on a free port: stopping it disturbs no
    other test or program on the machine."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _listening(self.port), timeout=10, what="redis-server")

    def stop(self) -> None:
        """Stop it as a crash would (SIGKILL): whatever it held is gone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
        wait_until(lambda: not _listening(self.port), timeout=10, what="redis-server to stop")


def database_url() -> str:
    """The test database, as the application role (it obeys row-level security)."""
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def app_env(redis_url: str, smtp_port: int, **extra: str) -> dict[str, str]:
    """The environment of an application process on the test database."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "METRICS_RECOMPUTE_DELAY_SECONDS": "0",
        "USAGE_ROLLUP_DELAY_SECONDS": "0",
        "OUTBOX_GRACE_SECONDS": "1",
        # Every client here is 127.0.0.1; the limits have tests of their own.
        "SURVEY_RATE_LIMIT": "",
        "API_RATE_LIMIT": "",
        **extra,
    }


def start_gunicorn(env: dict[str, str], log: Path, *, workers: int = 2) -> tuple[object, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            *(
                sys.executable,
                "-m",
                "tests.clocked",
                "gunicorn",
                "csplatform.wsgi",
                "--workers",
                str(workers),
            ),
            *("--bind", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_until(lambda: _listening(port), timeout=30, what=f"gunicorn (see {log})")
    return process, f"http://127.0.0.1:{port}"


def start_worker(env: dict[str, str], log: Path, queue: str) -> subprocess.Popen[bytes]:
    """A `celery worker` process on its own queue; returns once it is ready (its own
    "ready" line: the log may hold an earlier worker's)."""
    logged_before = log.stat().st_size if log.exists() else 0
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.clocked", "celery", "-A", "csplatform", "worker"),
            "--pool=solo",
            *("--loglevel=INFO", "-Q", queue, "-n", f"{queue}@%h"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        cwd=ROOT,
        env={**env, "CELERY_TASK_DEFAULT_QUEUE": queue},
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )
    wait_until(
        lambda: process.poll() is not None or " ready." in log.read_text()[logged_before:],
        timeout=60,
        what=f"the Celery worker (see {log})",
    )
    assert process.poll() is None, f"the Celery worker exited; see {log}"
    return process


def stop(process: subprocess.Popen[bytes] | object, *, kill: bool = False) -> None:
    assert isinstance(process, subprocess.Popen)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(base: str, email: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    response = session.post(
        f"{base}/accounts/login/",
        data={
            "username": email,
            "password": password,
            "csrfmiddlewaretoken": csrf_token(page.text),
        },
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=10,
    )
    assert response.status_code == 200
    assert "sessionid" in session.cookies, response.text[:500]
    return session


def postgres_cluster() -> tuple[str, str]:
    """The machine's Postgres cluster (version, name), as pg_lsclusters lists it."""
    version = sorted(os.listdir("/etc/postgresql"))[0]
    return version, "main"


def postgres(action: str) -> None:
    """Stop or start the machine's Postgres for real (fast mode: connections are cut)."""
    version, name = postgres_cluster()
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action]
    if action == "stop":
        command += ["-m", "fast"]
    subprocess.run(command, check=True, timeout=60)


def postgres_ready() -> bool:
    result = subprocess.run(
        ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], check=False, timeout=10
    )
    return result.returncode == 0
