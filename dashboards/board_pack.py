"""The board pack: the executive dashboard of a period as a PDF, one A4 page per section,
rendered on the server by WeasyPrint from the page's own sections (the `pack` partial
of dashboards/executive.html) in a reader's language.

WeasyPrint runs no JavaScript, so the charts are inline SVG (csplatform.svgcharts), and
it fetches nothing from the network: StaticFilesOnly serves our static files from disk
and refuses every other address (a link in stored text, a tracking pixel, file:///etc).
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import redis
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import translation

from accounts.tenancy import current_organization
from dashboards.charts.executive import executive_charts
from dashboards.executive import ExecutiveSummary, Period
from dashboards.models import Benchmark

logger = logging.getLogger(__name__)

TEMPLATE = "dashboards/board_pack.html"
# A rendered pack is kept this long under the hash of its HTML: the same figures in the
# same language are one render (~2.5 s) however many times the board opens them.
PDF_CACHE_SECONDS = 24 * 3600


class FetchRefusedError(ValueError):
    """WeasyPrint asked for an address that is not one of our static files."""


def static_file_for(url: str) -> Path | None:
    """The file on disk that `url` names, when it is one of our static files under
    SITE_URL + STATIC_URL (found by the static finders, else collected); None for any
    other address, a path that climbs out (`..`), or a file that does not exist."""
    base = urlsplit(urljoin(settings.SITE_URL + "/", str(settings.STATIC_URL)))
    found = urlsplit(url)
    if (found.scheme, found.netloc) != (base.scheme, base.netloc):
        return None
    if not found.path.startswith(base.path):
        return None
    relative = unquote(found.path[len(base.path) :])
    normal = posixpath.normpath(relative)
    if not relative or normal.startswith(("..", "/")) or normal != relative or "\x00" in normal:
        return None
    # The source first (what the finders serve), then the collected files: a hashed
    # name (app.3f2c….css, ManifestStaticFilesStorage) exists only there.
    source = finders.find(normal)
    if isinstance(source, str) and Path(source).is_file():
        return Path(source)
    try:
        collected = Path(staticfiles_storage.path(normal))
    except NotImplementedError:  # a storage without local files
        return None
    return collected if collected.is_file() else None


def _url_fetcher_class() -> type[Any]:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFilesOnly(URLFetcher):
        """WeasyPrint's fetcher with every protocol closed: our static files are read
        from disk, anything else raises FetchRefusedError (WeasyPrint logs it and draws the
        page without that resource)."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            path = static_file_for(url)
            if path is None:
                logger.warning("board pack: refused to fetch %s", url[:200])
                raise FetchRefusedError(f"refused: {url[:200]}")
            mime, _encoding = mimetypes.guess_type(path.name)
            return URLFetcherResponse(
                url,
                body=path.read_bytes(),
                headers={"Content-Type": mime or "application/octet-stream"},
            )

        def open(self, *args: Any, **kwargs: Any) -> Any:  # never urllib
            raise FetchRefusedError("the board pack fetches nothing from the network")

    return StaticFilesOnly


def static_files_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher that serves only our static files (see module doc)."""
    return _url_fetcher_class()(allowed_protocols=["http", "https"], allow_redirects=False)


def board_pack_context(
    *, summary: ExecutiveSummary | None, benchmarks: list[Benchmark]
) -> dict[str, Any]:
    """What the `pack` partial of dashboards/executive.html needs: the period's summary
    (dashboards.executive.executive_summary, with the 12 months of the charts), the
    organization's benchmarks and the charts, drawn in the active language."""
    organization = current_organization()
    return {
        "organization": organization,
        "summary": summary,
        "benchmarks": benchmarks,
        "charts": {}
        if summary is None
        else executive_charts(summary, currency=organization.currency),
    }


def board_pack_html(
    *,
    summary: ExecutiveSummary | None,
    benchmarks: list[Benchmark],
    language: str,
    extra: dict[str, Any] | None = None,
) -> str:
    """The print variant of the executive dashboard of `summary` (None: the empty
    state), in `language`; `extra` adds to the context (the page's period warning)."""
    with translation.override(language):
        context = {
            **(extra or {}),
            **board_pack_context(summary=summary, benchmarks=benchmarks),
            "LANGUAGE_CODE": language,
        }
        return render_to_string(TEMPLATE, context)


def board_pack_pdf(
    *,
    summary: ExecutiveSummary | None,
    benchmarks: list[Benchmark],
    language: str,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """The board pack of `summary`'s period of the current organization as PDF bytes,
    in `language`: one A4 page per section (app.css's print rules), nothing fetched but
    our static files. Imports WeasyPrint (and Pango) on first use only: the web and
    worker processes start without it. Kept in the cache under the hash of its HTML
    (PDF_CACHE_SECONDS): the same pack is rendered once."""
    html = board_pack_html(summary=summary, benchmarks=benchmarks, language=language, extra=extra)
    # Keyed by what is printed: new figures, another language or period, a changed
    # benchmark or template make another key, so a kept PDF is never stale.
    digest = hashlib.sha256(html.encode()).hexdigest()
    key = f"board-pack:{current_organization().pk}:{digest}"
    try:
        kept = cache.get(key)
    except (redis.RedisError, OSError):  # the cache fails open: render instead
        logger.warning("board pack: the cache is unreachable; rendering", exc_info=True)
        kept = None
    if isinstance(kept, bytes):
        return kept
    pdf = _pdf_of(html)
    try:
        cache.set(key, pdf, timeout=PDF_CACHE_SECONDS)
    except (redis.RedisError, OSError):
        logger.warning("board pack: the cache is unreachable; not kept", exc_info=True)
    return pdf


def _pdf_of(html: str) -> bytes:
    from weasyprint import HTML

    document = HTML(
        string=html,
        base_url=settings.SITE_URL + "/",
        url_fetcher=static_files_only_fetcher(),
        media_type="print",
    )
    pdf: bytes = document.write_pdf()
    return pdf


def board_pack_filename(period: Period | None) -> str:
    """The file's name: board-pack-<org slug>-<period key>.pdf."""
    suffix = "" if period is None else f"-{period.key}"
    return f"board-pack-{current_organization().slug}{suffix}.pdf"
