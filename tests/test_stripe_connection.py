"""The Stripe connection (docs/integrations.md, Set-up): an admin connects a restricted
key on the Connections page (checked with Stripe at once, stored encrypted, never shown
again); a backfill in Celery, through the outbox, one customer committed per step with
its cursor; rate limits and outages retried by the outbox; the nightly reconciliation.

Stripe is the real localstripe on loopback (tests/localstripe.py, in the test process), or a tiny
HTTP stand-in for what localstripe cannot do (answer 429). The customer sync itself
(billing.stripe_sync.customer_sync, written in another branch) is replaced by a double
that records each customer and writes its account, so a rolled-back sync shows.
"""

import json
import secrets
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery import current_app
from django.db import DataError
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AuditEvent
from billing import services, stripe_sync
from billing.models import FailureReason, StripeConnection, StripeEvent
from csplatform.crypto import secret_decrypt, secret_encrypt
from csplatform.models import OutboxMessage
from csplatform.tenancy import tenant_context
from tests.factories import AccountFactory, StripeConnectionFactory, StripeEventFactory
from tests.localstripe import localstripe_client, localstripe_flush, localstripe_url

Action = AuditEvent.Action


def _new_key() -> str:
    return "sk_test_" + secrets.token_hex(12)


@pytest.fixture
def stripe_fake(settings):
    """The session's localstripe, emptied; STRIPE_API_BASE points at it."""
    settings.STRIPE_API_BASE = localstripe_url()
    localstripe_flush()
    return localstripe_client()


@pytest.fixture
def synced(monkeypatch):
    """The double of billing.stripe_sync.customer_sync: records each customer it syncs
    and writes its account (in the run's transaction); `fail_on` makes it raise once for
    a customer, after writing, as a sync that loses Stripe halfway would."""

    class Synced(list):
        fail_on: dict[str, Exception] = {}

    calls = Synced()

    def customer_sync_double(client, customer_id, **options):
        # Idempotent, as the real one: rebuilds the customer's rows.
        Account.objects.filter(external_id=customer_id).delete()
        AccountFactory(external_id=customer_id, name=f"Stripe {customer_id}")
        if customer_id in calls.fail_on:
            raise calls.fail_on.pop(customer_id)
        calls.append(customer_id)

    monkeypatch.setattr(stripe_sync, "customer_sync", customer_sync_double)
    return calls


def _connect_url(team):
    return reverse("billing:stripe_connect", kwargs={"org_slug": team.organization.slug})


def _page_url(team):
    return reverse("billing:connections", kwargs={"org_slug": team.organization.slug})


def _in(team, query):
    with tenant_context(team.organization):
        return query()


def _billing_messages(organization):
    with tenant_context(organization):
        return list(
            OutboxMessage.objects.filter(task__startswith="billing.")
            .order_by("pk")
            .values("pk", "task", "args", "deliveries", "given_up_at")
        )


def run_outbox(organization, *, limit=100):
    """Run the organization's billing outbox messages as a worker would, oldest first,
    until none is left or a run fails; returns the failed run's exception or None."""
    for _ in range(limit):
        waiting = [m for m in _billing_messages(organization) if m["given_up_at"] is None]
        if not waiting:
            return None
        message = waiting[0]
        task = current_app.tasks[message["task"]]
        result = task.apply(
            args=(organization.pk, *message["args"]),
            kwargs={"outbox_id": message["pk"]},
            throw=False,
        )
        if result.failed():
            return result.result
    raise AssertionError("the outbox never emptied")


# --- connecting -------------------------------------------------------------------------


