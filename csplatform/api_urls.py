from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

from accounts.api import AccountViewSet, ContactViewSet, SubscriptionViewSet
from journeys.api import EventBatchView, TouchpointViewSet

router = SimpleRouter(trailing_slash=True, use_regex_path=False)
router.register("accounts", AccountViewSet, basename="account")
router.register("contacts", ContactViewSet, basename="contact")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("touchpoints", TouchpointViewSet, basename="touchpoint")

app_name = "api"

urlpatterns = [
    path("events/batch/", EventBatchView.as_view(), name="event-batch"),
    path(
        "schema/",
        SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[]),
        name="schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", permission_classes=[AllowAny], authentication_classes=[]
        ),
        name="docs",
    ),
    path("", include(router.urls)),
]
