"""The application's URLs plus a few views that exist only to test the tenancy layer."""

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from accounts.models import MemberInvitation
from csplatform.urls import urlpatterns as application_patterns


def write_then_fail(request: HttpRequest, org_slug: str, how: str) -> HttpResponse:
    MemberInvitation.objects.create(email=f"{how}@example.com", role="viewer")
    if how == "crash":
        raise RuntimeError("the view failed after writing")
    if how == "not-found":
        raise Http404
    return HttpResponse(status=503)


def raw_invitation_count(request: HttpRequest) -> JsonResponse:
    """A request outside any tenant, reading a tenant table with raw SQL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), pg_backend_pid() FROM accounts_memberinvitation")
        count, backend_pid = cursor.fetchone()
    return JsonResponse({"count": count, "backend_pid": backend_pid})


urlpatterns = [
    path("o/<slug:org_slug>/test/write-then/<str:how>/", write_then_fail),
    path("test/raw-invitation-count/", raw_invitation_count),
    *application_patterns,
]
