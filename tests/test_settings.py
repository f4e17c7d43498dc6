"""Configuration comes from the environment, and bad values fail at start-up by name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from csplatform.env import database_from_url, env_bool, env_int, env_str

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_LIKE = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "-production-like-secret-key-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "cs.example.com",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "ENCRYPTION_KEYS": "b7N2Xl3u1L4v9dE0p6q8r2s5t7w9y1z3A5C7E9G1I3K=",
}


def _django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    clean.pop("SECURE_SSL_REDIRECT", None)
    clean.pop("SESSION_COOKIE_SECURE", None)
    clean.pop("CSRF_COOKIE_SECURE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.e2e  # starts a process
def test_it_requires_a_secret_key_when_debug_is_off():
    result = _django({"DEBUG": "0"}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


@pytest.mark.e2e  # starts a process
def test_it_names_the_variable_that_is_not_a_boolean():
    result = _django({"DEBUG": "maybe"}, "check")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


@pytest.mark.e2e  # starts a process
def test_it_names_a_database_url_that_is_not_postgres():
    result = _django({"DEBUG": "1", "DATABASE_URL": "mysql://x@y/z"}, "check")
    assert result.returncode != 0
    assert "DATABASE_URL='mysql://x@y/z' must be a PostgreSQL URL" in result.stderr


@pytest.mark.e2e  # starts a process
def test_it_passes_the_deployment_checklist_with_production_like_settings():
    result = _django(PRODUCTION_LIKE, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_accepts_the_application_database_role(db):
    from django.core.checks import run_checks

    errors = run_checks(databases=["default"], tags=["database"])
    assert [e.id for e in errors if e.id.startswith("csplatform")] == []


def test_it_flags_a_superuser_role(monkeypatch):
    from csplatform import checks

    class FakeCursor:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, *args):
            pass

        def fetchone(self):
            return ("postgres", True, False)

    class FakeConnection:
        def cursor(self):
            return FakeCursor()

    monkeypatch.setattr(checks, "connections", {"default": FakeConnection()})
    [error] = checks.check_database_role_obeys_rls(databases=["default"])
    assert error.id == "csplatform.E001"
    assert "postgres" in error.msg


def test_it_reads_secrets_from_a_file(tmp_path, monkeypatch):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("SOME_SECRET_FILE", str(secret))
    monkeypatch.setenv("SOME_SECRET", "from-the-environment")
    assert env_str("SOME_SECRET") == "from-a-file"


def test_it_names_a_missing_secret_file(monkeypatch):
    monkeypatch.setenv("SOME_SECRET_FILE", "/nonexistent/secret")
    with pytest.raises(ImproperlyConfigured, match="SOME_SECRET_FILE"):
        env_str("SOME_SECRET")


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("yes", True), ("off", False), ("", False)]
)
def test_it_reads_booleans(raw, expected, monkeypatch):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG") is expected


def test_it_names_a_number_that_is_not_one(monkeypatch):
    monkeypatch.setenv("WORKERS", "two")
    with pytest.raises(ImproperlyConfigured, match="WORKERS='two' is not a whole number"):
        env_int("WORKERS", 1)


def test_it_parses_a_database_url():
    config = database_from_url(
        "DATABASE_URL", "postgres://app:p%40ss@db.internal:6432/cs?sslmode=require"
    )
    assert config["NAME"] == "cs"
    assert (config["USER"], config["PASSWORD"]) == ("app", "p@ss")
    assert (config["HOST"], config["PORT"]) == ("db.internal", "6432")
    assert config["OPTIONS"] == {"sslmode": "require"}


def test_it_names_a_database_url_without_a_database():
    with pytest.raises(ImproperlyConfigured, match="does not name a database"):
        database_from_url("DATABASE_URL", "postgres://app@localhost")
