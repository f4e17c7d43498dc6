"""The demo generator: realistic shapes, deterministic for a seed, idempotent as a command."""

from datetime import UTC, date

import pytest
from django.core.management import call_command
from django.db.models import Count

from accounts.models import Account, Subscription
from bench import demo
from csplatform.tenancy import tenant_context
from journeys.models import DailyUsage, Touchpoint, UsageEvent
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 20)
SCALE = demo.Scale(organizations=1, accounts=150, events=15_000, months=13)


def _generate(organization, seed=7, index=3):
    with tenant_context(organization):
        return demo.generate(
            organization_id=organization.pk,
            index=index,
            seed=seed,
            scale=SCALE,
            owner_ids=[],
            today=TODAY,
        )


def _snapshot(organization):
    with tenant_context(organization):
        return (
            sorted(Account.objects.values_list("external_id", "name", "segment", "signup_date")),
            sorted(
                Subscription.objects.values_list(
                    "external_id", "amount_cents", "billing_interval", "started_on", "ended_on"
                )
            ),
            sorted(UsageEvent.objects.values_list("account__external_id", "name", "occurred_at")),
        )


@pytest.fixture(scope="module")
def shared_org(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization = OrganizationFactory(slug="demo-shapes")
        _generate(organization)
        yield organization
        organization.delete()


def test_it_generates_the_same_data_for_the_same_seed():
    first, second = OrganizationFactory(), OrganizationFactory()
    _generate(first)
    _generate(second)
    assert _snapshot(first) == _snapshot(second)
    third = OrganizationFactory()
    _generate(third, seed=8)
    assert _snapshot(third) != _snapshot(first)


def test_it_records_upgrades_downgrades_churn_and_reactivation_as_history(shared_org):
    with tenant_context(shared_org):
        per_account = Subscription.objects.values("account").annotate(n=Count("id"))
        counts = [row["n"] for row in per_account]
        ended = Subscription.objects.filter(ended_on__isnull=False).count()
        returned = Subscription.objects.filter(external_id__endswith="-s3").count()
        changed = list(Subscription.objects.filter(external_id__endswith="-s2"))
        firsts = {
            s.account_id: s.amount_cents
            for s in Subscription.objects.filter(external_id__endswith="-s1")
        }
    assert max(counts) >= 2
    assert ended > 0
    assert returned > 0
    ups = sum(1 for s in changed if s.amount_cents > firsts[s.account_id])
    downs = sum(1 for s in changed if s.amount_cents < firsts[s.account_id])
    assert ups > 0
    assert downs > 0


def test_it_makes_usage_fade_before_an_account_churns(shared_org):
    with tenant_context(shared_org):
        churned = (
            Account.objects.filter(subscriptions__ended_on__isnull=False)
            .exclude(subscriptions__ended_on__isnull=True)
            .distinct()
        )
        early, late = 0, 0
        for account in churned[:40]:
            end = max(s.ended_on for s in account.subscriptions.all())
            start = account.signup_date
            span = (end - start).days
            if span < 150:
                continue
            usage = DailyUsage.objects.filter(account=account)
            late += sum(u.events for u in usage if (end - u.day).days <= 60) / 60
            early += sum(u.events for u in usage if (end - u.day).days > 60) / (span - 60)
    assert late < early * 0.8  # events per day in the last 60 days fall clearly


def test_it_rolls_up_every_generated_event(shared_org):
    with tenant_context(shared_org):
        events = UsageEvent.objects.count()
        assert sum(DailyUsage.objects.values_list("events", flat=True)) == events
        assert events > SCALE.events * 0.9
        assert not UsageEvent.objects.filter(occurred_at__date__gt=TODAY).exists()


def test_it_records_more_negative_tickets_near_churn(shared_org):
    with tenant_context(shared_org):
        tickets = Touchpoint.objects.filter(type__name="Support ticket")
        assert tickets.filter(sentiment="negative").exists()
        assert Touchpoint.objects.filter(type__name="Onboarding call").count() == SCALE.accounts


def test_it_seeds_more_organizations_and_skips_those_already_seeded(capsys):
    call_command("seed_demo", orgs=2)
    call_command("seed_demo", orgs=2)
    out = capsys.readouterr().out
    assert "[2/2] demo-001: 80 accounts" in out
    assert "[1/1]" not in out
    assert out.count("already seeded") == 2


def test_it_puts_contacts_on_file_from_their_accounts_signup(shared_org):
    # The back-test scores a past day with the contacts recorded by then: contacts stamped
    # with the day the demo was generated would leave every past day without any.
    from django.db.models import F
    from django.db.models.functions import TruncDate

    from accounts.models import Contact

    with tenant_context(shared_org):
        contacts = Contact.objects.annotate(day=TruncDate("created_at", tzinfo=UTC))
        assert contacts.exists()
        assert not contacts.exclude(day=F("account__signup_date")).exists()
