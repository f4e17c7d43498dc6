"""The dashboards' pages leave their side effects to the services: a GET writes nothing,
no view writes an audit entry or queues work itself, and what a page used to create
on its first visit (the default stages and benchmarks) comes with the organization.

The pages are found by walking the resolver (tests/url_catalogue.py): a new page of
dashboards/views/ is covered without anyone remembering.
"""

import ast
import importlib
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts import services as account_services
from accounts.models import AuditEvent
from csplatform.models import OutboxMessage
from csplatform.tenancy import tenant_context
from dashboards.models import Benchmark
from dashboards.services import benchmark_list
from journeys.models import LifecycleStage
from surveys import campaign_services
from surveys.models import SurveyInvitation
from surveys.sending import StillSending
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    MonthlyMetricsFactory,
    OrganizationFactory,
)
from tests.url_catalogue import ORG_ROUTES, objects_of, org_url

pytestmark = pytest.mark.django_db

DASHBOARD_ROUTES = [r for r in ORG_ROUTES if r.view.__module__.startswith("dashboards.views.")]
VIEWS = Path(settings.BASE_DIR) / "dashboards" / "views"
WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY")


def _writes(queries):
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]


def _get_writes(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code in {200, 302, 405}, (url, response.status_code)
    return _writes(queries.captured_queries)


def test_it_finds_the_dashboards_pages():
    assert len(DASHBOARD_ROUTES) > 30
    assert {"journeys:map", "journeys:stages", "dashboards:executive"} <= {
        r.name for r in DASHBOARD_ROUTES
    }


def test_it_writes_nothing_on_a_get_of_any_dashboards_page(team, signed_in):
    objects = objects_of(team.organization, "acme")
    with tenant_context(team.organization):
        MonthlyMetricsFactory(month=date(2026, 9, 1), mrr=100_000, arr=1_200_000, customers=3)
    client = signed_in(team.owner)
    for route in DASHBOARD_ROUTES:
        url = org_url(route, objects, org_slug=team.organization.slug)
        assert _get_writes(client, url) == [], route.name
        assert _get_writes(client, url + "?page=2&period=2026-09") == [], route.name


def test_it_writes_nothing_on_a_get_of_an_organization_without_defaults(team, signed_in):
    """An organization made without organization_create (no stages, no benchmarks): the
    journey pages and the executive pages used to create them on this first GET."""
    with tenant_context(team.organization):
        MonthlyMetricsFactory(month=date(2026, 9, 1), mrr=100_000, arr=1_200_000, customers=3)
    client = signed_in(team.owner)
    pages = [r for r in DASHBOARD_ROUTES if not set(r.kwargs) - {"org_slug"}]  # no ids
    assert len(pages) > 15
    for route in pages:
        url = org_url(route, {}, org_slug=team.organization.slug)
        assert _get_writes(client, url) == [], route.name
    with tenant_context(team.organization):
        assert not LifecycleStage.objects.exists()
        assert not Benchmark.objects.exists()


def _called_names(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            yield func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        elif isinstance(node, ast.ImportFrom) and node.module == "accounts.audit":
            yield from (f"import {alias.name}" for alias in node.names)


def test_it_calls_no_audit_function_from_the_dashboards_views():
    """The services write their audit entries; a view only calls the service."""
    found = {
        f"{path.name}: {name}"
        for path in sorted(VIEWS.glob("*.py"))
        for name in _called_names(path)
        if name.startswith(("audit_", "import audit_")) or name in {"on_commit", "queue_sending"}
    }
    assert found == set()


def test_it_gives_a_new_organization_its_default_stages_and_benchmarks():
    organization = account_services.organization_create(
        slug="padaria",
        name="Padaria",
        owner_email="dona@padaria.example",
        default_locale="pt-br",
    )
    with tenant_context(organization):
        stages = list(LifecycleStage.objects.order_by("position"))
        labels = dict(Benchmark.objects.values_list("metric", "label_key"))
        grr = Benchmark.objects.get(metric="grr")
    assert [s.key for s in stages] == [
        "onboarding",
        "adoption",
        "retention",
        "expansion",
        "advocacy",
    ]
    assert set(labels) == {"logo_churn_rate", "nrr", "grr", "gross_dollar_churn"}
    assert labels["grr"] == "benchmark.grr.label"  # a key, shown in the reader's language
    with translation.override("pt-br"):
        assert grr.label != "GRR median"
    with translation.override("en"):
        assert grr.label == "GRR median"


def test_it_shows_the_default_benchmarks_of_an_organization_without_them():
    organization = OrganizationFactory()
    with tenant_context(organization), CaptureQueriesContext(connection) as queries:
        benchmarks = benchmark_list()
    assert [b.metric for b in benchmarks] == ["logo_churn_rate", "nrr", "grr", "gross_dollar_churn"]
    assert all(b.pk is None for b in benchmarks)
    assert _writes(queries.captured_queries) == []


class _SchemaEditor:
    connection = connection


def _run_migration(app, migration, function):
    # The models as the migration sees them (plain managers, as in `migrate`).
    apps = MigrationLoader(connection).project_state((app, migration)).apps
    migrate = getattr(importlib.import_module(f"{app}.migrations.{migration}"), function)
    migrate(apps, _SchemaEditor())
    migrate(apps, _SchemaEditor())  # idempotent


def test_it_gives_the_existing_organizations_the_default_stages_once():
    bare, customized = OrganizationFactory(), OrganizationFactory()
    with tenant_context(customized):
        LifecycleStage.objects.create(key="trial", name_en="Trial", name_pt_br="Teste", position=0)
    _run_migration("journeys", "0012_default_lifecycle_stages", "create_default_stages")
    with tenant_context(bare):
        assert [s.key for s in LifecycleStage.objects.order_by("position")] == [
            "onboarding",
            "adoption",
            "retention",
            "expansion",
            "advocacy",
        ]
    with tenant_context(customized):
        assert list(LifecycleStage.objects.values_list("key", flat=True)) == ["trial"]


def test_it_gives_the_existing_organizations_the_default_benchmarks_once():
    bare = OrganizationFactory(default_locale="pt-br")
    customized = OrganizationFactory()
    with tenant_context(customized):
        Benchmark.objects.create(metric="nrr", label="Ours", low=1.0, high=1.0, source="us")
    _run_migration("dashboards", "0003_default_benchmarks", "create_default_benchmarks")
    with tenant_context(bare):
        assert Benchmark.objects.count() == 4
        grr = Benchmark.objects.get(metric="grr")
        assert grr.label_key == "benchmark.grr.label"  # a key, shown in the reader's language
        with translation.override("pt-br"):
            assert grr.label != "GRR median"
    with tenant_context(customized):
        assert Benchmark.objects.get(metric="nrr").label == "Ours"
        assert Benchmark.objects.count() == 4


def test_it_queues_a_sends_emails_through_the_outbox_in_its_transaction(team):
    with tenant_context(team.organization):
        ContactFactory()
        campaign = CampaignFactory()
        plan = campaign_services.campaign_send(campaign=campaign, actor=team.admin)
        [message] = OutboxMessage.objects.all()
        [entry] = AuditEvent.objects.filter(action=AuditEvent.Action.CAMPAIGN_SENT)
    assert (message.task, message.args) == ("surveys.tasks.start_sending", [campaign.pk])
    assert (entry.actor, entry.details["contacts"]) == (team.admin, plan.pending)


def test_it_queues_nothing_and_audits_nothing_for_a_send_refused(team):
    with tenant_context(team.organization):
        ContactFactory()
        campaign = CampaignFactory()
        campaign_services.campaign_send(campaign=campaign, actor=team.admin)
        OutboxMessage.objects.all().delete()
        with pytest.raises(StillSending):
            campaign_services.campaign_send(campaign=campaign, actor=team.admin)
        assert not OutboxMessage.objects.exists()
        assert AuditEvent.objects.filter(action=AuditEvent.Action.CAMPAIGN_SENT).count() == 1
        assert SurveyInvitation.objects.count() == 1


def test_it_starts_the_campaigns_email_chain_from_the_outbox(
    team, monkeypatch, django_capture_on_commit_callbacks
):
    from surveys import tasks

    queued = []
    monkeypatch.setattr(tasks, "queue_sending", lambda *args: queued.append(args))
    with tenant_context(team.organization):
        ContactFactory()
        campaign = CampaignFactory()
        campaign_services.campaign_send(campaign=campaign, actor=team.admin)
        [message] = OutboxMessage.objects.all()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.start_sending(team.organization.pk, campaign.pk, outbox_id=message.pk)
    assert queued == [(team.organization.pk, campaign.pk)]
    with tenant_context(team.organization):
        assert not OutboxMessage.objects.exists()  # done
