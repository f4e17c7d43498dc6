"""Request parsing and pagination for the API (a module of its own: DRF imports these
while loading its settings, so they must not import DRF views)."""

import io
import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request


class StrictJSONParser(JSONParser):
    """JSON, refusing what Postgres cannot store (NUL characters) and absurd nesting, with a
    400 instead of a crash deeper down."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(_("The JSON is nested too deeply.")) from exc
        # In UTF-8 JSON a NUL can only be written \u0000: look deeper only when that is there.
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        maybe_nul = b"\\u0000" in raw or encoding.lower().replace("-", "") != "utf8"
        if maybe_nul and _has_nul(data):
            raise ParseError(
                _("The JSON contains a NUL character (\\u0000), which cannot be stored.")
            )
        return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


# A cursor as DRF writes it (a "+" left unencoded in a query string reads as a space).
_BASE64 = re.compile(r"[A-Za-z0-9+/ ]+={0,2}")


class IdCursorPagination(CursorPagination):
    """Stable pages whatever is written meanwhile: ordered by id, oldest first."""

    ordering = "id"
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"

    # The largest id a bigint column holds.
    MAX_POSITION = 2**63 - 1

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's decoding, and the position must be an id: a well-formed cursor holding
        `p=abc` would otherwise reach the query and fail there (a 500, not a 404)."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None and not _BASE64.fullmatch(encoded):
            # DRF's decoding skips what is not base64, so `%%%` read as the first page.
            raise NotFound(self.invalid_cursor_message)
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        position = str(cursor.position)  # the query string's text (typed int by the stubs)
        if not (position.isascii() and position.isdigit() and int(position) <= self.MAX_POSITION):
            raise NotFound(self.invalid_cursor_message)
        return cursor
