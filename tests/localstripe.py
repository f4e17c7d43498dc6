"""localstripe, a stateful fake Stripe server from PyPI, as a real process on loopback,
under Debian's faketime: the tests move its clock to build a history across months.

`localstripe_server` (module-scoped) starts it on a free 127.0.0.1 port with a fresh
store and yields a `LocalStripe`: its base URL (settings.STRIPE_API_BASE), `move_to(t)`
(rewrites the timestamp file faketime reads on every clock call: the server's "now" is
`t`, frozen until moved again), `stop()`/`start()` (Stripe unreachable, then back on the
same port with the same data), and `flush()` (an empty store).

Two things differ from `localstripe --port N`, for tests that run beside others on one
machine: it binds 127.0.0.1 only (localstripe binds every interface), and its store is
pickled to a file of the test's own, not to /tmp/localstripe.pickle (a file every run
on the machine would share), and read back when it starts again.

`localstripe_url()` serves the same localstripe from a thread of the test process
instead, on the real clock, for tests that need a Stripe but no moved clock and start
no process (the fast tier: the Connections page, webhooks, the role matrices): started
once, its store in memory (its own dump to /tmp/localstripe.pickle switched off),
emptied by `localstripe_flush()`; settings.STRIPE_API_BASE points at it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe
from django.conf import settings
from django.utils import timezone

from tests.processes import free_port, wait_until

FAKETIME_LIBRARY = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
API_KEY = "sk_test_csplatform_localstripe"

_SERVER = """
import pickle, socket, sys
from aiohttp import web
import localstripe.resources as resources
path = sys.argv[2]
def dump(store):
    with open(path + ".new", "wb") as f:
        pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
    __import__("os").replace(path + ".new", path)
resources.Store.dump_to_disk = dump
try:
    with open(path, "rb") as f:
        resources.store.update(pickle.load(f))
except FileNotFoundError:
    pass
from localstripe.server import app
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1])))
web.run_app(app, sock=sock, print=None, access_log=None)
"""


def _require() -> None:
    """Fail, never skip, when what the tests need is missing: say how to install it."""
    if not FAKETIME_LIBRARY.exists() or shutil.which("faketime") is None:
        pytest.fail("libfaketime is missing: sudo apt-get install faketime")
    try:
        import localstripe  # noqa: F401
    except ImportError:
        pytest.fail("localstripe is missing: uv sync (it is a dev dependency)")


class LocalStripe:
    """A localstripe process whose clock the test moves."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.clock_file = directory / "clock"
        self.log_file = directory / "server.log"
        self.store_file = directory / "store.pickle"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def move_to(self, instant: datetime) -> None:
        """The server's clock reads `instant` (timezone-aware) from now on."""
        text = instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        temporary = self.clock_file.with_suffix(".new")
        temporary.write_text(text + "\n")
        temporary.replace(self.clock_file)  # atomic: the server never reads half a line

    def start(self) -> None:
        if not self.clock_file.exists():
            self.move_to(timezone.now())
        env = {
            **os.environ,
            "TZ": "UTC",
            "LD_PRELOAD": str(FAKETIME_LIBRARY),
            "FAKETIME_TIMESTAMP_FILE": str(self.clock_file),
            "FAKETIME_NO_CACHE": "1",
            # asyncio's timers keep the real monotonic clock.
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _SERVER, str(self.port), str(self.store_file)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._answers, timeout=30, what=f"localstripe on port {self.port}")

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(
                f"localstripe exited ({self.process.returncode}): "
                f"{self.log_file.read_text()[-2000:]}"
            )
        try:
            response = requests.get(f"{self.url}/v1/customers", auth=(API_KEY, ""), timeout=1)
        except requests.ConnectionError:
            return False
        return response.status_code == 200

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def flush(self) -> None:
        requests.delete(f"{self.url}/_config/data", timeout=5).raise_for_status()


@pytest.fixture(scope="module")
def localstripe_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    _require()
    directory = tmp_path_factory.mktemp("localstripe")
    server = LocalStripe(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- in the test process (the fast tier) ---------------------------------------------

_server: dict[str, Any] = {}


def localstripe_url() -> str:
    """The base URL of the session's localstripe (started on first use)."""
    if "url" in _server:
        settings.STRIPE_API_BASE = _server["url"]
        return _server["url"]
    from aiohttp import web
    from localstripe import resources, server

    resources.store.dump_to_disk = lambda: None  # the store stays in memory
    port = free_port()
    ready = threading.Event()

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(server.app)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    threading.Thread(target=serve, name="localstripe", daemon=True).start()
    if not ready.wait(10):
        raise AssertionError("localstripe did not start")
    _server["url"] = f"http://127.0.0.1:{port}"
    settings.STRIPE_API_BASE = _server["url"]
    return _server["url"]


def localstripe_flush() -> None:
    requests.delete(localstripe_url() + "/_config/data", timeout=5).raise_for_status()


def localstripe_client(key: str = "sk_test_localstripe0001") -> stripe.StripeClient:
    """A client of the session's localstripe, for a test to make customers with."""
    return stripe.StripeClient(
        key, base_addresses={"api": localstripe_url()}, max_network_retries=0
    )
