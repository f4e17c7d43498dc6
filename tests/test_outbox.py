"""The transactional outbox, in-process: what is recorded, relayed, skipped and deleted.
(The same with the real processes stopped and killed: tests/test_faults.py.)"""

from datetime import timedelta

import pytest
from django.utils import timezone

from csplatform import outbox
from csplatform.models import OutboxMessage
from csplatform.tasks import enqueue_debounced, enqueue_on_commit, tenant_task
from csplatform.tenancy import tenant_context
from tests.factories import OrganizationFactory

RUNS: list[str] = []


@tenant_task(name="tests.outbox.note_run")
def note_run(label: str = "single") -> str:
    RUNS.append(label)
    return label


@tenant_task(name="tests.outbox.note_debounced_run", debounced=True)
def note_debounced_run() -> str:
    RUNS.append("debounced")
    # A change recorded while this run works: not claimed by it, so kept for the next.
    outbox.outbox_record("tests.outbox.note_debounced_run", debounced=True)
    return "debounced"


@pytest.fixture
def org(db):
    RUNS.clear()
    return OrganizationFactory()


@pytest.fixture
def published(monkeypatch):
    """What would have gone to the broker."""
    sent: list[tuple] = []

    def publish(task_name, organization_id, args=(), *, outbox_id=None, countdown=0, relayed=False):
        sent.append((task_name, organization_id, tuple(args), outbox_id, relayed))
        return True

    monkeypatch.setattr(outbox, "outbox_publish", publish)
    return sent


def _messages(org):
    with tenant_context(org):
        return list(OutboxMessage.objects.order_by("pk").values("task", "attempts", "run_after"))


def test_it_records_the_follow_up_in_the_changes_transaction(
    org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, tenant_context(org):
        enqueue_on_commit(note_run, org.pk, "invite")
        [message] = OutboxMessage.objects.all()
    assert (message.task, message.args, message.debounced) == (
        "tests.outbox.note_run",
        ["invite"],
        False,
    )
    assert len(callbacks) == 1  # the publish, after the commit only


def test_it_refuses_to_record_work_for_another_organization(org):
    other = OrganizationFactory()
    with tenant_context(org), pytest.raises(ValueError, match="not the current one"):
        enqueue_on_commit(note_run, other.pk)


def test_it_relays_only_overdue_messages_and_waits_twice_as_long_each_time(
    org, published, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOX_GRACE_SECONDS = 60
    now = timezone.now()
    with tenant_context(org):
        due = OutboxMessage.objects.create(task="tests.outbox.note_run", args=["a"], run_after=now)
        OutboxMessage.objects.create(
            task="tests.outbox.note_run", args=["b"], run_after=now + timedelta(minutes=5)
        )
    for attempt, wait in ((1, 120), (2, 240), (3, 480)):
        with django_capture_on_commit_callbacks(execute=True):
            assert outbox.outbox_relay() == 1
        with tenant_context(org):
            due.refresh_from_db()
            assert due.attempts == attempt
            assert abs((due.run_after - timezone.now()).total_seconds() - wait) < 5
            OutboxMessage.objects.filter(pk=due.pk).update(run_after=timezone.now())
    assert [p[2] for p in published] == [("a",)] * 3  # never the one not yet due
    assert [p[3] for p in published] == [due.pk] * 3


def test_it_relays_a_burst_of_debounced_changes_as_one_run(
    org, published, django_capture_on_commit_callbacks
):
    with tenant_context(org):
        for _ in range(5):
            OutboxMessage.objects.create(
                task="tests.outbox.note_debounced_run", debounced=True, run_after=timezone.now()
            )
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.outbox_relay() == 1
    assert published == [("tests.outbox.note_debounced_run", org.pk, (), None, True)]


def test_it_queues_every_waiting_message_when_asked_for_all(
    org, published, django_capture_on_commit_callbacks
):
    with tenant_context(org):
        OutboxMessage.objects.create(
            task="tests.outbox.note_run", run_after=timezone.now() + timedelta(hours=1)
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.outbox_relay() == 0
        assert outbox.outbox_relay(everything=True) == 1


def test_it_does_a_single_message_once_however_often_it_is_queued(org):
    with tenant_context(org):
        message = OutboxMessage.objects.create(
            task="tests.outbox.note_run", args=["x"], run_after=timezone.now()
        )
    assert note_run(org.pk, "x", outbox_id=message.pk) == "x"
    assert note_run(org.pk, "x", outbox_id=message.pk) is None  # the relay's second copy
    assert RUNS == ["x"]
    assert _messages(org) == []


def test_it_keeps_a_single_message_when_its_run_fails(org):
    with tenant_context(org):
        message = OutboxMessage.objects.create(
            task="tests.outbox.note_run", run_after=timezone.now()
        )
    with pytest.raises(TypeError):  # the body takes one label: it raises
        note_run(org.pk, "one", "two", outbox_id=message.pk)
    assert len(_messages(org)) == 1  # still owed


def test_it_deletes_only_the_debounced_messages_recorded_before_the_run(org):
    with tenant_context(org):
        for _ in range(3):
            outbox.outbox_record("tests.outbox.note_debounced_run", debounced=True)
    assert note_debounced_run(org.pk) == "debounced"
    assert [m["task"] for m in _messages(org)] == ["tests.outbox.note_debounced_run"]


def test_it_skips_a_relayed_run_whose_work_another_run_did(org):
    assert note_debounced_run(org.pk, relayed=True) is None
    assert RUNS == []


def test_it_does_not_wait_for_a_broker_it_knows_is_down(settings, monkeypatch):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    monkeypatch.setattr(outbox, "_broker_down_since", None)
    outbox.broker_down()
    assert outbox.broker_known_down() is True
    assert outbox.outbox_publish("tests.outbox.note_run", 1) is False


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("redis://:secret@cache.internal:6380/0", ("cache.internal", 6380)),
        ("rediss://cache.internal/1", ("cache.internal", 6379)),
        ("amqp://guest:guest@mq:5672//", ("mq", 5672)),
        ("sentinel://h1:26379;sentinel://h2:26379", None),
        ("redis+socket:///run/redis.sock", None),
    ],
)
def test_it_probes_the_brokers_own_address(settings, url, address):
    settings.CELERY_BROKER_URL = url
    assert outbox._broker_address() == address


def test_it_waits_a_pause_for_a_broker_it_cannot_probe(settings, monkeypatch):
    settings.CELERY_BROKER_URL = "redis+socket:///run/redis.sock"
    monkeypatch.setattr(outbox, "_broker_down_since", None)
    outbox.broker_down()
    assert outbox.broker_known_down() is True
    monkeypatch.setattr(outbox, "_broker_down_since", outbox._broker_down_since - 11)
    assert outbox.broker_known_down() is False


def test_it_leaves_the_request_alone_when_the_cache_is_down(
    org, settings, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(outbox, "_broker_down_since", None)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        enqueue_debounced(note_debounced_run, org.pk, delay=0)
    assert [m["task"] for m in _messages(org)] == ["tests.outbox.note_debounced_run"]
    assert outbox.broker_known_down() is True  # so the next publish does not wait
