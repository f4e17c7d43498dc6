from django.urls import path

from surveys import manage_views

app_name = "feedback"

# Mounted under /o/<org_slug>/surveys/.
urlpatterns = [
    path("", manage_views.results, name="results"),
    path("campaigns/", manage_views.campaigns, name="campaigns"),
    path("campaigns/surveys/", manage_views.survey_create, name="survey_create"),
    path("campaigns/new/", manage_views.campaign_create, name="campaign_create"),
    path("campaigns/<int:campaign_id>/send/", manage_views.campaign_send, name="campaign_send"),
]
