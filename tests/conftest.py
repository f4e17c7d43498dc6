"""Real services for the tests that cross process boundaries: an SMTP server and a Celery worker."""

import os
import socket
import subprocess
import sys
import time
import uuid
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from django.utils import translation

from csplatform.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """What a real SMTP server on loopback received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 30) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            time.sleep(0.05)
        raise AssertionError(
            f"expected {count} email(s) within {timeout}s, got {len(self.messages)}"
        )


@pytest.fixture(autouse=True)
def _fast_tier_starts_no_process(request, monkeypatch):
    """A test outside the e2e and faults tiers may not start a process: `make test-fast`
    must stay fast and need nothing but Postgres and Redis."""
    if any(request.node.get_closest_marker(name) for name in ("e2e", "faults")):
        return
    # WeasyPrint's first import looks Pango up with `ldconfig -p` (ctypes.util.find_library),
    # once per process: imported before the guard, rendering a PDF starts no process.
    import weasyprint  # noqa: F401

    def refuse(*args, **kwargs):
        raise AssertionError(
            f"{request.node.nodeid} starts a process: mark it e2e (pytest.mark.e2e)"
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


@pytest.fixture(scope="session")
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def inbox(smtp_server):
    smtp_server.handler.messages.clear()
    return smtp_server.handler


@pytest.fixture
def smtp(settings, inbox, smtp_server):
    """Django's SMTP backend pointed at the real SMTP server on loopback."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": smtp_server.port, "timeout": 10},
        }
    }
    return inbox


@pytest.fixture(scope="session", autouse=True)
def _throwaway_task_queue():
    """Tasks the code under test queues (a debounced roll-up after a write) go to a queue
    no worker reads, deleted at the end, instead of a real worker's queue on this machine."""
    queue = f"csplatform-test-unread-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_default_queue = queue
    yield
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)  # the broker is Redis


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, smtp_server, tmp_path_factory):
    """A real `celery worker` process on the real Redis, using the test database.

    It listens on a queue of its own, so no other worker on the machine takes its tasks.
    """
    queue = f"csplatform-test-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_server.port),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        # A change's follow-up tasks (satisfaction → health → playbooks) run at once.
        "METRICS_RECOMPUTE_DELAY_SECONDS": "0",
    }
    log = open(tmp_path_factory.mktemp("celery") / "worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.clocked",  # on the tests' clock
            "celery",
            "-A",
            "csplatform",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    name = f"{queue}@{socket.gethostname()}"
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(destination=[name], timeout=1):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start; see {log.name}")
        worker.queue, worker.node = queue, name
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()


@pytest.fixture(autouse=True)
def _real_worker_for_its_tests_only(request):
    """A test that asks for the real worker queues its tasks to it; every other test
    keeps the unread queue, so a transactional test's follow-up tasks never run behind
    its back. After the test, and before its database is emptied: drop what the worker
    has not taken, revoke what it holds for later, and wait for what it runs. Otherwise
    a follow-up task (satisfaction → health → playbooks) still running deadlocks against
    the teardown's TRUNCATE, or writes into the next test."""
    if "celery_worker_process" not in request.fixturenames:
        yield
        return
    worker = request.getfixturevalue("celery_worker_process")
    unread = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = worker.queue
    try:
        yield
    finally:
        celery_app.conf.task_default_queue = unread
        worker_idle(worker.queue, worker.node)


def worker_idle(queue: str, node: str, *, timeout: float = 90) -> None:
    """Empty `queue` and wait until the worker `node` runs, holds and waits for nothing.

    A solo-pool worker answers no broadcast while it runs a task: no answer is "busy"."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)  # the broker is Redis
    inspector = celery_app.control.inspect(destination=[node], timeout=1, limit=1)
    revoked: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        broker.delete(queue)
        # Tasks held for a later time (a countdown) are revoked: they will never run.
        held = {entry["request"]["id"] for entry in (inspector.scheduled() or {}).get(node, [])}
        for task_id in held - revoked:
            celery_app.control.revoke(task_id, destination=[node])
        revoked |= held
        active = (inspector.active() or {}).get(node)
        reserved = (inspector.reserved() or {}).get(node)
        if (
            active == []
            and reserved is not None
            and {task["id"] for task in reserved} <= revoked
            and not broker.llen(queue)
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"the Celery worker {node} was still busy {timeout}s after the test")


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):
    """pytest-django's live server, set up after the test database so that it stops (and
    closes its connection) before the database is dropped."""
    return live_server


@pytest.fixture(autouse=True)
def _language_reset():
    """A request made in a test activates its language on this thread (LocaleMiddleware);
    the next test starts from the default again."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _no_survey_sending_chains():
    """Each test starts with no campaign's sending chain marked as queued (the marks live
    in the shared Redis cache, by campaign id, and ids repeat from one test database to
    the next)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("*surveys:sending:*"):
        client.delete(key)
