"""The load test's database: created, migrated and seeded for the run, dropped after it."""

from __future__ import annotations

import secrets
import time
from typing import IO, Any

import psycopg

from loadtest.config import Config

RESPONDENTS_DOMAIN = "respondents.loadtest.example"


def database_recreate(config: Config) -> None:
    """Drop the load test's database if a previous run left it, and create it afresh.

    As the application role (CREATEDB, and the owner of what it creates): creating and
    dropping its own database needs no administrative role.
    """
    with psycopg.connect(config.maintenance_database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{config.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{config.database}"')


def database_drop(config: Config, *, patience: float = 30) -> None:
    """Drop the load test's database, retrying for `patience` seconds while Postgres
    restarts (the next run drops a database left behind anyway)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            with psycopg.connect(config.maintenance_database_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{config.database}" WITH (FORCE)')
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def migrate(config: Config, progress: IO[str]) -> None:
    from django.core.management import call_command

    progress.write(f"migrating {config.database}\n")
    call_command("migrate", verbosity=0)


def seed(config: Config, progress: IO[str]) -> dict[str, Any]:
    """Seed the organizations; returns the plan the locust users follow.

    Each organization: the demo's customers (accounts, contacts, subscriptions, 20,000
    usage events, touchpoints, answers) with its metrics computed, a CS manager login, an
    API key, and an NPS campaign with `config.invitations` invitations sent, each to a
    contact of its own, whose signed answer links the respondents open.
    """
    from django.core.management import call_command

    progress.write(f"seeding {config.organizations} organization(s) (seed_demo --scale small)\n")
    call_command(
        "seed_demo", "--scale", "small", "--orgs", str(config.organizations), stdout=progress
    )
    call_command("recompute_metrics", "--all", stdout=progress)
    from accounts.models import Organization

    password = secrets.token_urlsafe(12)
    organizations = []
    for organization in Organization.objects.order_by("pk"):
        organizations.append(_load_test_setup(organization, config, password))
        progress.write(
            f"  {organization.slug}: manager, API key, {config.invitations} survey invitations\n"
        )
    return {"run_id": secrets.token_hex(4), "organizations": organizations}


def _load_test_setup(organization: Any, config: Config, password: str) -> dict[str, Any]:
    from accounts.models import Account, Contact, Role
    from accounts.services import api_key_create, membership_add, user_get_or_create
    from csplatform.tenancy import tenant_context
    from surveys.models import Campaign, Survey, SurveyInvitation
    from surveys.tokens import make_answer_token

    email = f"manager@{organization.slug}.loadtest.example"
    manager = user_get_or_create(email=email, password=password, full_name="Load Test Manager")
    membership_add(organization=organization, user=manager, role=Role.MANAGER)
    with tenant_context(organization):
        _api_key, key = api_key_create(name="load test", created_by=manager)
        accounts = list(Account.objects.order_by("pk").values("id", "external_id"))
        contacts: dict[int, list[str]] = {}
        for account_id, contact_email in Contact.objects.values_list("account_id", "email"):
            contacts.setdefault(account_id, []).append(contact_email)
        survey = Survey.objects.create(
            name="Load test NPS",
            kind="nps",
            question_en="How likely are you to recommend us to a friend or colleague?",
            question_pt_br="Qual a probabilidade de você nos recomendar a um amigo ou colega?",
        )
        campaign = Campaign.objects.create(survey=survey, name="Load test")
        respondents = Contact.objects.bulk_create(
            Contact(
                account_id=accounts[n % len(accounts)]["id"],
                email=f"r{n}@{organization.slug}.{RESPONDENTS_DOMAIN}",
            )
            for n in range(config.invitations)
        )
        invitations = SurveyInvitation.objects.bulk_create(
            SurveyInvitation(campaign=campaign, contact=contact, status="sent")
            for contact in respondents
        )
    return {
        "id": organization.pk,
        "slug": organization.slug,
        "api_key": key,
        "manager_email": email,
        "manager_password": password,
        "campaign_id": campaign.pk,
        "accounts": [
            {"id": a["id"], "external_id": a["external_id"], "contacts": contacts.get(a["id"], [])}
            for a in accounts
        ],
        "invitations": [
            {
                "id": i.pk,
                "path": "/s/"
                + make_answer_token(organization_id=organization.pk, invitation_id=i.pk)
                + "/",
            }
            for i in invitations
        ],
    }
