import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views import csrf
from django.views.decorators.cache import never_cache

from csplatform.uploads import upload_too_large


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness and database reachability, for load balancers and `make demo`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A request Django refused before any view (a SuspiciousOperation): a form body past
    DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 that says the size; anything else a 400."""
    if isinstance(exception, RequestDataTooBig):
        message = _(
            "This form sends more than %(max_body)s: shorten the text, or send the data "
            "as a file on the import page."
        ) % {"max_body": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}
        return render(request, "bad_request.html", {"message": message}, status=413)
    message = _("The request could not be understood: go back and try again.")
    return render(request, "bad_request.html", {"message": message}, status=400)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's CSRF refusal, except for an upload refused for its size: its body was
    never read (csplatform.uploads), so its CSRF token was not either; the person is
    told the size instead of "CSRF verification failed". Nothing was done either way."""
    if upload_too_large(request):
        message = _(
            "The upload is larger than %(max_body)s: split the file, or use manage.py import_csv."
        ) % {"max_body": filesizeformat(settings.UPLOAD_MAX_BODY_BYTES)}
        return render(request, "bad_request.html", {"message": message}, status=413)
    return csrf.csrf_failure(request, reason)


# Seconds a client is asked to wait while the database is unreachable.
RETRY_AFTER_SECONDS = 5


def _database_unreachable(error: BaseException | None) -> bool:
    """A lost or refused connection, or the server shutting down; not a query's error."""
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None)  # psycopg's, under Django's
    return sqlstate is None or sqlstate.startswith(("08", "57P"))


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, or a 503 while the database is unreachable (a restart, a failover):
    a temporary state, said so, with Retry-After; the next request after it comes back
    reconnects (CONN_HEALTH_CHECKS), with no restart of the application."""
    # No context processors: the database may be what failed.
    from django.template import loader

    # Django calls this handler while handling the exception.
    if _database_unreachable(sys.exc_info()[1]):
        if request.path.startswith(settings.TENANT_API_PREFIX):
            response: HttpResponse = JsonResponse(
                {"detail": "The service is briefly unavailable. Retry in a few seconds."},
                status=503,
            )
        else:
            response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponse(loader.get_template("500.html").render(), status=500)
