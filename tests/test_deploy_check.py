"""`manage.py check --deploy` is clean under the settings an operator sets in production
(docs/security.md, "Production settings"), and fails when one of them is forgotten."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent

# What docs/security.md tells an operator to set; everything else keeps its default.
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "cs.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://cs.example.com",
    "SITE_URL": "https://cs.example.com",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "TRUST_X_FORWARDED_PROTO": "1",
    "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
}


def _check_deploy(**env):
    # A clean environment: nothing from the developer's shell or the test run leaks in.
    clean = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_the_deploy_check_with_production_settings():
    result = _check_deploy(**PRODUCTION_ENV)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output
    assert "WARNING" not in output.upper()


def test_it_fails_the_deploy_check_when_hsts_is_forgotten():
    env = {k: v for k, v in PRODUCTION_ENV.items() if not k.startswith("SECURE_HSTS")}
    result = _check_deploy(**env)
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


def test_it_fails_the_deploy_check_with_debug_on():
    result = _check_deploy(**{**PRODUCTION_ENV, "DEBUG": "1"})
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


def test_it_refuses_to_start_in_production_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _check_deploy(**env)
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr
