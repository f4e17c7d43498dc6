"""The flow across the worker: a detractor's answer refreshes satisfaction, then the
health snapshot, then the playbooks, which open a task for the account's owner."""

import time
from datetime import date

import pytest
from django.utils import timezone

from csplatform.clock import organization_today
from csplatform.tasks import debounce_release
from csplatform.tenancy import tenant_context
from journeys.models import Todo
from metrics.models import AccountHealth, HealthBackfill
from metrics.tasks import recompute_health, recompute_satisfaction
from surveys.services import response_record
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OrganizationFactory,
    PlaybookFactory,
    SubscriptionFactory,
    SurveyInvitationFactory,
)


@pytest.mark.django_db(transaction=True)
def test_it_opens_a_task_on_a_real_worker_after_a_detractor_answers(
    celery_worker_process, settings
):
    settings.METRICS_RECOMPUTE_DELAY_SECONDS = 0
    organization = OrganizationFactory(time_zone="UTC")
    owner = MembershipFactory(organization=organization, role="manager").user
    for task in (recompute_satisfaction, recompute_health):
        debounce_release(task, organization.pk)
    with tenant_context(organization):
        contact = ContactFactory(account__owner=owner)
        SubscriptionFactory(account=contact.account, started_on=date(2026, 1, 1))
        PlaybookFactory(trigger="detractor", task_title="Call the detractor")
        # Its history is computed already: the worker runs this flow only, not a year of
        # backfill steps still going when the test's database is emptied.
        HealthBackfill.objects.create(
            reason="data_loaded", through=date(2026, 1, 1), requested_at=timezone.now()
        )
        invitation = SurveyInvitationFactory(contact=contact)
    with tenant_context(organization):
        response_record(invitation=invitation, score=2, automatic=False)

    deadline = time.monotonic() + 30
    todos: list[Todo] = []
    while time.monotonic() < deadline and not todos:
        time.sleep(0.2)
        with tenant_context(organization):
            todos = list(Todo.objects.all())
    assert [(t.title, t.account_id, t.assignee_id) for t in todos] == [
        ("Call the detractor", contact.account_id, owner.pk)
    ]
    with tenant_context(organization):
        snapshot = AccountHealth.objects.get(day=organization_today(organization))
    assert snapshot.satisfaction == 20.0  # NPS 2 → 20, read by the snapshot the worker wrote
