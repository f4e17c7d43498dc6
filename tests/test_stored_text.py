"""Text the application writes is stored as a key and parameters and read in the
reader's language (csplatform.texts, docs/i18n.md): task titles and reasons, default
playbook names and task titles, default benchmark labels and notes. Text a person typed
stays as typed. The migrations turn the sentences stored before into keys."""

from datetime import date, timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import translation

from csplatform.tenancy import tenant_context
from csplatform.texts import message_define, message_render
from dashboards.models import Benchmark
from dashboards.services import benchmarks_ensure
from journeys.models import Playbook, Todo
from metrics.playbooks import playbooks_default, playbooks_run
from tests.factories import (
    AccountFactory,
    AccountHealthFactory,
    BenchmarkFactory,
    PlaybookFactory,
    TodoFactory,
)
from tests.roles_executive import benchmarks_post

TODAY = date(2026, 11, 24)
ENGLISH = {"accept-language": "en"}
PORTUGUESE = {"accept-language": "pt-BR,pt;q=0.9"}

journeys_migration = import_module("journeys.migrations.0011_stored_text_keys")
dashboards_migration = import_module("dashboards.migrations.0002_stored_text_keys")


@pytest.fixture
def brazilian(team):
    """The team's organization, speaking Brazilian Portuguese."""
    team.organization.default_locale = "pt-br"
    team.organization.save()
    return team


def _url(team, name):
    return reverse(name, kwargs={"org_slug": team.organization.slug})


def _pages(client, url):
    """The page at `url` as an English reader and as a Portuguese reader reads it."""
    english = client.get(url, headers=ENGLISH).content.decode()
    return english, client.get(url, headers=PORTUGUESE).content.decode()


def _band_drop_task(team):
    """A task the default band-drop playbook opened (healthy → neutral today)."""
    with tenant_context(team.organization):
        playbooks_default()
        account = AccountFactory(owner=team.manager, name="Acme")
        for day, band in ((TODAY - timedelta(days=1), "healthy"), (TODAY, "neutral")):
            AccountHealthFactory(account=account, day=day, band=band)
        [todo_id] = playbooks_run(today=TODAY)
        return Todo.objects.get(pk=todo_id)


# --- the rule -------------------------------------------------------------------------


def test_it_renders_a_key_in_the_active_language():
    key = "task_reason.band_fell"
    params = {"before": "healthy", "after": "at_risk", "day": "2026-11-24"}
    with translation.override("en"):
        assert message_render(key, params) == "Health fell from healthy to at risk on 2026-11-24"
    with translation.override("pt-br"):
        assert message_render(key, params) == "A saúde caiu de saudável para em risco em 2026-11-24"


def test_it_translates_the_renewal_reason_that_the_catalogue_lacked():
    with translation.override("pt-br"):
        assert message_render("task_reason.renewal", {"day": "2026-12-10"}) == (
            "Renovação em 2026-12-10"
        )


def test_it_shows_an_unknown_key_as_it_is_and_keeps_a_literal_percent():
    assert message_render("Typed by someone", {}) == "Typed by someone"
    with translation.override("en"):
        assert message_render("benchmark.logo_churn_rate.note").startswith("About 5 % a month")


def test_it_refuses_a_key_for_a_second_sentence():
    message_define("tests.once", "Once")
    assert message_define("tests.once", "Once") == "tests.once"
    with pytest.raises(ValueError, match=r"tests\.once"):
        message_define("tests.once", "Twice")


# --- tasks ----------------------------------------------------------------------------


def test_it_stores_a_playbook_tasks_title_and_reason_as_keys(brazilian):
    todo = _band_drop_task(brazilian)
    assert (todo.title_key, todo.custom_title) == ("playbook.band_drop.task_title", "")
    assert (todo.reason_key, todo.custom_reason) == ("task_reason.band_fell", "")
    assert todo.reason_params == {"before": "healthy", "after": "neutral", "day": "2026-11-24"}


def test_it_shows_a_task_in_the_readers_language(brazilian, signed_in):
    _band_drop_task(brazilian)
    client = signed_in(brazilian.manager)
    english, portuguese = _pages(client, _url(brazilian, "todos:list"))
    assert "Find out why health dropped" in english
    assert "Health fell from healthy to neutral on 2026-11-24" in english
    assert "Descobrir por que a saúde caiu" in portuguese
    assert "A saúde caiu de saudável para neutro em 2026-11-24" in portuguese


def test_it_keeps_a_typed_task_title_and_reason_as_typed(team):
    with tenant_context(team.organization):
        todo = TodoFactory(title="Ligar para a Ana", reason="Pediu retorno")
        todo.refresh_from_db()
    assert (todo.title_key, todo.custom_title, todo.title) == (
        "",
        "Ligar para a Ana",
        "Ligar para a Ana",
    )
    with translation.override("en"):
        assert todo.reason == "Pediu retorno"


