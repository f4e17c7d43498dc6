"""Static files from installed packages: the plotly.js that the plotly package ships."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, overload

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "plotly/plotly.min.js"
_SOURCE = Path(plotly.__file__).parent / "package_data"


class PlotlyFinder(BaseFinder):
    """Finds plotly/plotly.min.js in the plotly package (and nothing else of it)."""

    storage = FileSystemStorage(location=_SOURCE)

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    @overload
    def find(self, path: str, find_all: Literal[False] = False) -> str | None: ...

    @overload
    def find(self, path: str, find_all: Literal[True]) -> list[str]: ...

    def find(self, path: str, find_all: bool = False) -> str | list[str] | None:
        found = str(_SOURCE / "plotly.min.js") if path == PLOTLY_JS else None
        if find_all:
            return [found] if found else []
        return found

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, Any]]:
        yield "plotly.min.js", _PrefixedStorage()


class _PrefixedStorage(FileSystemStorage):
    """The package folder, listed under the plotly/ prefix."""

    prefix = "plotly"

    def __init__(self) -> None:
        super().__init__(location=_SOURCE)
