"""Faults, for real: Redis stopped, a Celery worker killed, Postgres restarted.

Each test starts the processes it breaks (gunicorn, a Celery worker, a Redis server of
its own) and stops or kills them as an outage would; the Postgres test restarts the
machine's cluster. They run in a phase of their own, after the rest of the suite
(`make test`), since a Postgres restart cuts every connection on the machine.
"""

import time
import uuid
from datetime import date, timedelta

import pytest
import requests
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Role
from csplatform.models import OutboxMessage
from csplatform.tenancy import tenant_context
from journeys.models import DailyUsage, UsageEvent
from metrics.models import AccountHealth, MonthlyMetrics, SatisfactionMetrics
from surveys.models import Response
from surveys.tokens import make_answer_token
from tests import processes
from tests.factories import (
    PASSWORD,
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    MembershipFactory,
    OrganizationFactory,
    SubscriptionFactory,
    SurveyFactory,
    SurveyInvitationFactory,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]


def _in(organization, fn):
    with tenant_context(organization):
        return fn()


@pytest.fixture
def redis_server():
    server = processes.RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tenant(settings):
    """An organization with an owner, a customer with a contact and a subscription, a
    survey invitation and an API key."""
    # The servers run with production settings: a password hash they can check.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    organization = OrganizationFactory(currency="BRL", default_locale="en")
    owner = MembershipFactory(organization=organization, role=Role.OWNER).user
    with tenant_context(organization):
        account = AccountFactory(external_id="acme-1", name="Acme")
        SubscriptionFactory(account=account, started_on=date(2026, 1, 1))
        invitation = SurveyInvitationFactory(
            contact=ContactFactory(account=account, locale="en"),
            campaign=CampaignFactory(survey=SurveyFactory(kind="nps")),
        )
        _api_key, key = account_services.api_key_create(name="faults", created_by=owner)
    token = make_answer_token(organization_id=organization.pk, invitation_id=invitation.pk)
    return organization, owner, account, invitation, token, key


def _events(n: int) -> list[dict[str, object]]:
    when = timezone.now() - timedelta(hours=1)
    return [
        {
            "id": f"ev-{i}",
            "account_external_id": "acme-1",
            "event": "report.generated",
            "occurred_at": (when - timedelta(minutes=i)).isoformat(),
        }
        for i in range(n)
    ]


def _answer(base: str, token: str, score: int) -> requests.Response:
    session = requests.Session()
    page = session.get(f"{base}/s/{token}/?score={score}", timeout=10)
    assert page.status_code == 200, page.text[:300]
    return session.post(
        f"{base}/s/{token}/",
        data={
            "score": score,
            "automatic": "0",
            "csrfmiddlewaretoken": processes.csrf_token(page.text),
        },
        headers={"Referer": f"{base}/s/{token}/"},
        timeout=10,
        allow_redirects=False,
    )


# --- Redis stopped ------------------------------------------------------------------------


def test_it_saves_what_arrives_while_redis_is_down_and_does_the_follow_up_once_it_is_back(
    tenant, redis_server, smtp, smtp_server, tmp_path
):
    organization, owner, _account, _invitation, token, key = tenant
    queue = f"csplatform-faults-{uuid.uuid4().hex[:8]}"
    env = processes.app_env(redis_server.url, smtp_server.port, CELERY_TASK_DEFAULT_QUEUE=queue)
    web, base = processes.start_gunicorn(env, tmp_path / "web.log")
    worker = processes.start_worker(env, tmp_path / "worker.log", queue)
    try:
        owner_session = processes.sign_in(base, owner.email, PASSWORD)
        redis_server.stop()

        # A survey answer, an API batch, a CSV import and an admin's invitation arrive.
        answer = _answer(base, token, score=3)
        assert answer.status_code == 302, answer.text[:300]
        batch = requests.post(
            f"{base}/api/v1/events/batch/",
            json={"events": _events(20)},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert batch.status_code == 200, batch.text[:300]
        assert batch.json()["created"] == 20
        csv = tmp_path / "assinaturas.csv"
        csv.write_bytes(
            "external_id;account_external_id;plan;amount;currency;billing_interval;started_on\n"
            "sub-novo;acme-1;Plus;1.234,56;BRL;mensal;01/03/2026\n".encode("latin-1")
        )
        imported = processes.manage(
            env, "import_csv", "--org", organization.slug, "subscriptions", str(csv)
        )
        assert imported.returncode == 0, imported.stderr
        members = owner_session.get(f"{base}/o/{organization.slug}/members/", timeout=10)
        invited = owner_session.post(
            f"{base}/o/{organization.slug}/members/invite/",
            data={
                "email": "new.manager@vendor.example",
                "role": "manager",
                "csrfmiddlewaretoken": processes.csrf_token(members.text),
            },
            headers={"Referer": members.url},
            timeout=10,
            allow_redirects=False,
        )
        assert invited.status_code == 302, invited.text[:300]

        # Everything was saved, and the follow-up work is waiting in the outbox.
        assert _in(organization, lambda: Response.objects.filter(score=3).count()) == 1
        assert _in(organization, UsageEvent.objects.count) == 20
        assert _in(organization, lambda: MonthlyMetrics.objects.exists()) is False
        waiting = _in(
            organization, lambda: set(OutboxMessage.objects.values_list("task", flat=True))
        )
        assert {
            "metrics.tasks.recompute_satisfaction",
            "journeys.tasks.roll_up_usage",
            "metrics.tasks.recompute_metrics",
            "accounts.tasks.send_invitation_email",
        } <= waiting
        assert smtp.messages == []

        # Redis comes back, empty; the relay (beat's, every minute; here the command).
        redis_server.start()
        relayed = processes.manage(env, "relay_outbox", "--all")
        assert relayed.returncode == 0, relayed.stderr

        processes.wait_until(
            lambda: _in(organization, lambda: not OutboxMessage.objects.exists()),
            timeout=90,
            what="the outbox to empty",
        )
        [email] = smtp.wait_for(1)
        assert email["To"] == "new.manager@vendor.example"
        assert _in(organization, lambda: SatisfactionMetrics.objects.exists())
        assert (
            _in(organization, lambda: sum(DailyUsage.objects.values_list("events", flat=True)))
            == 20
        )
        march = _in(
            organization,
            lambda: MonthlyMetrics.objects.get(month=date(2026, 3, 1)).mrr,
        )
        assert march == 50_000 + 123_456  # cents: the factory's plan and the file's
        assert _in(organization, lambda: AccountHealth.objects.exists())
        time.sleep(2)  # nothing more arrives: each email once
        assert len(smtp.messages) == 1
    finally:
        processes.stop(worker)
        processes.stop(web)