def test_it_gives_a_typed_playbook_task_title_to_its_tasks_as_typed(team):
    with tenant_context(team.organization):
        PlaybookFactory(trigger="band_drop", task_title="Ligar já")
        account = AccountFactory()
        AccountHealthFactory(account=account, day=TODAY, band="at_risk")
        [todo_id] = playbooks_run(today=TODAY)
        todo = Todo.objects.get(pk=todo_id)
    assert (todo.title_key, todo.custom_title) == ("", "Ligar já")
    with translation.override("pt-br"):
        assert todo.reason == "A saúde está em risco já na primeira pontuação, 2026-11-24"


# --- playbooks ------------------------------------------------------------------------


def test_it_shows_default_playbook_names_in_the_readers_language(brazilian, signed_in):
    with tenant_context(brazilian.organization):
        playbooks_default()
    client = signed_in(brazilian.admin)
    english, portuguese = _pages(client, _url(brazilian, "todos:playbooks"))
    assert "Health band drop" in english
    assert "Call back the unhappy customer" in english
    assert "Queda de faixa de saúde" in portuguese
    assert "Ligar de volta para o cliente insatisfeito" in portuguese


def test_it_keeps_a_default_playbooks_key_until_an_admin_renames_it(team, signed_in):
    with tenant_context(team.organization):
        playbooks_default()
        playbook = Playbook.objects.get(trigger="renewal")
    url = reverse(
        "todos:playbook_edit",
        kwargs={"org_slug": team.organization.slug, "playbook_id": playbook.pk},
    )
    form = {
        "name": "Preparação da renovação",  # as a Portuguese reader sees it
        "trigger": "renewal",
        "days": "60",
        "task_title": "Preparar a renovação",
        "due_in_days": "21",
    }
    client = signed_in(team.admin)
    assert client.post(url, form, headers=PORTUGUESE).status_code == 302
    playbook = _reload(team, playbook)
    assert (playbook.name_key, playbook.task_title_key, playbook.due_in_days) == (
        "playbook.renewal.name",
        "playbook.renewal.task_title",
        21,
    )
    form["name"] = "Renovações"
    assert client.post(url, form, headers=PORTUGUESE).status_code == 302
    playbook = _reload(team, playbook)
    assert (playbook.name_key, playbook.custom_name) == ("", "Renovações")
    assert playbook.task_title_key == "playbook.renewal.task_title"


def test_it_refuses_a_playbook_named_as_a_default_one_reads(team, signed_in):
    with tenant_context(team.organization):
        playbooks_default()
    response = signed_in(team.admin).post(
        _url(team, "todos:playbook_create"),
        {"name": "Triad check", "trigger": "triad", "task_title": "T", "due_in_days": "3"},
        headers=ENGLISH,
    )
    assert response.status_code == 400
    assert "A playbook named “Triad check” exists already." in response.content.decode()


def test_it_shows_a_default_playbooks_audit_entry_in_the_readers_language(team, signed_in):
    client = signed_in(team.owner)
    client.post(_url(team, "todos:playbook_defaults"))
    with tenant_context(team.organization):
        playbook = Playbook.objects.get(trigger="triad")
    client.post(
        reverse(
            "todos:playbook_toggle",
            kwargs={"org_slug": team.organization.slug, "playbook_id": playbook.pk},
        )
    )
    english, portuguese = _pages(client, _url(team, "accounts:audit_log"))
    assert "Triad check" in english
    assert "Health band drop, Detractor follow-up" in english
    assert "Verificação da tríade" in portuguese
    assert "Queda de faixa de saúde, Acompanhamento de detrator" in portuguese


# --- benchmarks -----------------------------------------------------------------------


def test_it_shows_default_benchmark_labels_in_the_readers_language(brazilian, signed_in):
    with tenant_context(brazilian.organization):
        benchmarks_ensure()
    client = signed_in(brazilian.admin)
    english, portuguese = _pages(client, _url(brazilian, "dashboards:benchmarks"))
    assert "Monthly logo churn, B2B SaaS" in english
    assert "About 5 % a month." in english
    assert "Churn mensal de logos, SaaS B2B" in portuguese
    assert "Cerca de 5 % ao mês." in portuguese


