"""Faults, for real: Redis stopped, a Celery worker killed, Postgres restarted.

Each test starts the processes it breaks (gunicorn, a Celery worker, a Redis server of
its own) and stops or kills them as an outage would; the Postgres test restarts the
machine's cluster. They run in a phase of their own, after the rest of the suite
(`make test`), since a Postgres restart cuts every connection on the machine.
"""

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from datetime import date, timedelta

import psycopg
import pytest
import requests
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Account, Role
from csplatform.models import OutboxMessage
from csplatform.tenancy import tenant_context
from journeys.models import DailyUsage, UsageEvent
from metrics import services as metrics_services
from metrics.models import (
    AccountHealth,
    CohortMetrics,
    MonthlyMetrics,
    MonthTerms,
    SatisfactionMetrics,
)
from surveys.models import Response, SurveyInvitation
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


# --- A worker killed -----------------------------------------------------------------------


def _revenue_history(organization) -> None:
    """Thirty customers over two years: starts, upgrades and cancellations."""
    with tenant_context(organization):
        for n in range(30):
            account = AccountFactory(external_id=f"c-{n}")
            started = date(2025, 1 + n % 12, 1)
            ended = date(2026, 1 + n % 10, 1) if n % 4 == 0 else None
            SubscriptionFactory(
                account=account,
                started_on=started,
                ended_on=ended,
                amount_cents=10_000 * (1 + n % 5),
            )
            if n % 3 == 0:
                SubscriptionFactory(account=account, started_on=date(2026, 4, 1))


def _stored_metrics(organization) -> dict[str, list[tuple]]:
    """Every stored revenue number of the organization, without ids and timestamps."""
    skip = {"id", "organization", "computed_at", "updated_at", "created_at"}

    def rows(model) -> list[tuple]:
        fields = [f.attname for f in model._meta.concrete_fields if f.name not in skip]
        return sorted(model.objects.values_list(*fields))

    with tenant_context(organization):
        return {
            "monthly": rows(MonthlyMetrics),
            "cohorts": rows(CohortMetrics),
            "terms": rows(MonthTerms),
        }


def _other_sessions() -> int:
    """Sessions on this database other than the test's own (the killed worker's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


def _blocked_by(blocker_pid: int) -> bool:
    """Whether a session of this database waits for a lock the blocker holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pg_blocking_pids(pid) @> ARRAY[%s]",
            [blocker_pid],
        )
        return cursor.fetchone()[0] > 0


def test_it_reruns_a_recompute_killed_halfway_to_the_numbers_of_a_clean_run(
    redis_server, smtp_server, tmp_path
):
    organization = OrganizationFactory(currency="BRL")
    _revenue_history(organization)
    queue = f"csplatform-faults-{uuid.uuid4().hex[:8]}"
    env = processes.app_env(redis_server.url, smtp_server.port, CELERY_TASK_DEFAULT_QUEUE=queue)
    worker = processes.start_worker(env, tmp_path / "worker.log", queue)
    # Another session holds the cohorts table against writes: the recompute reads its
    # inputs, writes the monthly metrics and terms, then waits there, halfway.
    blocker = psycopg.connect(processes.database_url(), autocommit=False)
    try:
        blocker.execute("LOCK TABLE metrics_cohortmetrics IN EXCLUSIVE MODE")
        blocker_pid = blocker.info.backend_pid
        with tenant_context(organization):
            metrics_services.metrics_mark_stale(since=date(2025, 1, 1))
        # (The change's commit queued the run on the test's own broker: the worker
        # listens on the private Redis, so it is queued there, as the relay would.)
        processes.manage(env, "relay_outbox", "--all")
        processes.wait_until(
            lambda: _blocked_by(blocker_pid),
            timeout=60,
            what="the recompute to reach the cohorts",
        )
        processes.stop(worker, kill=True)  # SIGKILL, halfway through
    finally:
        blocker.close()

    # Nothing of the killed run was kept, and its work is still owed.
    processes.wait_until(
        lambda: _other_sessions() == 0,
        timeout=30,
        what="the killed run's transaction to end",
    )
    assert _stored_metrics(organization)["monthly"] == []
    owed = _in(organization, lambda: list(OutboxMessage.objects.values_list("task", flat=True)))
    assert owed == ["metrics.tasks.recompute_metrics"]

    worker = processes.start_worker(env, tmp_path / "worker.log", queue)
    try:
        processes.manage(env, "relay_outbox", "--all")  # beat's, every minute
        processes.wait_until(
            lambda: _in(organization, lambda: not OutboxMessage.objects.exists()),
            timeout=90,
            what="the rerun",
        )
    finally:
        processes.stop(worker)
    rerun = _stored_metrics(organization)
    assert rerun["monthly"]

    with tenant_context(organization):
        metrics_services.metrics_recompute(full=True)  # a clean run, from scratch
    assert _stored_metrics(organization) == rerun


class _HoldingInbox:
    """An SMTP server's handler that holds the `hold_at`-th message at RCPT, before its
    content is sent, until released: a worker killed meanwhile never delivers it."""

    def __init__(self, hold_at: int) -> None:
        self.hold_at = hold_at
        self.seen = 0
        self.holding = threading.Event()
        self.release = threading.Event()
        self.delivered: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        self.seen += 1
        if self.seen == self.hold_at:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.delivered.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


