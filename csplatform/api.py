"""Shared pieces of the REST API: error format, batch errors."""

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from csplatform.batches import RowsRejected


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's errors, plus: a rejected batch lists every bad row; an oversized body is a 413."""
    if isinstance(exc, RowsRejected):
        return rows_rejected_response(exc)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "detail": _(
                    "The request body is too large (at most %(size)s): send fewer rows at a time."
                )
                % {"size": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    return drf_exception_handler(exc, context)


def rows_rejected_response(exc: RowsRejected, *, single: bool = False) -> Response:
    """400 with every problem. A single object's errors read like a serializer's: {field: [..]}."""
    if single:
        body: dict[str, Any] = {}
        for error in exc.errors:
            body.setdefault(error.field, []).append(error.message)
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return Response(
        {
            "detail": _("Nothing was written: fix these rows and send the batch again."),
            "errors": [e.as_dict() for e in exc.errors],
        },
        status=status.HTTP_400_BAD_REQUEST,
    )