def test_it_keeps_a_benchmarks_key_until_an_admin_rewrites_its_label(team, signed_in):
    with tenant_context(team.organization):
        benchmarks = benchmarks_ensure()
    client = signed_in(team.admin)
    with translation.override("pt-br"):  # the form as a Portuguese reader submits it
        data = benchmarks_post(benchmarks, grr={"label": "Nossa GRR"})
    assert (
        client.post(_url(team, "dashboards:benchmarks"), data, headers=PORTUGUESE).status_code
        == 302
    )
    with tenant_context(team.organization):
        stored = {b.metric: b for b in Benchmark.objects.all()}
    assert (stored["grr"].label_key, stored["grr"].custom_label) == ("", "Nossa GRR")
    assert stored["nrr"].label_key == "benchmark.nrr.label"
    assert stored["logo_churn_rate"].note_key == "benchmark.logo_churn_rate.note"


# --- the migrations -------------------------------------------------------------------


def _old_rows(team):
    """Rows as the code before the keys wrote them: sentences in the columns."""
    with tenant_context(team.organization):
        playbook = PlaybookFactory(
            name="Queda de faixa de saúde", task_title="Find out why health dropped"
        )
        own = PlaybookFactory(name="Nossa régua", task_title="Ligar")
        rows = {
            "playbook": playbook,
            "own": own,
            "fell": TodoFactory(
                title="Descobrir por que a saúde caiu",
                reason="A saúde caiu de saudável para em risco em 2026-11-24",
            ),
            "detractor": TodoFactory(
                title="Call back the unhappy customer", reason="NPS 3 on 2026-11-20"
            ),
            "ttv": TodoFactory(reason="No value milestone 45 days after becoming a customer"),
            "typed": TodoFactory(title="Ligar para a Ana", reason="Pediu retorno em 2026-11-24"),
            "benchmark": BenchmarkFactory(
                metric="logo_churn_rate",
                label="Churn mensal de logos, SaaS B2B",
                note="About 5 % a month. The year of the study is not recorded: add it here.",
            ),
            "own_benchmark": BenchmarkFactory(metric="grr", label="Nossa GRR"),
        }
    return rows


def _reload(team, row):
    with tenant_context(team.organization):
        return type(row).objects.get(pk=row.pk)


class _AppsAsTheMigrationKnewThem:
    """The loaded models under the names these migrations were written with (the to-do
    model was called Task then: journeys migration 0013 renamed it)."""

    RENAMED = {("journeys", "Task"): ("journeys", "Todo")}

    def get_model(self, app_label, model_name):
        return apps.get_model(*self.RENAMED.get((app_label, model_name), (app_label, model_name)))


def test_it_migrates_stored_sentences_to_keys_and_keeps_typed_text(team):
    rows = _old_rows(team)
    with connection.schema_editor(atomic=True) as schema_editor:
        journeys_migration.convert(_AppsAsTheMigrationKnewThem(), schema_editor)
        dashboards_migration.convert(apps, schema_editor)
    playbook, own = _reload(team, rows["playbook"]), _reload(team, rows["own"])
    assert (playbook.name_key, playbook.custom_name) == ("playbook.band_drop.name", "")
    assert playbook.task_title_key == "playbook.band_drop.task_title"
    assert (own.name_key, own.custom_name, own.task_title_key, own.custom_task_title) == (
        "",
        "Nossa régua",
        "",
        "Ligar",
    )
    fell = _reload(team, rows["fell"])
    assert (fell.title_key, fell.custom_title) == ("playbook.band_drop.task_title", "")
    assert (fell.reason_key, fell.reason_params, fell.custom_reason) == (
        "task_reason.band_fell",
        {"before": "healthy", "after": "at_risk", "day": "2026-11-24"},
        "",
    )
    detractor = _reload(team, rows["detractor"])
    assert detractor.title_key == "playbook.detractor.task_title"
    assert (detractor.reason_key, detractor.reason_params) == (
        "task_reason.detractor",
        {"kind": "nps", "score": 3, "day": "2026-11-20"},
    )
    ttv = _reload(team, rows["ttv"])
    assert (ttv.reason_key, ttv.reason_params) == ("task_reason.ttv_overdue", {"days": 45})
    typed = _reload(team, rows["typed"])
    assert (typed.title_key, typed.custom_title, typed.reason_key, typed.custom_reason) == (
        "",
        "Ligar para a Ana",
        "",
        "Pediu retorno em 2026-11-24",
    )
    benchmark, own_benchmark = (
        _reload(team, rows["benchmark"]),
        _reload(team, rows["own_benchmark"]),
    )
    assert (benchmark.label_key, benchmark.custom_label) == ("benchmark.logo_churn_rate.label", "")
    assert (benchmark.note_key, benchmark.custom_note) == ("benchmark.logo_churn_rate.note", "")
    assert (own_benchmark.label_key, own_benchmark.custom_label) == ("", "Nossa GRR")
    with translation.override("en"):
        assert fell.reason == "Health fell from healthy to at risk on 2026-11-24"
        assert playbook.name == "Health band drop"
