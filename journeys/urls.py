from django.urls import path  # noqa: F401

app_name = "journeys"

# Mounted under /o/<org_slug>/journey/.
urlpatterns: list = []