def test_it_connects_a_key_stripe_accepts_and_stores_it_encrypted(
    team, signed_in, stripe_fake, caplog
):
    key = _new_key()
    caplog.set_level("DEBUG")
    response = signed_in(team.admin).post(_connect_url(team), {"key": key})
    assert response.status_code == 302
    connection = _in(team, StripeConnection.objects.get)
    assert key not in connection.restricted_key
    assert secret_decrypt(connection.restricted_key) == key
    assert connection.key_hint == f"sk_test_…{key[-4:]}"
    assert connection.backfill_running
    with tenant_context(team.organization):
        from django.db import connection as db

        with db.cursor() as cursor:
            cursor.execute("SELECT restricted_key FROM billing_stripeconnection")
            (raw,) = cursor.fetchone()
    assert key not in raw
    assert key[8:] not in raw
    [entry] = _in(team, lambda: list(AuditEvent.objects.all()))
    assert (entry.action, entry.actor, entry.target) == (
        Action.STRIPE_CONNECTED,
        team.admin,
        connection.key_hint,
    )
    assert key not in json.dumps(entry.details)
    assert [m["task"] for m in _billing_messages(team.organization)] == [
        "billing.tasks.stripe_backfill"
    ]
    page = signed_in(team.admin).get(_page_url(team)).content.decode()
    assert connection.key_hint in page
    assert key not in page
    assert key[8:] not in page
    assert key not in caplog.text
    assert key[8:] not in caplog.text


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("rk_test_revoked0000000000", "Stripe refused this key"),  # localstripe: 401
        ("pk_test_publishable00000", "This is not a Stripe secret key"),
        ("hello", "This is not a Stripe secret key"),
    ],
)
def test_it_refuses_a_key_that_does_not_work_and_writes_nothing(
    team, signed_in, stripe_fake, key, says, caplog
):
    response = signed_in(team.admin).post(_connect_url(team), {"key": key})
    assert response.status_code == 400
    page = response.content.decode()
    assert says in page
    assert key not in page  # not echoed back into the form
    assert key not in caplog.text
    assert _in(team, StripeConnection.objects.count) == 0
    assert _in(team, AuditEvent.objects.count) == 0
    assert _billing_messages(team.organization) == []


