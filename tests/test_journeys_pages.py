"""The journey pages: the map with data and with its empty states, editing the stages
(with and without JavaScript), value milestones and core features, moving an account to
another stage; another organization's objects are a 404."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Organization
from accounts.signals import organization_created
from csplatform.tenancy import tenant_context
from journeys.models import (
    CoreFeature,
    LifecycleStage,
    StageTransition,
    TouchpointType,
    ValueMilestone,
)
from journeys.services import lifecycle_stages_ensure
from tests.factories import (
    AccountFactory,
    AdoptionMetricsFactory,
    CoreFeatureFactory,
    DailyFeatureUsageFactory,
    LifecycleStageFactory,
    OrganizationFactory,
    TimeToValueCohortFactory,
    TouchpointFactory,
    TouchpointTypeFactory,
    ValueMilestoneFactory,
)

pytestmark = pytest.mark.django_db


def url(team, name, **kwargs):
    return reverse(f"journeys:{name}", kwargs={"org_slug": team.organization.slug, **kwargs})


def in_org(team, query):
    with tenant_context(team.organization):
        return query()


def created(team):
    """What accounts.services.organization_create announces once it has made the
    organization (the factories skip it): the apps give it their defaults."""
    organization_created.send(sender=Organization, organization=team.organization)


def stage_keys(team):
    return in_org(team, lambda: [s.key for s in LifecycleStage.objects.order_by("position")])


# --- the map ------------------------------------------------------------------------------


def test_it_shows_the_journey_map_with_its_data(team, signed_in):
    now = timezone.now()
    with tenant_context(team.organization):
        lifecycle_stages_ensure()
        kickoff = TouchpointTypeFactory(name="Kickoff meeting", lifecycle_stage="onboarding")
        TouchpointFactory.create_batch(2, type=kickoff, occurred_at=now - timedelta(days=3))
        TouchpointFactory(type=kickoff, occurred_at=now - timedelta(days=120))  # too old
        TouchpointTypeFactory(name="Webinar", channel="event")  # on no stage
        AccountFactory(lifecycle_stage="onboarding")
        CoreFeatureFactory(feature="report.generated")
        AdoptionMetricsFactory(day=date(2026, 1, 1), customers=4, adopted=1, adoption_rate=0.25)
        AdoptionMetricsFactory(
            day=date(2026, 1, 2),
            customers=4,
            adopted=2,
            adoption_rate=0.5,
            feature_customers={"dashboard.viewed": 4, "export.csv": 1, "report.generated": 3},
        )
        TimeToValueCohortFactory(month=date(2025, 12, 1), median_days=12.5, waiting_share=0.4)
    response = signed_in(team.manager).get(url(team, "map"))
    assert response.status_code == 200
    page = response.content.decode()
    journey = response.context["journey"]
    assert [s.stage.key for s in journey.stages] == [
        "onboarding",
        "adoption",
        "retention",
        "expansion",
        "advocacy",
    ]
    [placed] = journey.stages[0].touchpoint_types
    assert (placed.touchpoint_type.name, placed.touchpoints) == ("Kickoff meeting", 2)
    assert [t.touchpoint_type.name for t in journey.unplaced] == ["Webinar"]
    assert "Not placed on a stage" in page
    assert response.context["stage_times"][0].accounts == 1
    assert "No stage history yet" not in page
    assert "50.0 %" in page  # the latest day's rate
    adoption = response.context["adoption"]
    assert [f.feature for f in adoption.most_used] == [
        "dashboard.viewed",
        "report.generated",
        "export.csv",
    ]
    assert "12.5" in page
    assert "40.0 %" in page
    assert 'href="#definition-adoption-rate"' in page
    assert 'id="definition-time-to-value"' in page


def test_it_lists_the_least_used_features_apart_from_the_most_used(team, signed_in):
    usage = {f"feature.{n:02d}": n for n in range(1, 13)}  # feature.12: 12 customers
    with tenant_context(team.organization):
        CoreFeatureFactory(feature="never.used")
        AdoptionMetricsFactory(customers=20, feature_customers=usage)
    adoption = signed_in(team.manager).get(url(team, "map")).context["adoption"]
    assert [f.feature for f in adoption.most_used] == [f"feature.{n:02d}" for n in range(12, 7, -1)]
    assert [f.feature for f in adoption.least_used] == [
        "never.used",
        "feature.01",
        "feature.02",
        "feature.03",
        "feature.04",
    ]
    assert adoption.least_used[0].share == 0.0
    assert adoption.least_used[0].is_core
    assert adoption.most_used[0].share == 0.6


def test_it_shows_what_to_configure_when_the_map_has_no_data(team, signed_in):
    created(team)
    page = signed_in(team.admin).get(url(team, "map")).content.decode()
    assert "No touchpoint types yet" in page
    assert "No stage history yet" in page
    assert "No adoption figures yet" in page
    assert "No time to value yet" in page
    assert "Choose core features" in page
    assert "Configure value milestones" in page
    assert stage_keys(team) == ["onboarding", "adoption", "retention", "expansion", "advocacy"]


def test_it_offers_the_settings_only_to_admins(team, signed_in):
    page = signed_in(team.manager).get(url(team, "map")).content.decode()
    assert url(team, "settings") not in page
    assert url(team, "stages") not in page


def test_it_names_the_stages_in_portuguese_for_a_brazilian_user(team, signed_in):
    created(team)
    team.manager.language = "pt-br"
    team.manager.save()
    page = signed_in(team.manager).get(url(team, "map")).content.decode()
    assert "Implantação" in page
    assert "Defesa da marca" in page


# --- the stages page ----------------------------------------------------------------------


def test_it_lists_the_stages_with_their_accounts(team, signed_in):
    created(team)
    with tenant_context(team.organization):
        AccountFactory.create_batch(2, lifecycle_stage="retention")
    response = signed_in(team.admin).get(url(team, "stages"))
    assert response.status_code == 200
    rows = {r["stage"].key: r["accounts"] for r in response.context["stage_rows"]}
    assert rows == {"onboarding": 0, "adoption": 0, "retention": 2, "expansion": 0, "advocacy": 0}


def test_it_adds_a_stage(team, signed_in):
    response = signed_in(team.admin).post(
        url(team, "stage_create"),
        {"new-key": "Renewal", "new-name_en": "Renewal", "new-name_pt_br": "Renovação"},
    )
    assert response.status_code == 302
    assert stage_keys(team)[-1] == "renewal"


@pytest.mark.parametrize(
    ("key", "message"),
    [("two words", "valid “slug”"), ("adoption", "A stage with the key “adoption” exists")],
)
def test_it_explains_a_bad_stage_key(team, signed_in, key, message):
    in_org(team, lifecycle_stages_ensure)
    response = signed_in(team.admin).post(
        url(team, "stage_create"),
        {"new-key": key, "new-name_en": "X", "new-name_pt_br": "X"},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(response.context["create_form"].errors) == ["key"]
    assert len(stage_keys(team)) == 5


def test_it_renames_a_stage(team, signed_in):
    stage = in_org(team, lambda: lifecycle_stages_ensure()[0])
    response = signed_in(team.admin).post(
        url(team, "stage_rename", stage_id=stage.pk),
        {f"stage-{stage.pk}-name_en": "Kickoff", f"stage-{stage.pk}-name_pt_br": "Início"},
    )
    assert response.status_code == 302
    stage = in_org(team, lambda: LifecycleStage.objects.get(pk=stage.pk))
    assert (stage.key, stage.name_en, stage.name_pt_br) == ("onboarding", "Kickoff", "Início")


def test_it_explains_a_blank_name(team, signed_in):
    stage = in_org(team, lambda: lifecycle_stages_ensure()[0])
    response = signed_in(team.admin).post(
        url(team, "stage_rename", stage_id=stage.pk),
        {f"stage-{stage.pk}-name_en": "", f"stage-{stage.pk}-name_pt_br": "Início"},
    )
    assert response.status_code == 400
    assert "Name (English): This field is required." in response.content.decode()


def test_it_moves_a_stage_without_javascript(team, signed_in):
    stage = in_org(team, lambda: lifecycle_stages_ensure()[2])
    response = signed_in(team.admin).post(
        url(team, "stage_move", stage_id=stage.pk), {"direction": "up"}
    )
    assert response.status_code == 302
    assert response["Location"] == url(team, "stages")
    assert stage_keys(team)[:3] == ["onboarding", "retention", "adoption"]


def test_it_swaps_only_the_stage_list_for_htmx(team, signed_in):
    stage = in_org(team, lambda: lifecycle_stages_ensure()[0])
    response = signed_in(team.admin).post(
        url(team, "stage_move", stage_id=stage.pk),
        {"direction": "down"},
        headers={"hx-request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="stage-list">')
    assert "<html" not in html
    assert html.index("<code>adoption</code>") < html.index("<code>onboarding</code>")


def test_it_refuses_a_move_in_no_direction(team, signed_in):
    stage = in_org(team, lambda: lifecycle_stages_ensure()[2])
    response = signed_in(team.admin).post(
        url(team, "stage_move", stage_id=stage.pk), {"direction": "sideways"}, follow=True
    )
    assert "Direction: choose up or down." in response.content.decode()
    assert stage_keys(team)[2] == "retention"


def test_it_deletes_an_empty_stage(team, signed_in):
    stage = in_org(team, lambda: lifecycle_stages_ensure()[-1])
    response = signed_in(team.admin).post(url(team, "stage_delete", stage_id=stage.pk))
    assert response.status_code == 302
    assert "advocacy" not in stage_keys(team)


def test_it_says_how_many_accounts_keep_a_stage_from_being_deleted(team, signed_in):
    with tenant_context(team.organization):
        stage = lifecycle_stages_ensure()[1]
        AccountFactory(lifecycle_stage="adoption")
    response = signed_in(team.admin).post(url(team, "stage_delete", stage_id=stage.pk), follow=True)
    assert "“Adoption” cannot be deleted: 1 account is in it." in response.content.decode()
    assert "adoption" in stage_keys(team)


def test_it_places_a_touchpoint_type_on_a_stage(team, signed_in):
    with tenant_context(team.organization):
        lifecycle_stages_ensure()
        qbr = TouchpointTypeFactory(name="QBR")
    page = signed_in(team.admin).get(url(team, "stages")).content.decode()
    assert f'name="type-{qbr.pk}-lifecycle_stage"' in page
    response = signed_in(team.admin).post(
        url(team, "touchpoint_type_place", type_id=qbr.pk),
        {f"type-{qbr.pk}-lifecycle_stage": "retention"},
    )
    assert response.status_code == 302
    assert in_org(team, lambda: TouchpointType.objects.get(pk=qbr.pk).lifecycle_stage) == (
        "retention"
    )


def test_it_explains_a_stage_that_is_not_on_the_journey_for_a_touchpoint_type(team, signed_in):
    with tenant_context(team.organization):
        lifecycle_stages_ensure()
        qbr = TouchpointTypeFactory(name="QBR", lifecycle_stage="retention")
    response = signed_in(team.admin).post(
        url(team, "touchpoint_type_place", type_id=qbr.pk),
        {f"type-{qbr.pk}-lifecycle_stage": "nowhere"},
        follow=True,
    )
    assert "Stage of “QBR”: choose one of the stages, or none." in response.content.decode()
    assert in_org(team, lambda: TouchpointType.objects.get(pk=qbr.pk).lifecycle_stage) == (
        "retention"
    )


# --- value milestones and core features ---------------------------------------------------


def test_it_offers_the_event_names_seen_in_usage(team, signed_in):
    with tenant_context(team.organization):
        DailyFeatureUsageFactory(feature="report.generated")
        DailyFeatureUsageFactory(feature="invoice.sent")
    with tenant_context(OrganizationFactory()):
        DailyFeatureUsageFactory(feature="someone.elses")
    response = signed_in(team.admin).get(url(team, "settings"))
    assert response.context["event_names"] == ["invoice.sent", "report.generated"]
    page = response.content.decode()
    assert '<datalist id="usage-event-names">' in page
    assert '<option value="report.generated">' in page
    assert 'list="usage-event-names"' in page
    assert "No value milestone yet" in page
    assert "No core feature yet" in page


def test_it_adds_and_deletes_a_value_milestone(team, signed_in):
    client = signed_in(team.admin)
    response = client.post(
        url(team, "milestone_create"),
        {"milestone-event_name": "report.generated", "milestone-name": "First report"},
    )
    assert response.status_code == 302
    milestone = in_org(team, lambda: ValueMilestone.objects.get())
    assert (milestone.event_name, milestone.name) == ("report.generated", "First report")
    assert "First report" in client.get(url(team, "settings")).content.decode()
    client.post(url(team, "milestone_delete", milestone_id=milestone.pk))
    assert not in_org(team, lambda: ValueMilestone.objects.exists())


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"milestone-name": "First report"}, "event_name", "This field is required."),
        (
            {"milestone-event_name": "report.generated", "milestone-name": "Again"},
            "event_name",
            "“report.generated” is a value milestone already.",
        ),
        (
            {"milestone-event_name": "x" * 201, "milestone-name": "Long"},
            "event_name",
            "at most 200",
        ),
    ],
)
def test_it_explains_a_bad_value_milestone(team, signed_in, data, field, message):
    with tenant_context(team.organization):
        ValueMilestoneFactory(event_name="report.generated")
    response = signed_in(team.admin).post(url(team, "milestone_create"), data)
    assert response.status_code == 400
    assert list(response.context["milestone_form"].errors) == [field]
    assert message in response.content.decode()
    assert in_org(team, lambda: ValueMilestone.objects.count()) == 1


def test_it_adds_and_deletes_a_core_feature(team, signed_in):
    client = signed_in(team.admin)
    assert client.post(url(team, "core_feature_create"), {"core-feature": "report.generated"})[
        "Location"
    ] == url(team, "settings")
    feature = in_org(team, lambda: CoreFeature.objects.get())
    assert feature.feature == "report.generated"
    client.post(url(team, "core_feature_delete", feature_id=feature.pk))
    assert not in_org(team, lambda: CoreFeature.objects.exists())


def test_it_explains_a_duplicate_core_feature(team, signed_in):
    with tenant_context(team.organization):
        CoreFeatureFactory(feature="report.generated")
    response = signed_in(team.admin).post(
        url(team, "core_feature_create"), {"core-feature": "report.generated"}
    )
    assert response.status_code == 400
    assert list(response.context["core_feature_form"].errors) == ["feature"]
    assert "“report.generated” is a core feature already." in response.content.decode()


# --- an account's stage -------------------------------------------------------------------


def test_it_moves_an_account_and_goes_back_to_the_page_it_came_from(team, signed_in):
    with tenant_context(team.organization):
        account = AccountFactory(lifecycle_stage="onboarding", name="Padaria")
    back = url(team, "map") + "?from=account"
    response = signed_in(team.manager).post(
        url(team, "account_stage", account_id=account.pk), {"stage": "adoption", "next": back}
    )
    assert response.status_code == 302
    assert response["Location"] == back
    with tenant_context(team.organization):
        transition = StageTransition.objects.latest("id")
        assert Account.objects.get(pk=account.pk).lifecycle_stage == "adoption"
    assert (transition.from_stage, transition.to_stage, transition.changed_by_id) == (
        "onboarding",
        "adoption",
        team.manager.pk,
    )
    page = signed_in(team.manager).get(back).content.decode()
    assert "Padaria moved to “Adoption”." in page


def test_it_never_sends_the_user_to_another_site_after_a_move(team, signed_in):
    with tenant_context(team.organization):
        account = AccountFactory(lifecycle_stage="onboarding")
    response = signed_in(team.manager).post(
        url(team, "account_stage", account_id=account.pk),
        {"stage": "adoption", "next": "https://evil.example/"},
    )
    assert response["Location"] == url(team, "map")


def test_it_explains_a_stage_that_is_not_on_the_journey(team, signed_in):
    with tenant_context(team.organization):
        account = AccountFactory(lifecycle_stage="onboarding")
    response = signed_in(team.manager).post(
        url(team, "account_stage", account_id=account.pk), {"stage": "nowhere"}, follow=True
    )
    assert "Lifecycle stage: choose one of the journey" in response.content.decode()
    assert in_org(team, lambda: Account.objects.get(pk=account.pk).lifecycle_stage) == (
        "onboarding"
    )


def test_it_renders_the_account_stage_form_for_other_pages(team, rf):
    from django.template.loader import render_to_string

    with tenant_context(team.organization):
        stages = lifecycle_stages_ensure()
        account = AccountFactory(lifecycle_stage="retention")
    request = rf.get("/somewhere/?x=1")
    html = render_to_string(
        "journeys/_account_stage_form.html",
        {"account": account, "stages": stages, "organization": team.organization},
        request=request,
    )
    assert url(team, "account_stage", account_id=account.pk) in html
    assert '<option value="retention" selected>Retention</option>' in html
    assert 'name="next" value="/somewhere/?x=1"' in html


# --- another organization's objects -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "factory", "kwarg", "data"),
    [
        ("stage_rename", LifecycleStageFactory, "stage_id", {}),
        ("stage_move", LifecycleStageFactory, "stage_id", {"direction": "up"}),
        ("stage_delete", LifecycleStageFactory, "stage_id", {}),
        ("touchpoint_type_place", TouchpointTypeFactory, "type_id", {}),
        ("milestone_delete", ValueMilestoneFactory, "milestone_id", {}),
        ("core_feature_delete", CoreFeatureFactory, "feature_id", {}),
        ("account_stage", AccountFactory, "account_id", {"stage": "adoption"}),
    ],
)
def test_it_answers_404_for_another_organizations_object(
    team, signed_in, name, factory, kwarg, data
):
    other = OrganizationFactory()
    with tenant_context(other):
        theirs = factory()
        lifecycle_stages_ensure()
    response = signed_in(team.owner).post(url(team, name, **{kwarg: theirs.pk}), data)
    assert response.status_code == 404
    with tenant_context(other):
        assert type(theirs).objects.filter(pk=theirs.pk).exists()
