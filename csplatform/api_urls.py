"""/api/v1/: the routes each app's api.py registers (csplatform.api.router), the schema
and its offline docs."""

from django.urls import include, path
from django.utils.module_loading import autodiscover_modules
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from csplatform.api_routes import extra_routes, router

autodiscover_modules("api")

app_name = "api"

urlpatterns = [
    *extra_routes,
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
