"""The URL catalogue's entries for the journey pages (see tests/url_catalogue.py)."""

from accounts.models import Account
from csplatform.tenancy import tenant_context
from journeys.models import CoreFeature, LifecycleStage, TouchpointType, ValueMilestone
from journeys.services import lifecycle_stages_ensure
from tests.factories import (
    AccountFactory,
    CoreFeatureFactory,
    LifecycleStageFactory,
    TouchpointTypeFactory,
    ValueMilestoneFactory,
)

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
    "journeys:map": ("get", "manager", 200, None),
    "journeys:stages": ("get", "admin", 200, None),
    "journeys:stage_create": (
        "post",
        "admin",
        302,
        {"new-key": "renewal", "new-name_en": "Renewal", "new-name_pt_br": "Renovação"},
    ),
    "journeys:stage_rename": ("post", "admin", 302, None),  # data: the stage's form prefix
    "journeys:stage_move": ("post", "admin", 302, {"direction": "up"}),
    "journeys:stage_delete": ("post", "admin", 302, {}),
    "journeys:touchpoint_type_place": ("post", "admin", 302, None),  # data: the type's prefix
    "journeys:settings": ("get", "admin", 200, None),
    "journeys:milestone_create": (
        "post",
        "admin",
        302,
        {"milestone-event_name": "report.generated", "milestone-name": "First report"},
    ),
    "journeys:milestone_delete": ("post", "admin", 302, {}),
    "journeys:core_feature_create": ("post", "admin", 302, {"core-feature": "dashboard.viewed"}),
    "journeys:core_feature_delete": ("post", "admin", 302, {}),
    "journeys:account_stage": ("post", "manager", 302, {"stage": "adoption"}),
}


def _in(team, query):
    with tenant_context(team.organization):
        return query()


def _stage(team, key):
    return _in(team, lambda: LifecycleStage.objects.filter(key=key).first())


# What each POST changes, read back from the database: True once it took effect.
EFFECTS: dict = {
    "journeys:stage_create": lambda team: _stage(team, "renewal") is not None,
    "journeys:stage_rename": lambda team: _stage(team, "matrix").name_en == "Renamed",
    "journeys:stage_move": lambda team: _in(  # "matrix" was last
        team, lambda: LifecycleStage.objects.order_by("position", "id").last().key == "advocacy"
    ),
    "journeys:stage_delete": lambda team: _stage(team, "matrix") is None,
    "journeys:touchpoint_type_place": lambda team: _in(
        team, lambda: TouchpointType.objects.get(name="Matrix call").lifecycle_stage == "advocacy"
    ),
    "journeys:milestone_create": lambda team: _in(
        team, lambda: ValueMilestone.objects.filter(event_name="report.generated").exists()
    ),
    "journeys:milestone_delete": lambda team: _in(
        team, lambda: not ValueMilestone.objects.filter(name="Matrix milestone").exists()
    ),
    "journeys:core_feature_create": lambda team: _in(
        team, lambda: CoreFeature.objects.filter(feature="dashboard.viewed").exists()
    ),
    "journeys:core_feature_delete": lambda team: _in(
        team, lambda: not CoreFeature.objects.filter(feature="matrix.feature").exists()
    ),
    "journeys:account_stage": lambda team: _in(
        team, lambda: Account.objects.get(external_id="matrix").lifecycle_stage == "adoption"
    ),
}


def url_kwargs(name, team):
    """The URL's arguments besides org_slug (objects it needs are created here)."""
    with tenant_context(team.organization):
        lifecycle_stages_ensure()
        if name in {"journeys:stage_rename", "journeys:stage_move", "journeys:stage_delete"}:
            # Last in the journey, with no account in it.
            return {"stage_id": LifecycleStageFactory(key="matrix", position=99).pk}
        if name == "journeys:touchpoint_type_place":
            return {"type_id": TouchpointTypeFactory(name="Matrix call").pk}
        if name == "journeys:milestone_delete":
            return {"milestone_id": ValueMilestoneFactory(name="Matrix milestone").pk}
        if name == "journeys:core_feature_delete":
            return {"feature_id": CoreFeatureFactory(feature="matrix.feature").pk}
        if name == "journeys:account_stage":
            account = AccountFactory(external_id="matrix", lifecycle_stage="onboarding")
            return {"account_id": account.pk}
    return {}


def post_data(name, team, data):
    """The POST data, when it depends on objects created for the test."""
    if name == "journeys:stage_rename":
        stage = _stage(team, "matrix")
        return {f"stage-{stage.pk}-name_en": "Renamed", f"stage-{stage.pk}-name_pt_br": "Renomeada"}
    if name == "journeys:touchpoint_type_place":
        touchpoint_type = _in(team, lambda: TouchpointType.objects.get(name="Matrix call"))
        return {f"type-{touchpoint_type.pk}-lifecycle_stage": "advocacy"}
    return data
