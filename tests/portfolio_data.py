"""Many accounts at once, for the query-count tests of the workspace and the accounts
list: each with a subscription, two health snapshots, an open task and a negative
survey answer, written with bulk_create. Call inside tenant_context(org)."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import Account, Subscription, User
from csplatform.clock import organization_today
from journeys.models import Todo
from metrics.models import AccountHealth
from surveys.models import Response


def bulk_portfolio(organization, *, count: int, owner: User, start: int = 0) -> list[Account]:
    """`count` accounts named bulk-<n> from `start`, all owned by `owner`."""
    today = organization_today(organization)
    accounts = Account.objects.bulk_create(
        Account(
            external_id=f"bulk-{n}",
            name=f"Bulk account {n:05d}",
            owner=owner,
            segment="SMB" if n % 2 else "Enterprise",
            lifecycle_stage="onboarding",
        )
        for n in range(start, start + count)
    )
    Subscription.objects.bulk_create(
        Subscription(
            external_id=f"bulk-sub-{n}",
            account=account,
            plan="Pro",
            amount_cents=120_000,
            currency=organization.currency,
            billing_interval="year" if n % 2 else "quarter",
            started_on=today - timedelta(days=30 + n % 300),
        )
        for n, account in zip(range(start, start + count), accounts, strict=True)
    )
    snapshots = []
    for n, account in zip(range(start, start + count), accounts, strict=True):
        at_risk = n % 3 == 0
        week_before = (today - timedelta(days=7), 60.0, "neutral")
        latest = (today, 30.0 if at_risk else 80.0, "at_risk" if at_risk else "healthy")
        for day, score, band in (week_before, latest):
            snapshots.append(
                AccountHealth(
                    account=account,
                    day=day,
                    score=score,
                    band=band,
                    engagement=score,
                    satisfaction=50.0,
                    contributions={"engagement": score / 2, "satisfaction": 25.0},
                    flags=["happy_unengaged"] if n % 5 == 0 else [],
                )
            )
    AccountHealth.objects.bulk_create(snapshots)
    Todo.objects.bulk_create(
        Todo(title=f"Call {n}", account=account, assignee=owner, due_on=today + timedelta(days=2))
        for n, account in zip(range(start, start + count), accounts, strict=True)
    )
    Response.objects.bulk_create(
        Response(
            account=account,
            kind="nps",
            score=3,
            comment="Too slow",
            responded_at=timezone.now() - timedelta(days=1),
        )
        for account in accounts
    )
    return accounts
