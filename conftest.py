"""Shared fixtures: organizations with the four roles and an outsider."""

from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import Organization, Role, User
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory


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
