from django.urls import path

from journeys import views

app_name = "journeys"

# Mounted under /o/<org_slug>/journey/.
urlpatterns = [
    path("", views.journey_map, name="map"),
    path("stages/", views.stages, name="stages"),
    path("stages/new/", views.stage_create, name="stage_create"),
    path("stages/<int:stage_id>/rename/", views.stage_rename, name="stage_rename"),
    path("stages/<int:stage_id>/move/", views.stage_move, name="stage_move"),
    path("stages/<int:stage_id>/delete/", views.stage_delete, name="stage_delete"),
    path(
        "touchpoint-types/<int:type_id>/stage/",
        views.touchpoint_type_place,
        name="touchpoint_type_place",
    ),
    path("settings/", views.value_settings, name="settings"),
    path("settings/milestones/", views.milestone_create, name="milestone_create"),
    path(
        "settings/milestones/<int:milestone_id>/delete/",
        views.milestone_delete,
        name="milestone_delete",
    ),
    path("settings/core-features/", views.core_feature_create, name="core_feature_create"),
    path(
        "settings/core-features/<int:feature_id>/delete/",
        views.core_feature_delete,
        name="core_feature_delete",
    ),
    path("accounts/<int:account_id>/stage/", views.account_stage, name="account_stage"),
]
