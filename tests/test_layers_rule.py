"""The layers (docs/architecture.md): import-linter checks imports in `make lint`;
scripts/check_layers.py applies the same contract to models named by string."""

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("check_layers", ROOT / "scripts/check_layers.py")
check_layers = importlib.util.module_from_spec(_spec)
sys.modules["check_layers"] = check_layers
_spec.loader.exec_module(check_layers)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    for name, source in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return tmp_path


def test_it_finds_no_model_named_against_the_layers():
    assert check_layers.findings() == []


def test_it_reads_the_layers_from_the_import_linter_contract():
    ranks = check_layers.layer_ranks()
    assert ranks["dashboards"][0] < ranks["metrics"][0] < ranks["surveys"][0]
    assert ranks["surveys"][0] == ranks["journeys"][0]
    assert ranks["journeys"][0] < ranks["accounts"][0] < ranks["csplatform"][0]


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("accounts/privacy.py", 'R = apps.get_model("surveys", "Response")\n'),
        ("accounts/privacy.py", 'R = apps.get_model("surveys.Response")\n'),
        ("surveys/models.py", 'link = models.ForeignKey("journeys.Touchpoint", on_delete=x)\n'),
        ("csplatform/tenancy.py", 'O = apps.get_model("accounts", "Organization")\n'),
        ("metrics/health/store.py", 'page = apps.get_model("dashboards", "Benchmark")\n'),
    ],
)
def test_it_finds_a_model_named_by_string_above_or_beside(tmp_path, path, source):
    found = check_layers.findings(_tree(tmp_path, {path: source}))
    assert len(found) == 1
    assert found[0].startswith(f"{path}:1:")


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("dashboards/views/x.py", 'R = apps.get_model("surveys", "Response")\n'),
        ("surveys/models.py", 'a = models.ForeignKey("accounts.Account", on_delete=x)\n'),
        ("surveys/models.py", 'a = models.ForeignKey("Survey", on_delete=x)\n'),
        ("surveys/migrations/0001_x.py", 'T = apps.get_model("journeys", "Touchpoint")\n'),
    ],
)
def test_it_lets_a_layer_name_those_below_it_and_migrations_be(tmp_path, path, source):
    assert check_layers.findings(_tree(tmp_path, {path: source})) == []


def test_it_has_a_contract_for_the_layers_and_one_for_surveys_and_journeys_apart():
    contracts = {
        c["type"]: c
        for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
            "contracts"
        ]
    }
    assert contracts["layers"]["layers"][0] == "bench"
    assert contracts["layers"]["layers"][-1] == "csplatform"
    assert sorted(contracts["independence"]["modules"]) == ["billing", "journeys", "surveys"]


def test_it_keeps_the_import_contract(capsys):
    """The contract `make lint` runs (lint-imports), from its Python entry point."""
    kept = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert kept == 0, capsys.readouterr().out


@pytest.mark.parametrize(
    "app", ["csplatform", "accounts", "journeys", "surveys", "billing", "metrics"]
)
def test_it_has_no_relation_to_a_model_above_or_beside(app):
    """The models as Django loaded them: no foreign key points up or sideways, but the
    tenant base's to settings.TENANT_MODEL (named by a setting, as AUTH_USER_MODEL is)."""
    ranks = check_layers.layer_ranks()
    tenant = apps.get_model(settings.TENANT_MODEL)
    found = [
        f"{model._meta.label}.{field.name} -> {field.related_model._meta.label}"
        for model in apps.get_app_config(app).get_models()
        for field in model._meta.get_fields()
        if field.is_relation
        and field.concrete
        and field.related_model is not tenant
        and not check_layers.may_use(app, field.related_model._meta.app_label, ranks)
    ]
    assert found == []
