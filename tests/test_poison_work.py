"""Work that cannot finish must not hold the queue: a recompute refuses to build
centuries of months, a worker child gives its memory back, and an outbox message whose
runs keep failing or being killed is given up after OUTBOX_MAX_DELIVERIES runs, logged
and kept (docs/operations.md, Faults)."""

import logging
import uuid
from datetime import date, timedelta

import pytest
from django.utils import timezone

from csplatform import outbox
from csplatform.models import OutboxMessage
from csplatform.tasks import enqueue_debounced, enqueue_on_commit, tenant_task
from csplatform.tenancy import tenant_context
from tests.factories import AccountFactory, OrganizationFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganizationFactory(currency="BRL", time_zone="UTC")


@pytest.mark.parametrize(
    ("started_on", "said"), [(date(1900, 1, 1), "1900-01"), (date(1, 1, 1), "0001-01")]
)
def test_it_refuses_to_build_more_months_than_its_cap(org, caplog, started_on, said):
    from metrics.services import MAX_RECOMPUTE_MONTHS, TooManyMonths, metrics_recompute

    with tenant_context(org):
        # Stored before the bounds existed (the services refuse it now).
        SubscriptionFactory(account=AccountFactory(), started_on=started_on)
    with (
        caplog.at_level(logging.ERROR, logger="metrics.services"),
        pytest.raises(TooManyMonths, match=f"starts in {said},"),
        tenant_context(org),
    ):
        metrics_recompute(full=True)
    assert str(MAX_RECOMPUTE_MONTHS) in caplog.text


def test_it_still_scores_health_when_one_history_is_refused_and_goes_on_to_the_next(org):
    import io

    from django.core.management import CommandError, call_command

    from metrics.models import AccountHealth, MonthlyMetrics

    other = OrganizationFactory(slug="zz-after", currency="BRL", time_zone="UTC")
    with tenant_context(org):
        SubscriptionFactory(account=AccountFactory(), started_on=date(1900, 1, 1))
        SubscriptionFactory(account=AccountFactory(), started_on=date(2024, 1, 1))
    with tenant_context(other):
        SubscriptionFactory(account=AccountFactory(), started_on=date(2024, 1, 1))
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 organization"):
        call_command("recompute_metrics", "--all", "--full", stdout=out)
    assert "revenue not recomputed: Not recomputed: the first subscription starts in 1900-01" in (
        out.getvalue()
    )
    with tenant_context(org):
        assert not MonthlyMetrics.objects.exists()  # revenue refused, as it was
        assert AccountHealth.objects.count() == 2  # the rest of the recompute ran
    with tenant_context(other):  # and the organization after it too
        assert MonthlyMetrics.objects.exists()
        assert AccountHealth.objects.count() == 1


def test_it_limits_the_memory_of_each_worker_child(settings):
    from csplatform.celery import app

    assert settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD == 1024 * 1024  # KiB: 1 GiB
    assert app.conf.worker_max_memory_per_child == settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD


RUNS: list[str] = []


@tenant_task(name="tests.bounds.poison")
def poison() -> None:
    RUNS.append("poison")
    raise MemoryError("killed")


@tenant_task(name="tests.bounds.debounced_poison", debounced=True)
def debounced_poison() -> None:
    RUNS.append("debounced")
    raise MemoryError("killed")


def test_it_gives_up_a_message_delivered_too_often(org, settings, caplog, monkeypatch):
    settings.OUTBOX_MAX_DELIVERIES = 3
    RUNS.clear()
    relayed: list[str] = []
    monkeypatch.setattr(outbox, "outbox_publish", lambda name, *a, **k: relayed.append(name))
    with tenant_context(org):
        enqueue_on_commit(poison, org.pk)
        [message_id] = OutboxMessage.objects.values_list("pk", flat=True)
    with caplog.at_level(logging.ERROR, logger="csplatform.tasks"):
        for _attempt in range(5):  # a worker killed, redelivered, relayed…
            poison.apply(args=[org.pk], kwargs={"outbox_id": message_id})
    assert RUNS == ["poison"] * 3
    assert "tests.bounds.poison" in caplog.text
    assert "gave up" in caplog.text
    with tenant_context(org):
        message = OutboxMessage.objects.get()
        assert (message.deliveries, message.given_up_at is not None) == (3, True)
        OutboxMessage.objects.update(run_after=timezone.now() - timedelta(hours=1))
    outbox.outbox_relay()
    assert relayed == []  # never queued again


def test_it_gives_up_debounced_messages_delivered_too_often(org, settings):
    settings.OUTBOX_MAX_DELIVERIES = 2
    RUNS.clear()
    with tenant_context(org):
        enqueue_debounced(debounced_poison, org.pk, delay=0)
    for _attempt in range(4):
        debounced_poison.apply(args=[org.pk])
    assert RUNS == ["debounced"] * 2
    with tenant_context(org):
        assert OutboxMessage.objects.get().given_up_at is not None
        # A new change is new work: tried again, with its own count.
        enqueue_debounced(debounced_poison, org.pk, delay=0)
    debounced_poison.apply(args=[org.pk])
    assert RUNS == ["debounced"] * 3


@tenant_task(name="tests.bounds.swept_poison")
def swept_poison() -> None:
    RUNS.append("swept")
    raise MemoryError("killed")


def test_it_gives_up_a_task_queued_without_the_outbox_redelivered_too_often(org, settings, caplog):
    settings.OUTBOX_MAX_DELIVERIES = 2
    RUNS.clear()
    task_id = str(uuid.uuid4())  # a sweep's .delay(); the broker hands it back each time
    with caplog.at_level(logging.ERROR, logger="csplatform.tasks"):
        for _attempt in range(4):
            swept_poison.apply(args=[org.pk], task_id=task_id)
    assert RUNS == ["swept"] * 2
    assert task_id in caplog.text
    swept_poison.apply(args=[org.pk], task_id=str(uuid.uuid4()))  # the next night's run
    assert RUNS == ["swept"] * 3
