"""scripts/local_services.py: when it may start an embedded server, and when it must not.

Starting the servers for real is .ci/embedded's job (it stops the machine's own first);
these checks start nothing: they point the script at ports where nothing answers.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # runs the script in a process of its own

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "local_services.py"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "CSPLATFORM_EMBEDDED", "DATABASE_URL", "REDIS_URL"}
    }
    clean |= {"EMBEDDED_PG_PORT": str(_free_port()), "EMBEDDED_REDIS_PORT": str(_free_port())}
    return subprocess.run(
        [sys.executable, str(SCRIPT), command],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "env",
    [{}, {"DEBUG": "0"}, {"DEBUG": "1", "CSPLATFORM_EMBEDDED": "0"}],
    ids=["nothing-set", "debug-off", "explicitly-forbidden"],
)
def test_it_refuses_to_start_an_embedded_server_unless_asked(env):
    result = _run("up", **env)
    assert result.returncode == 1
    assert "no embedded server is started" in result.stderr
    assert "(started)" not in result.stdout


def test_it_lets_explicit_urls_win_and_starts_nothing():
    result = _run(
        "status",
        CSPLATFORM_EMBEDDED="1",
        DATABASE_URL="postgres://someone:secret@db.example.com:6543/prod",
        REDIS_URL="redis://cache.example.com:6380/2",
    )
    assert result.returncode == 0
    assert "Postgres: DATABASE_URL from the environment" in result.stdout
    assert "Redis: REDIS_URL from the environment" in result.stdout
    assert "secret" not in result.stdout  # the password is never printed


def test_it_says_in_status_what_up_would_do():
    result = _run("status")
    assert result.returncode == 0
    assert "`up` would start the embedded one" in result.stdout


def test_it_is_never_imported_by_the_application():
    app_dirs = ["csplatform", "accounts", "journeys", "surveys", "metrics", "dashboards"]
    for directory in app_dirs:
        for path in (ROOT / directory).rglob("*.py"):
            assert "local_services" not in path.read_text(), path
