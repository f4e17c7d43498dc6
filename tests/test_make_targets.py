"""The two README commands on a machine that lacks something: `make test` stops before
anything runs, with the one command to run, instead of failing late."""

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # runs make and a shell script

ROOT = Path(__file__).resolve().parent.parent
WITHOUT_CHROMIUM = {"CHROMIUM_PATH": "/nonexistent/chromium", "SYSTEM_PACKAGES_INSTALL": "0"}


def _run(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_names_the_missing_package_and_the_command_to_install_it():
    result = _run("scripts/system_packages.sh", "gettext", "chromium", **WITHOUT_CHROMIUM)
    assert result.returncode == 1
    assert "Missing: chromium" in result.stderr
    assert "sudo apt-get install chromium" in result.stderr
    assert "make test-fast" in result.stderr


def test_it_passes_when_the_packages_are_there():
    result = _run("scripts/system_packages.sh", "gettext", "weasyprint", "chromium")
    assert result.returncode == 0, result.stderr


def test_it_stops_make_test_before_any_test_runs_without_chromium():
    result = _run("make", "--no-print-directory", "test", **WITHOUT_CHROMIUM)
    assert result.returncode != 0
    assert "sudo apt-get install chromium" in result.stderr
    assert "pytest" not in result.stdout + result.stderr
    assert "uv sync" not in result.stdout  # nothing installed or started first
