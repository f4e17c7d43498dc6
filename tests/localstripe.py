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
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
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
