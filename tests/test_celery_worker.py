"""A real Celery worker, on the real Redis and the test database, runs tenant-scoped tasks."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import MemberInvitation
from accounts.tasks import purge_stale_invitations, purge_stale_invitations_sweep
from csplatform.tenancy import tenant_context
from tests.factories import MemberInvitationFactory, OrganizationFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _stale_and_fresh(organization, stale: int):
    long_ago = timezone.now() - timedelta(days=60)
    with tenant_context(organization):
        MemberInvitationFactory.create_batch(stale, expires_at=long_ago)
        MemberInvitationFactory()


def _count(organization):
    with tenant_context(organization):
        return MemberInvitation.objects.count()


def test_it_runs_a_tenant_task_on_a_worker_for_that_tenant_only(celery_worker_process):
    org_a, org_b = OrganizationFactory(), OrganizationFactory()
    _stale_and_fresh(org_a, stale=3)
    _stale_and_fresh(org_b, stale=2)

    deleted = purge_stale_invitations.delay(org_a.pk).get(timeout=30)

    assert deleted == 3
    assert _count(org_a) == 1
    assert _count(org_b) == 3  # the other tenant's rows were neither seen nor touched


def test_it_is_idempotent_when_a_task_runs_twice(celery_worker_process):
    organization = OrganizationFactory()
    _stale_and_fresh(organization, stale=2)
    assert purge_stale_invitations.delay(organization.pk).get(timeout=30) == 2
    assert purge_stale_invitations.delay(organization.pk).get(timeout=30) == 0
    assert _count(organization) == 1


def test_it_fans_a_sweep_out_to_one_task_per_organization(celery_worker_process):
    organizations = [OrganizationFactory() for _ in range(3)]
    for organization in organizations:
        _stale_and_fresh(organization, stale=1)
    OrganizationFactory(is_active=False)

    assert purge_stale_invitations_sweep.delay().get(timeout=30) == 3

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_count(o) != 1 for o in organizations):
        time.sleep(0.1)
    assert [_count(o) for o in organizations] == [1, 1, 1]


def test_it_lists_every_periodic_job_in_the_schedule_module():
    from csplatform.celery import app
    from csplatform.schedules import BEAT_SCHEDULE

    app.loader.import_default_modules()  # what beat and the worker do at start
    app.finalize()
    assert app.conf.beat_schedule == BEAT_SCHEDULE
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


def test_it_skips_a_task_for_an_organization_deactivated_since_it_was_queued(
    celery_worker_process,
):
    organization = OrganizationFactory(is_active=False)
    _stale_and_fresh(organization, stale=2)
    assert purge_stale_invitations.delay(organization.pk).get(timeout=30) is None
    assert _count(organization) == 3
