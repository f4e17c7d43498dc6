"""Shared fixtures: organizations with the four roles and an outsider; the test
suite's clock (tests/clock.py) and tiers (fast, e2e, faults)."""

from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import Organization, Role, User
from tests.clock import VARIABLE as CLOCK_VARIABLE
from tests.clock import moved_to, travel
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

# Before any test module is collected, so that module-level constants see the moved
# clock too.
_TRAVELLER = travel()


def pytest_report_header(config) -> str:
    instant = moved_to()
    if instant is None:
        return f"clock: the real one (set {CLOCK_VARIABLE} to move it)"
    return f"clock: moved to {instant.isoformat()} ({instant.tzinfo}) by {CLOCK_VARIABLE}"


# Tests that need any of these fixtures start other processes or a server: the e2e tier.
E2E_FIXTURES = {"celery_worker_process", "live_server", "localstripe_server"}
# What cannot follow a moved clock: the browser's own clock (cookies, scripts), and the
# fault tests, which stop and start the machine's Postgres and Redis.
UNMOVABLE = ("browser", "faults")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config, items) -> None:
    moved = moved_to()
    for item in items:
        if E2E_FIXTURES & set(item.fixturenames) or any(
            item.get_closest_marker(name) for name in ("worker", "browser")
        ):
            item.add_marker(pytest.mark.e2e)
        if moved is not None and any(item.get_closest_marker(name) for name in UNMOVABLE):
            item.add_marker(
                pytest.mark.skip(
                    reason=f"{CLOCK_VARIABLE} moves the clock; a browser and the fault "
                    "tests' services keep the real one"
                )
            )


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    instant = moved_to()
    if instant is None:
        return
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if CLOCK_VARIABLE in str(getattr(report, "longrepr", ""))
    ]
    terminalreporter.write_line(
        f"clock moved to {instant.isoformat()} ({instant.tzinfo}): {len(skipped)} browser "
        "and fault test(s) skipped, whose clocks cannot move"
    )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # The production hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_rate_limits(settings) -> None:
    # Every test client comes from 127.0.0.1, API key ids repeat from one test database
    # to the next, and the Redis counters are shared with other runs on the machine:
    # limits are off unless a test sets its own (tests/test_rate_limits.py).
    settings.SURVEY_RATE_LIMIT = None
    settings.SIGN_IN_FAILURE_RATE_LIMIT = None
    settings.PASSWORD_RESET_RATE_LIMIT = None
    settings.API_KEY_FAILURE_RATE_LIMIT = None
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": None},
    }


@dataclass
class Team:
    organization: Organization
    owner: User
    admin: User
    manager: User
    viewer: User
    outsider: User  # a member of another organization only

    def user(self, persona: str) -> User:
        return getattr(self, persona)


@pytest.fixture
def team(db: None) -> Team:
    organization = OrganizationFactory()
    people = {
        role.value: MembershipFactory(organization=organization, role=role).user
        for role in (Role.OWNER, Role.ADMIN, Role.MANAGER, Role.VIEWER)
    }
    outsider = MembershipFactory(role=Role.OWNER).user
    return Team(organization=organization, outsider=outsider, **people)


@pytest.fixture
def signed_in(client: Client):
    """signed_in(user) logs the test client in as `user` and returns the client."""

    def sign_in(user: User) -> Client:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return sign_in


__all__ = ["PASSWORD", "UserFactory"]