def test_it_says_so_when_stripe_cannot_be_reached(team, signed_in, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # discard: nothing listens
    response = signed_in(team.admin).post(_connect_url(team), {"key": _new_key()})
    assert response.status_code == 400
    assert "Stripe could not be reached" in response.content.decode()
    assert _in(team, StripeConnection.objects.count) == 0


def test_it_replaces_the_key_and_keeps_the_backfill(team, signed_in, stripe_fake):
    client = signed_in(team.admin)
    client.post(_connect_url(team), {"key": _new_key()})
    new_key = _new_key()
    assert client.post(_connect_url(team), {"key": new_key}).status_code == 302
    connection = _in(team, StripeConnection.objects.get)
    assert secret_decrypt(connection.restricted_key) == new_key
    actions = _in(
        team, lambda: list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    )
    assert actions == [Action.STRIPE_CONNECTED, Action.STRIPE_KEY_REPLACED]
    assert len(_billing_messages(team.organization)) == 1  # one backfill, not two


def test_it_disconnects_forgetting_the_key_and_the_secret(team, signed_in):
    with tenant_context(team.organization):
        StripeConnectionFactory()
    url = reverse("billing:stripe_disconnect", kwargs={"org_slug": team.organization.slug})
    assert signed_in(team.admin).post(url).status_code == 302
    assert _in(team, StripeConnection.objects.count) == 0
    assert _in(team, lambda: AuditEvent.objects.get().action) == Action.STRIPE_DISCONNECTED


def test_it_stores_the_signing_secret_encrypted_and_never_shows_it(team, signed_in):
    with tenant_context(team.organization):
        StripeConnectionFactory()
    url = reverse("billing:stripe_webhook_secret", kwargs={"org_slug": team.organization.slug})
    refused = signed_in(team.admin).post(url, {"secret": "not-a-secret"})
    assert refused.status_code == 400
    assert "it starts with whsec_" in refused.content.decode()
    secret = "whsec_" + secrets.token_hex(16)
    assert signed_in(team.admin).post(url, {"secret": secret}).status_code == 302
    connection = _in(team, StripeConnection.objects.get)
    assert secret not in connection.webhook_secret
    assert secret_decrypt(connection.webhook_secret) == secret
    page = signed_in(team.admin).get(_page_url(team)).content.decode()
    assert secret not in page
    assert secret[6:] not in page
    assert "A signing secret is saved" in page
    assert connection.webhook_token in page  # the URL to paste into Stripe


def test_it_shows_progress_and_polls_only_while_the_backfill_runs(team, signed_in):
    with tenant_context(team.organization):
        connection = StripeConnectionFactory(backfill_customers_done=42)
        connection.backfill_started_at = connection.connected_at
        connection.save()
    client = signed_in(team.admin)
    fragment = client.get(_page_url(team), headers={"HX-Request": "true"}).content.decode()
    assert "42 customers synced" in fragment
    assert 'hx-trigger="every 5s"' in fragment
    assert "<html" not in fragment
    with tenant_context(team.organization):
        StripeConnection.objects.update(backfill_finished_at=connection.connected_at)
    page = client.get(_page_url(team)).content.decode()
    assert "hx-trigger" not in page.split('id="stripe-status"')[1].split(">")[0]


# --- the backfill -----------------------------------------------------------------------


def _connect(team, key=None):
    with tenant_context(team.organization):
        return services.stripe_connect(key=key or _new_key(), actor=team.admin)


def test_it_backfills_every_customer_once_page_after_page(team, stripe_fake, synced, monkeypatch):
    monkeypatch.setattr(services, "BACKFILL_PAGE", 2)
    made = [stripe_fake.v1.customers.create({"email": f"c{i}@example.com"}).id for i in range(5)]
    _connect(team)
    assert run_outbox(team.organization) is None
    assert sorted(synced) == sorted(made)
    connection = _in(team, StripeConnection.objects.get)
    assert connection.backfill_customers_done == 5
    assert connection.backfill_finished_at is not None
    assert not connection.backfill_running


def test_it_resumes_a_backfill_after_stripe_is_lost_mid_way_without_duplicates(
    team, stripe_fake, synced, monkeypatch
):
    import stripe

    monkeypatch.setattr(services, "BACKFILL_PAGE", 2)
    made = [stripe_fake.v1.customers.create({"email": f"c{i}@example.com"}).id for i in range(5)]
    _connect(team)
    order = stripe_fake.v1.customers.list({"limit": 10}).data
    third = order[2].id
    synced.fail_on[third] = stripe.APIConnectionError("connection reset")
    failure = run_outbox(team.organization)
    assert isinstance(failure, stripe.APIConnectionError)
    connection = _in(team, StripeConnection.objects.get)
    assert connection.backfill_cursor == order[1].id  # the last customer committed
    assert connection.backfill_customers_done == 2
    assert connection.failure_reason == FailureReason.UNREACHABLE
    # Nothing of the failed customer's sync was kept: no partial history.
    assert not _in(team, lambda: Account.objects.filter(external_id=third).exists())
    [waiting] = _billing_messages(team.organization)
    assert waiting["deliveries"] == 1
    assert run_outbox(team.organization) is None  # the outbox runs it again
    assert sorted(synced) == sorted(made)
    assert _in(team, lambda: Account.objects.filter(external_id__in=made).count()) == 5
    connection = _in(team, StripeConnection.objects.get)
    assert (connection.backfill_customers_done, connection.failure_reason) == (5, "")


def test_it_skips_a_stale_step_of_an_older_generation(team, stripe_fake, synced):
    _connect(team)
    with tenant_context(team.organization):
        StripeConnection.objects.update(backfill_generation=F("backfill_generation") + 1)
    assert run_outbox(team.organization) is None
    assert synced == []


class _Answers:
    """A tiny Stripe stand-in on loopback: 429 (with Retry-After) for the first
    `limited` requests, then a page of one customer."""

    def __init__(self, limited: int) -> None:
        self.limited = limited
        self.requests = 0
        answers = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                answers.requests += 1
                if answers.requests <= answers.limited:
                    body = {"error": {"type": "rate_limit_error", "message": "Too many requests"}}
                    self._send(429, body, {"Retry-After": "900"})
                else:
                    body = {
                        "object": "list",
                        "url": "/v1/customers",
                        "has_more": False,
                        "data": [{"id": "cus_limited", "object": "customer"}],
                    }
                    self._send(200, body, {})

            def _send(self, status, body, headers):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def rate_limited(settings):
    made = []

    def make(limited):
        answers = _Answers(limited)
        settings.STRIPE_API_BASE = answers.url
        made.append(answers)
        return answers

    yield make
    for answers in made:
        answers.server.shutdown()
        answers.server.server_close()


def test_it_retries_a_rate_limited_backfill_through_the_outbox(team, rate_limited, synced):
    import stripe

    rate_limited(limited=1)
    with tenant_context(team.organization):
        StripeConnectionFactory(backfill_started_at=None)
        services._backfill_enqueue(StripeConnection.objects.get())
    failure = run_outbox(team.organization)
    assert isinstance(failure, stripe.RateLimitError)
    connection = _in(team, StripeConnection.objects.get)
    assert (connection.failure_reason, connection.failure_status, connection.failures) == (
        FailureReason.RATE_LIMITED,
        429,
        1,
    )
    [message] = _billing_messages(team.organization)
    assert message["given_up_at"] is None  # still owed: the relay queues it again
    with tenant_context(team.organization):
        waits = OutboxMessage.objects.get().run_after - timezone.now()
    assert timedelta(seconds=890) < waits <= timedelta(seconds=900)  # Stripe's Retry-After
    assert run_outbox(team.organization) is None
    assert synced == ["cus_limited"]
    connection = _in(team, StripeConnection.objects.get)
    assert (connection.failure_reason, connection.failures) == ("", 0)


def test_it_gives_up_after_the_outboxs_runs_and_says_failing(
    team, signed_in, rate_limited, synced, settings
):
    settings.OUTBOX_MAX_DELIVERIES = 2
    rate_limited(limited=100)
    with tenant_context(team.organization):
        StripeConnectionFactory()
        services._backfill_enqueue(StripeConnection.objects.get())
    for _ in range(2):
        assert run_outbox(team.organization) is not None
    assert run_outbox(team.organization) is None  # the third run gives the message up
    [message] = _billing_messages(team.organization)
    assert message["given_up_at"] is not None
    page = signed_in(team.admin).get(_page_url(team)).content.decode()
    assert "Failing" in page
    assert "Stripe asked us to slow down" in page
    assert "Gave up after 2 attempts" in page


# --- the nightly reconciliation -------------------------------------------------------


def test_it_reconciles_the_events_a_webhook_missed_once_per_customer(
    team, stripe_fake, synced, monkeypatch
):
    first = stripe_fake.v1.customers.create({"email": "one@example.com"})
    _connect(team)
    assert run_outbox(team.organization) is None  # the backfill
    synced.clear()
    with tenant_context(team.organization):
        StripeConnection.objects.update(events_cursor_created=None)  # read every event
    second = stripe_fake.v1.customers.create({"email": "two@example.com"})
    stripe_fake.v1.customers.update(second.id, {"description": "renamed"})
    events = stripe_fake.v1.events.list({"limit": 100}).data
    received = next(e for e in events if e.data.object.id == first.id)
    with tenant_context(team.organization):
        StripeEventFactory(event_id=received.id, customer_id=first.id)  # came by webhook
    from billing.tasks import stripe_reconcile

    result = stripe_reconcile.apply(args=(team.organization.pk,), throw=True).result
    assert result["new"] == len(events) - 1
    assert result["customers"] == 1  # `second`, twice in the events: one sync
    assert run_outbox(team.organization) is None
    assert synced == [second.id]
    connection = _in(team, StripeConnection.objects.get)
    assert connection.last_reconciled_at is not None
    assert connection.events_cursor_id in {e.id for e in events}
    kept = _in(team, lambda: set(StripeEvent.objects.values_list("event_id", flat=True)))
    assert kept == {e.id for e in events}
    again = stripe_reconcile.apply(args=(team.organization.pk,), throw=True).result
    assert (again["new"], again["customers"]) == (0, 0)


def test_it_resumes_a_given_up_backfill_at_the_reconciliation(team, stripe_fake, synced):
    made = stripe_fake.v1.customers.create({"email": "one@example.com"}).id
    _connect(team)
    with tenant_context(team.organization):
        OutboxMessage.objects.update(given_up_at=StripeConnection.objects.get().connected_at)
    from billing.tasks import stripe_reconcile

    result = stripe_reconcile.apply(args=(team.organization.pk,), throw=True).result
    assert result["backfill_resumed"] is True
    assert run_outbox(team.organization) is None
    assert made in synced
    assert _in(team, StripeConnection.objects.get).backfill_finished_at is not None


def test_it_reconciles_nothing_for_an_organization_not_connected(team):
    from billing.tasks import stripe_reconcile

    assert stripe_reconcile.apply(args=(team.organization.pk,), throw=True).result is None


def test_it_says_the_key_is_refused_when_it_is_revoked_after_connecting(
    team, signed_in, stripe_fake, synced
):
    with tenant_context(team.organization):
        # localstripe refuses every key but sk_…: as Stripe does a revoked one (401).
        StripeConnectionFactory(restricted_key=secret_encrypt("rk_test_revokedsince0001"))
        services._backfill_enqueue(StripeConnection.objects.get())
    import stripe

    assert isinstance(run_outbox(team.organization), stripe.AuthenticationError)
    connection = _in(team, StripeConnection.objects.get)
    assert (connection.failure_reason, connection.failure_status) == (
        FailureReason.KEY_REJECTED,
        401,
    )
    page = signed_in(team.admin).get(_page_url(team)).content.decode()
    assert "Stripe refused the key" in page
    assert "rk_test_revokedsince0001" not in page


# --- a customer that cannot be synced ---------------------------------------------------


def _permanent(kind):
    """An error that running the sync again would meet again."""
    import stripe

    from billing.stripe_mapping import StripeShapeError
    from csplatform.batches import RowError, RowsRejected

    return {
        "shape": lambda: StripeShapeError("a subscription with items of two intervals"),
        "rows_rejected": lambda: RowsRejected([RowError(1, "email", "too long")]),
        "data_error": lambda: DataError("value too long for type character varying(254)"),
        "stripe_refused": lambda: stripe.InvalidRequestError(
            "No such price", param="price", http_status=400
        ),
    }[kind]()


def test_it_skips_a_customer_that_cannot_be_synced_and_finishes_the_backfill(
    team, signed_in, stripe_fake, synced, caplog
):
    made = [stripe_fake.v1.customers.create({"email": f"c{i}@example.com"}).id for i in range(3)]
    order = [c.id for c in stripe_fake.v1.customers.list({"limit": 10}).data]
    bad = order[1]
    synced.fail_on[bad] = _permanent("shape")
    _connect(team)
    assert run_outbox(team.organization) is None
    assert sorted(synced) == sorted(set(made) - {bad})
    connection = _in(team, StripeConnection.objects.get)
    assert connection.backfill_finished_at is not None
    assert connection.backfill_customers_done == 2
    assert connection.skipped_customers == [{"customer": bad, "reason": "shape", "params": {}}]
    assert connection.failure_reason == ""
    # Nothing of the skipped customer's sync was kept.
    assert not _in(team, lambda: Account.objects.filter(external_id=bad).exists())
    assert bad in caplog.text
    page = signed_in(team.admin).get(_page_url(team)).content.decode()
    assert "1 customer could not be synced" in page
    assert bad in page
    assert "Stripe sent something the connector cannot read" in page


@pytest.mark.parametrize("kind", ["shape", "rows_rejected", "data_error", "stripe_refused"])
def test_it_records_a_customer_sync_that_cannot_succeed_and_does_not_fail(
    team, stripe_fake, synced, kind
):
    from billing.tasks import stripe_customer_sync

    _connect(team)
    synced.fail_on["cus_bad"] = _permanent(kind)
    result = stripe_customer_sync.apply(args=(team.organization.pk, "cus_bad"), throw=True)
    assert result.successful()
    connection = _in(team, StripeConnection.objects.get)
    [skipped] = connection.skipped_customers
    assert (skipped["customer"], skipped["reason"]) == ("cus_bad", kind)
    assert not _in(team, lambda: Account.objects.filter(external_id="cus_bad").exists())
    # Synced later (the customer was fixed in Stripe), it is no longer listed.
    stripe_customer_sync.apply(args=(team.organization.pk, "cus_bad"), throw=True)
    assert _in(team, StripeConnection.objects.get).skipped_customers == []


def test_it_still_fails_a_customer_sync_on_a_transient_error(team, stripe_fake, synced):
    import stripe

    from billing.tasks import stripe_customer_sync

    _connect(team)
    synced.fail_on["cus_1"] = stripe.APIError("Internal error", http_status=500)
    result = stripe_customer_sync.apply(args=(team.organization.pk, "cus_1"))
    assert result.failed()
    connection = _in(team, StripeConnection.objects.get)
    assert connection.skipped_customers == []
    assert connection.failure_reason == FailureReason.STRIPE_ERROR


def test_it_keeps_the_list_of_skipped_customers_short(team, stripe_fake, synced, monkeypatch):
    from billing.tasks import stripe_customer_sync

    monkeypatch.setattr(services, "SKIPPED_CUSTOMERS_MAX", 2)
    _connect(team)
    for n in range(3):
        synced.fail_on[f"cus_{n}"] = _permanent("shape")
        stripe_customer_sync.apply(args=(team.organization.pk, f"cus_{n}"), throw=True)
    skipped = _in(team, StripeConnection.objects.get).skipped_customers
    assert [s["customer"] for s in skipped] == ["cus_1", "cus_2"]


def test_it_says_on_the_page_when_a_sync_fails_with_an_unexpected_error(
    team, signed_in, stripe_fake, synced
):
    from billing.tasks import stripe_customer_sync

    _connect(team)
    synced.fail_on["cus_1"] = RuntimeError("a bug")
    assert stripe_customer_sync.apply(args=(team.organization.pk, "cus_1")).failed()
    connection = _in(team, StripeConnection.objects.get)
    assert connection.failure_reason == FailureReason.SYNC_ERROR
    page = signed_in(team.admin).get(_page_url(team)).content.decode()
    assert "Failing" in page


# --- syncs given up, keys replaced, connecting twice -----------------------------------


def test_it_redoes_the_customer_syncs_the_outbox_gave_up(team, stripe_fake, synced):
    from billing.tasks import stripe_reconcile

    _connect(team)
    assert run_outbox(team.organization) is None  # the (empty) backfill
    with tenant_context(team.organization):
        services._customer_sync_enqueue("cus_lost")
    with tenant_context(team.organization):
        OutboxMessage.objects.filter(task="billing.tasks.stripe_customer_sync").update(
            given_up_at=timezone.now()
        )
    result = stripe_reconcile.apply(args=(team.organization.pk,), throw=True).result
    assert result["customers"] == 1
    messages = _billing_messages(team.organization)
    assert [(m["task"], m["args"], m["given_up_at"]) for m in messages if m["args"]] == [
        ("billing.tasks.stripe_customer_sync", ["cus_lost"], None)
    ]
    assert run_outbox(team.organization) is None
    assert synced == ["cus_lost"]


def test_it_queues_the_backfill_again_when_the_key_is_replaced_before_it_finished(
    team, stripe_fake, synced
):
    made = stripe_fake.v1.customers.create({"email": "one@example.com"}).id
    _connect(team)
    with tenant_context(team.organization):
        OutboxMessage.objects.update(given_up_at=timezone.now())
    _connect(team)  # the same account: the key is replaced
    assert run_outbox(team.organization) is None
    assert synced == [made]
    assert _in(team, StripeConnection.objects.get).backfill_finished_at is not None


def test_it_starts_a_new_backfill_generation_on_reconnect(team, stripe_fake, synced):
    stripe_fake.v1.customers.create({"email": "one@example.com"})
    first = _connect(team)
    with tenant_context(team.organization):
        services.stripe_disconnect(actor=team.admin)
    second = _connect(team)
    assert second.backfill_generation != first.backfill_generation
    with tenant_context(team.organization):
        assert services.stripe_backfill_step(first.backfill_generation) is False
    assert synced == []


@pytest.mark.django_db(transaction=True)
def test_it_connects_once_when_two_first_connections_arrive_together(settings, monkeypatch):
    from django.db import connection as db

    from accounts.models import Role
    from tests.factories import MembershipFactory, OrganizationFactory

    settings.STRIPE_API_BASE = localstripe_url()
    localstripe_flush()
    organization = OrganizationFactory()
    admin = MembershipFactory(organization=organization, role=Role.ADMIN).user
    barrier = threading.Barrier(2)
    errors = []
    verify = services.stripe_key_verify

    def verify_then_meet(key):  # both checked with Stripe, then both write at once
        account = verify(key)
        barrier.wait(10)
        return account

    monkeypatch.setattr(services, "stripe_key_verify", verify_then_meet)

    def connect():
        try:
            with tenant_context(organization):
                services.stripe_connect(key=_new_key(), actor=admin)
        except Exception as error:
            errors.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=connect) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with tenant_context(organization):
        assert StripeConnection.objects.count() == 1
        actions = sorted(AuditEvent.objects.values_list("action", flat=True))
    assert actions == sorted([Action.STRIPE_CONNECTED, Action.STRIPE_KEY_REPLACED])


