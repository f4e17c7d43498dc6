"""Every page under /o/<org_slug>/ but the organization's own settings (accounts/urls.py).

One module, read top to bottom: each block is a page family, its views in
dashboards/views/<family>.py, its namespace the first part of the URL name.
"""

from django.urls import include, path

from dashboards.views import (
    account,
    executive,
    health,
    journeys,
    portfolio,
    revenue,
    search,
    segments,
    surveys,
    todos,
    workspace,
)

dashboard_patterns = [
    path("", workspace.home, name="home"),
    path("accounts/", portfolio.account_list, name="accounts"),
    path("accounts/export.csv", portfolio.account_list_csv, name="accounts_csv"),
    path("accounts/segments/new/", segments.segment_create, name="segment_create"),
    path("accounts/segments/<int:segment_id>/", segments.segment_edit, name="segment_edit"),
    path(
        "accounts/segments/<int:segment_id>/delete/",
        segments.segment_delete,
        name="segment_delete",
    ),
    path("accounts/<int:account_id>/", account.account, name="account"),
    path("accounts/<int:account_id>/notes/", account.account_note, name="account_note"),
    path("accounts/<int:account_id>/health/", health.account_health, name="account_health"),
    path("search/", search.search, name="search"),
    path("revenue/", revenue.revenue, name="revenue"),
    path("executive/", executive.executive, name="executive"),
    path("executive/benchmarks/", executive.benchmarks, name="benchmarks"),
    path("executive/board-pack.pdf", executive.board_pack, name="board_pack"),
    path("health/", health.health, name="health"),
    path("health/model/", health.health_model_edit, name="health_model"),
    path("health/backtest/", health.health_backtest, name="health_backtest"),
]

journey_patterns = [
    path("", journeys.journey_map, name="map"),
    path("stages/", journeys.stages, name="stages"),
    path("stages/new/", journeys.stage_create, name="stage_create"),
    path("stages/<int:stage_id>/rename/", journeys.stage_rename, name="stage_rename"),
    path("stages/<int:stage_id>/move/", journeys.stage_move, name="stage_move"),
    path("stages/<int:stage_id>/delete/", journeys.stage_delete, name="stage_delete"),
    path(
        "touchpoint-types/<int:type_id>/stage/",
        journeys.touchpoint_type_place,
        name="touchpoint_type_place",
    ),
    path("settings/", journeys.value_settings, name="settings"),
    path("settings/milestones/", journeys.milestone_create, name="milestone_create"),
    path(
        "settings/milestones/<int:milestone_id>/delete/",
        journeys.milestone_delete,
        name="milestone_delete",
    ),
    path("settings/core-features/", journeys.core_feature_create, name="core_feature_create"),
    path(
        "settings/core-features/<int:feature_id>/delete/",
        journeys.core_feature_delete,
        name="core_feature_delete",
    ),
    path("accounts/<int:account_id>/stage/", journeys.account_stage, name="account_stage"),
]

todo_patterns = [
    path("", todos.todo_list, name="list"),
    path("<int:todo_id>/complete/", todos.todo_complete, name="complete"),
    path("<int:todo_id>/snooze/", todos.todo_snooze, name="snooze"),
    path("playbooks/", todos.playbooks, name="playbooks"),
    path("playbooks/new/", todos.playbook_create, name="playbook_create"),
    path("playbooks/defaults/", todos.playbook_defaults, name="playbook_defaults"),
    path("playbooks/<int:playbook_id>/", todos.playbook_edit, name="playbook_edit"),
    path("playbooks/<int:playbook_id>/toggle/", todos.playbook_toggle, name="playbook_toggle"),
]

survey_patterns = [
    path("", surveys.results, name="results"),
    path("campaigns/", surveys.campaigns, name="campaigns"),
    path("campaigns/surveys/", surveys.survey_create, name="survey_create"),
    path("campaigns/new/", surveys.campaign_create, name="campaign_create"),
    path("campaigns/<int:campaign_id>/preview/", surveys.campaign_preview, name="campaign_preview"),
    path("campaigns/<int:campaign_id>/send/", surveys.campaign_send, name="campaign_send"),
]

# Mounted by csplatform/urls.py under /o/<org_slug>/; each family keeps its namespace.
urlpatterns = [
    path("", include((dashboard_patterns, "dashboards"))),
    path("journey/", include((journey_patterns, "journeys"))),
    path("tasks/", include((todo_patterns, "todos"))),
    path("surveys/", include((survey_patterns, "surveys"))),
]