def test_it_emails_each_invitation_once_when_the_worker_is_killed_mid_campaign(
    redis_server, tmp_path
):
    organization = OrganizationFactory(default_locale="en")
    with tenant_context(organization):
        campaign = CampaignFactory(survey=SurveyFactory(kind="nps"))
        invitations = [
            SurveyInvitationFactory(
                campaign=campaign,
                contact=ContactFactory(email=f"person{n}@customer.example", locale="en"),
                status="pending",
                sent_at=None,
            )
            for n in range(6)
        ]
    inbox = _HoldingInbox(hold_at=3)
    smtp = Controller(inbox, hostname="127.0.0.1", port=processes.free_port())
    smtp.start()
    queue = f"csplatform-faults-{uuid.uuid4().hex[:8]}"
    env = processes.app_env(redis_server.url, smtp.port, CELERY_TASK_DEFAULT_QUEUE=queue)
    worker = processes.start_worker(env, tmp_path / "worker.log", queue)
    try:
        # The campaign's emails go out, one transaction each, until the third.
        processes.manage(env, "shell", "-c", _QUEUE_SENDING % (organization.pk, campaign.pk))
        assert inbox.holding.wait(timeout=60), "the third email never reached the server"
        processes.stop(worker, kill=True)  # SIGKILL, mid-email
        inbox.release.set()
        assert len(inbox.delivered) == 2

        # A new worker; the sweep (every five minutes) finds the campaign still sending.
        worker = processes.start_worker(env, tmp_path / "worker.log", queue)
        processes.manage(env, "shell", "-c", _SWEEP % organization.pk)
        processes.wait_until(
            lambda: len(inbox.delivered) >= len(invitations), timeout=90, what="every email"
        )
        time.sleep(2)  # nothing more arrives
    finally:
        processes.stop(worker)
        smtp.stop()

    assert sorted(inbox.delivered) == sorted(f"person{n}@customer.example" for n in range(6))
    with tenant_context(organization):
        statuses = Counter(
            SurveyInvitation.objects.filter(campaign=campaign).values_list("status", flat=True)
        )
    assert statuses == {"sent": 6}


_QUEUE_SENDING = "from surveys.tasks import queue_sending; queue_sending(%d, %d)"
_SWEEP = "from surveys.tasks import send_due_campaigns; send_due_campaigns.delay(%d)"


# --- Postgres restarted --------------------------------------------------------------------


def test_it_answers_503_while_postgres_restarts_and_recovers_without_a_restart(tenant, tmp_path):
    organization, _owner, _account, _invitation, _token, key = tenant
    env = processes.app_env(settings.REDIS_URL, 25)
    web, base = processes.start_gunicorn(env, tmp_path / "web.log", workers=2)
    results: list[tuple[float, str, int, str, str]] = []
    stop_load = threading.Event()

    def load(path: str, headers: dict[str, str]) -> None:
        session = requests.Session()
        while not stop_load.is_set():
            try:
                response = session.get(f"{base}{path}", headers=headers, timeout=10)
                results.append(
                    (
                        time.monotonic(),
                        path,
                        response.status_code,
                        response.headers.get("Retry-After", ""),
                        response.text,
                    )
                )
            except requests.RequestException as error:  # no answer at all: a failure
                results.append((time.monotonic(), path, 0, "", repr(error)))
            time.sleep(0.02)

    api = {"Authorization": f"Bearer {key}"}
    paths = {"/healthz": {}, "/api/v1/accounts/": api, f"/s/{_token}/": {}}
    threads = [threading.Thread(target=load, args=item) for item in paths.items()]
    for thread in threads:
        thread.start()
    try:
        # Postgres stops once every path has been answered, not after a fixed pause: a
        # gunicorn worker's first requests (URLconf, templates, connections) can take
        # seconds on two busy cores, and the test then saw no answer before the outage.
        processes.wait_until(
            lambda: (
                {path for _at, path, status, *_rest in list(results) if status == 200} == set(paths)
            ),
            timeout=60,
            what="a first answer on every path",
        )
        time.sleep(1)
        processes.postgres("stop")
        down_at = time.monotonic()
        time.sleep(3)
        processes.postgres("start")
        processes.wait_until(processes.postgres_ready, timeout=60, what="Postgres")
        up_at = time.monotonic()
        time.sleep(6)
    finally:
        stop_load.set()
        for thread in threads:
            thread.join(timeout=30)
        if not processes.postgres_ready():
            processes.postgres("start")
        connection.close()  # the test's own connection was cut too
        processes.stop(web)

    statuses = Counter(status for _at, _path, status, _retry, _body in results)
    assert set(statuses) <= {200, 503}, statuses
    before = [r for r in results if r[0] < down_at - 0.5]
    assert before
    assert all(status == 200 for _at, _path, status, _retry, _body in before)
    outage = [r for r in results if down_at <= r[0] <= up_at]
    refused = {path for _at, path, status, _retry, _body in outage if status == 503}
    assert refused == {"/healthz", "/api/v1/accounts/", f"/s/{_token}/"}  # each, cleanly
    for _at, path, status, retry_after, body in results:
        if status == 503:
            assert retry_after == "5"
            assert "Traceback" not in body
            if path.startswith("/api/"):
                assert json.loads(body)["detail"].startswith("The service is briefly unavailable")
            else:
                assert "briefly unavailable" in body
    # Recovered, the same server process: the last two seconds are all answered.
    settled = [r for r in results if r[0] >= up_at + 4]
    assert settled
    assert {path for _at, path, *_rest in settled} == {
        "/healthz",
        "/api/v1/accounts/",
        f"/s/{_token}/",
    }
    assert all(status == 200 for _at, _path, status, _retry, _body in settled)
    # No worker process died or was replaced on the way: the two booted at the start.
    assert (tmp_path / "web.log").read_text().count("Booting worker") == 2
    with tenant_context(organization):  # and the test's own connection is back
        assert Account.objects.get(external_id="acme-1").name == "Acme"
