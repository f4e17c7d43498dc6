"""The one-clock rule, checked (make lint; docs/time.md).

Business rules take "now" from Django's clock (`django.utils.timezone`, or
`csplatform.clock` built on it) or from an argument. This fails on the other clocks:

- Python: `date.today()`, `datetime.now()`/`utcnow()`/`today()`, any other `.now()` or
  `.today()` (pandas' `Timestamp.now()` too) except `timezone.now()`, `time.time()`
  and its siblings, Django's `Now()` database function, and the strings "now"/"today"
  given to NumPy or pandas (`np.datetime64("today")`);
- SQL in string literals: `now()`, `current_date`, `current_timestamp`, `current_time`,
  `localtimestamp`, `localtime`, `transaction_timestamp()`, `statement_timestamp()`,
  `clock_timestamp()`, `timeofday()`, and the literals `'now'`/`'today'`.

Durations (`time.monotonic()`, `time.perf_counter()`) are not the calendar and pass.
Migrations are skipped. A line that must read another clock (a column that merely
records when a row was written, an outside client's own clock) says why with
`# clock-ok: <reason>`.

Usage: python scripts/check_clock.py [PATH ...]   (default: the application and tools)
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = (
    "accounts",
    "billing",
    "csplatform",
    "dashboards",
    "journeys",
    "metrics",
    "surveys",
    "bench",
    "loadtest",
    "scripts",
    "tests",
    "conftest.py",
    "manage.py",
)
# The rule's own statement and its test name every forbidden form on purpose.
EXCLUDED = {"scripts/check_clock.py", "tests/test_clock_rule.py"}
ALLOWED_RECEIVERS = {"timezone", "clock"}  # django.utils.timezone, csplatform.clock
TIME_FUNCTIONS = {"time", "time_ns", "localtime", "gmtime", "ctime", "asctime", "strftime"}
CALENDAR_WORDS = {"now", "today"}
SQL_CLOCK = re.compile(
    r"(?<![.\w])(?:now|transaction_timestamp|statement_timestamp|clock_timestamp|timeofday)"
    r"\s*\(\s*\)"
    r"|\b(?:current_date|current_timestamp|current_time|localtimestamp)\b"
    r"|(?<![.\w])localtime\b(?!\s*\()"
    r"|'(?:now|today)'\s*::",
    re.IGNORECASE,
)
MARKER = "clock-ok:"


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what} (use Django's clock: docs/time.md)"


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{_dotted(node.func)}()"
    return "?"


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings (prose, not SQL)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                found.add(id(body[0].value))
    return found


def _call_finding(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Attribute):
        receiver = _dotted(func.value)
        last = receiver.rsplit(".", 1)[-1]
        if func.attr in CALENDAR_WORDS | {"utcnow"} and last not in ALLOWED_RECEIVERS:
            return f"{receiver}.{func.attr}() reads another clock"
        if last == "time" and func.attr in TIME_FUNCTIONS and receiver == "time":
            return f"time.{func.attr}() reads the system clock"
    name = _dotted(func)
    if name.rsplit(".", 1)[-1] == "Now":
        return "Now() reads the database's clock"
    if name.rsplit(".", 1)[-1] in {"datetime64", "Timestamp", "to_datetime", "DatetimeIndex"}:
        for arg in node.args:
            if (
                isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and arg.value.lower() in CALENDAR_WORDS
            ):
                return f'{name}("{arg.value}") reads the system clock'
    return None


def check_source(source: str, path: str = "<source>") -> list[Finding]:
    """The forbidden clock readings in one Python module's source."""
    tree = ast.parse(source, filename=path)
    lines = source.splitlines()
    docstrings = _docstrings(tree)

    def exempt(node: ast.AST) -> bool:
        first = getattr(node, "lineno", 1)
        last = getattr(node, "end_lineno", first) or first
        return any(MARKER in lines[n - 1] for n in range(first, min(last, len(lines)) + 1))

    findings = []
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.Call):
            what = _call_finding(node)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            match = SQL_CLOCK.search(node.value)
            if match:
                what = f"SQL reads the database's clock: {match.group(0)!r}"
        if what and not exempt(node):
            findings.append(Finding(path, getattr(node, "lineno", 0), what))
    return sorted(findings, key=lambda finding: finding.line)


def python_files(paths: Iterable[str]) -> Iterator[Path]:
    for name in paths:
        path = ROOT / name if not Path(name).is_absolute() else Path(name)
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in files:
            relative = file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT) else ""
            if "migrations" in file.parts or ".venv" in file.parts or relative in EXCLUDED:
                continue
            yield file


def check_paths(paths: Iterable[str] = DEFAULT_PATHS) -> list[Finding]:
    findings = []
    for file in python_files(paths):
        shown = file.relative_to(ROOT) if file.is_relative_to(ROOT) else file
        findings += check_source(file.read_text(encoding="utf-8"), str(shown))
    return findings


def main(argv: list[str]) -> int:
    findings = check_paths(argv or DEFAULT_PATHS)
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} reading(s) of a clock other than Django's.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
