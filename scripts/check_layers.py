"""The layers, for what `lint-imports` cannot see: models named by string.

import-linter (pyproject.toml, [tool.importlinter]) checks every Python import against
the layers. A model can also be reached without an import, by name:
`apps.get_model("surveys", "Response")`, `apps.get_model("surveys.Response")`, or a
relation `ForeignKey("journeys.Touchpoint", …)`. This script finds those in the same
packages and applies the same layers, read from the same contract, so a lower app
that needs a higher one's rows announces a signal or calls a hook instead.
Migrations are history and are not checked. Run by `make lint`; exits 1 on a finding.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELATIONS = {"ForeignKey", "OneToOneField", "ManyToManyField"}


def layer_ranks(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, tuple[int, int]]:
    """Each package's (layer, position): layers count from the top; packages side by side
    in one layer ("surveys | journeys") share the layer and must not use each other."""
    config = tomllib.loads(pyproject.read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    ranks: dict[str, tuple[int, int]] = {}
    for level, layer in enumerate(contract["layers"]):
        for position, package in enumerate(part.strip() for part in layer.split("|")):
            ranks[package] = (level, position)
    return ranks


def may_use(user: str, used: str, ranks: dict[str, tuple[int, int]]) -> bool:
    """Whether package `user` may name package `used` (itself, or any layer below it)."""
    if user == used or used not in ranks or user not in ranks:
        return True
    return ranks[used][0] > ranks[user][0]


def _named_apps(tree: ast.AST) -> Iterator[tuple[int, str, str]]:
    """(line, app label, how) for each model named by string in the module."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "get_model":
            yield node.lineno, first.value.split(".")[0], "get_model"
        elif name in RELATIONS and "." in first.value:
            yield node.lineno, first.value.split(".")[0], name


def findings(root: Path = ROOT) -> list[str]:
    """Every string look-up that runs against the layers, as 'path:line: message'."""
    ranks = layer_ranks(root / "pyproject.toml")
    found = []
    for package in ranks:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line, app, how in _named_apps(ast.parse(path.read_text(), str(path))):
                if not may_use(package, app, ranks):
                    found.append(
                        f"{path.relative_to(root)}:{line}: {package} names {app!r} by string "
                        f"({how}), against the layers: announce a signal or call a hook "
                        f"that {app} connects instead (docs/architecture.md)."
                    )
    return found


def main() -> int:
    problems = findings()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
