"""A cap on the size of a request that uploads files, enforced before it is read.

DATA_UPLOAD_MAX_MEMORY_SIZE caps a request's body except its files: Django writes an
uploaded file to a temporary file whatever its size, and a form's own size check runs
only once all of it has arrived. This handler, first in FILE_UPLOAD_HANDLERS, refuses a
multipart body over UPLOAD_MAX_BODY_BYTES by its Content-Length, before reading it, and
stops reading one that grows past it on the way (a body sent in chunks, or with a
Content-Length that lies). The view then answers 413 (`upload_too_large`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict


class BodySizeLimitHandler(FileUploadHandler):
    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.received = 0

    def _refuse(self) -> None:
        if self.request is not None:
            self.request.upload_too_large = True  # type: ignore[attr-defined]

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],  # noqa: N803 (Django's name)
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict[str, Any]] | None:
        if content_length > settings.UPLOAD_MAX_BODY_BYTES:
            self._refuse()
            return QueryDict(encoding=encoding), MultiValueDict()  # nothing is read
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BODY_BYTES:
            self._refuse()
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def upload_too_large(request: HttpRequest) -> bool:
    """Whether the request's body was refused for its size (read request.POST or
    request.FILES first: parsing the body is what finds out)."""
    return bool(getattr(request, "upload_too_large", False))