def test_it_names_the_skipped_customers_in_the_readers_language(team, signed_in):
    with tenant_context(team.organization):
        StripeConnectionFactory(
            skipped_customers=[
                {"customer": "cus_a", "reason": "rows_rejected", "params": {}},
                {"customer": "cus_b", "reason": "stripe_refused", "params": {"status": 404}},
            ]
        )
    page = (
        signed_in(team.admin)
        .get(_page_url(team), headers={"accept-language": "pt-BR"})
        .content.decode()
    )
    assert "2 clientes não puderam ser sincronizados" in page
    assert "cus_a" in page
    assert "A conta, o contato ou o histórico dele ficariam inválidos" in page
    assert "O Stripe se recusou a devolvê-lo" in page


def test_it_skips_a_real_customer_whose_rows_the_database_refuses(team, signed_in, stripe_fake):
    """With the real sync: a customer whose email is longer than a contact's may be."""
    good = [stripe_fake.v1.customers.create({"email": f"c{i}@example.com"}).id for i in range(2)]
    bad = stripe_fake.v1.customers.create({"email": "x" * 300 + "@example.com"}).id
    _connect(team)
    assert run_outbox(team.organization) is None
    connection = _in(team, StripeConnection.objects.get)
    assert connection.backfill_finished_at is not None
    [skipped] = connection.skipped_customers
    assert skipped["customer"] == bad
    assert skipped["reason"] in {"data_error", "rows_rejected"}
    external_ids = _in(team, lambda: set(Account.objects.values_list("external_id", flat=True)))
    assert external_ids == set(good)
    page = signed_in(team.admin).get(_page_url(team)).content.decode()
    assert "1 customer could not be synced" in page
    assert bad in page
