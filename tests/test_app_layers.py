"""Lower apps never reach into higher or sibling ones (DESIGN.md: dashboards → metrics →
surveys / journeys → accounts → csplatform; surveys and journeys independent): not by
import, not by `apps.get_model("app", …)`, not by a foreign key. What a lower app must
announce goes through the signals and hooks of accounts.signals."""

import ast
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
# app -> the apps it must never name.
FORBIDDEN = {
    "accounts": {"surveys", "journeys", "metrics", "dashboards"},
    "surveys": {"journeys"},
    "journeys": {"surveys"},
}
# Being moved out by the demo-generator part of the reshaping (bench/): not this rule's.
ELSEWHERE = {"surveys/demo.py", "journeys/management/commands/seed_demo.py"}


def _named_apps(tree: ast.AST) -> list[tuple[int, str]]:
    named = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            named.append((node.lineno, node.module.split(".")[0]))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_model"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            named.append((node.lineno, node.args[0].value.split(".")[0]))
    return named


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_it_never_imports_or_looks_up_a_higher_or_sibling_app(app):
    found = []
    for path in sorted((ROOT / app).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in ELSEWHERE or "/migrations/" in relative:
            continue
        for line, named in _named_apps(ast.parse(path.read_text())):
            if named in FORBIDDEN[app]:
                found.append(f"{relative}:{line} -> {named}")
    assert found == []


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_it_has_no_foreign_key_to_a_higher_or_sibling_app(app):
    found = [
        f"{model._meta.label}.{field.name} -> {field.related_model._meta.label}"
        for model in apps.get_app_config(app).get_models()
        for field in model._meta.get_fields()
        if field.is_relation
        and field.concrete
        and field.related_model._meta.app_label in FORBIDDEN[app]
    ]
    assert found == []
