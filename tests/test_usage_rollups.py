"""The daily usage rollups: counted from the roll-up queue, exactly once, seconds after ingest."""

import time
import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.customers import accounts_upsert
from accounts.models import Account
from csplatform.batches import RowsRejected
from csplatform.celery import app as celery_app
from csplatform.tasks import debounce_release
from csplatform.tenancy import tenant_context
from journeys.ingest import events_ingest, events_ingest_staged_csv
from journeys.models import DailyFeatureUsage, DailyUsage, PendingUsageRollup, UsageEvent
from journeys.rollups import usage_pending, usage_roll_up
from journeys.tasks import roll_up_usage
from tests.factories import OrganizationFactory


def _events(count, *, account="a1", name="report.generated"):
    when = timezone.now() - timedelta(hours=1)
    return [
        {
            "account_external_id": account,
            "name": name,
            "occurred_at": when,
            "external_id": f"{name}-{i}",
        }
        for i in range(count)
    ]


def _daily_events():
    return sum(DailyUsage.objects.values_list("events", flat=True))


@pytest.fixture
def org(db):
    organization = OrganizationFactory()
    with tenant_context(organization):
        accounts_upsert([{"external_id": "a1", "name": "Acme"}])
    return organization


def test_it_queues_written_events_and_counts_them_once_however_often_the_roll_up_runs(org):
    with tenant_context(org):
        events_ingest(_events(3))
        assert (usage_pending(), _daily_events()) == (3, 0)
        assert usage_roll_up() == 3
        assert usage_roll_up() == 0
        events_ingest(_events(3))  # a retry: nothing new to count
        assert usage_roll_up() == 0
        assert (usage_pending(), _daily_events()) == (0, 3)
        assert DailyFeatureUsage.objects.get().events == 3


@transaction.atomic
def _roll_up_then_die():
    usage_roll_up()
    raise RuntimeError("the worker was killed")


def test_it_leaves_queue_and_rollups_as_they_were_when_a_roll_up_dies_halfway(org):
    with tenant_context(org):
        events_ingest(_events(2))
        with pytest.raises(RuntimeError, match="killed"):
            _roll_up_then_die()
        assert (usage_pending(), _daily_events()) == (2, 0)
        assert usage_roll_up() == 2
        assert _daily_events() == 2


def test_it_drains_the_queue_of_events_whose_account_was_deleted(org):
    with tenant_context(org):
        events_ingest(_events(2))
        Account.objects.all().delete()
        assert usage_roll_up() == 0
        assert not PendingUsageRollup.objects.exists()


def test_it_rolls_up_in_chunks_until_the_queue_is_empty(org, monkeypatch):
    monkeypatch.setattr("journeys.rollups.CHUNK", 2)
    with tenant_context(org):
        for start in range(5):
            events_ingest(_events(1, name=f"feature-{start}"))
        assert PendingUsageRollup.objects.count() == 5
        assert usage_roll_up() == 5
        assert _daily_events() == 5


def test_it_writes_nothing_when_a_validated_account_is_gone_at_write_time(org):
    with tenant_context(org):
        staged = f"e1,ghost,,login,{timezone.now().isoformat()},,\n"
        with pytest.raises(RowsRejected) as rejected, transaction.atomic():
            events_ingest_staged_csv(staged, 1)
        assert "deleted while the events were written" in str(rejected.value.errors[0].message)
        assert UsageEvent.objects.count() == 0
        assert usage_pending() == 0


@pytest.fixture
def private_queue():
    """Tasks queued in the test go to a queue of their own, read back from Redis."""
    queue = f"csplatform-test-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        yield lambda: client.llen(queue)
    finally:
        celery_app.conf.task_default_queue = previous
        client.delete(queue)


@pytest.mark.django_db(transaction=True)
def test_it_queues_one_roll_up_for_a_burst_of_writes(private_queue):
    organization = OrganizationFactory()
    with tenant_context(organization):
        accounts_upsert([{"external_id": "a1", "name": "Acme"}])
    debounce_release(roll_up_usage, organization.pk)
    for batch in range(3):
        with tenant_context(organization):
            events_ingest(_events(2, name=f"burst-{batch}"))
    assert private_queue() == 1
    # Once the task has started (and released the debounce), the next write queues again.
    debounce_release(roll_up_usage, organization.pk)
    with tenant_context(organization):
        events_ingest(_events(1, name="after"))
    assert private_queue() == 2


@pytest.mark.django_db(transaction=True)
def test_it_brings_the_rollups_up_to_date_on_a_real_worker_after_ingest(
    celery_worker_process, settings
):
    settings.USAGE_ROLLUP_DELAY_SECONDS = 0
    organization = OrganizationFactory()
    with tenant_context(organization):
        accounts_upsert([{"external_id": "a1", "name": "Acme"}])
    debounce_release(roll_up_usage, organization.pk)
    with tenant_context(organization):
        events_ingest(_events(4))

    deadline = time.monotonic() + 30
    counted = 0
    while time.monotonic() < deadline and counted != 4:
        time.sleep(0.1)
        with tenant_context(organization):
            counted = _daily_events()
    assert counted == 4
    with tenant_context(organization):
        assert usage_pending() == 0
