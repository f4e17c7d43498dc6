"""CSV import: Brazilian Excel files just work; a bad file writes nothing and says why."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account, Contact, Role, Subscription
from csplatform.imports import ImportRejected, import_file
from csplatform.tenancy import tenant_context
from journeys.models import DailyUsage, Touchpoint, UsageEvent
from journeys.rollups import usage_roll_up
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganizationFactory(slug="acme-br", currency="BRL", time_zone="America/Sao_Paulo")


def run(org, kind, content, *, encoding="utf-8", dry_run=False):
    data = content.encode(encoding) if isinstance(content, str) else content
    with tenant_context(org):
        return import_file(kind, data, context={"time_zone": org.time_zone}, dry_run=dry_run)


def rejected(org, kind, content, **kwargs):
    with pytest.raises(ImportRejected) as excinfo:
        run(org, kind, content, **kwargs)
    return [(e.line, e.column) for e in excinfo.value.errors], excinfo.value


def count(org, model):
    with tenant_context(org):
        return model.objects.count()


ACCOUNTS_BR = (
    "external_id;name;segment;signup_date;região;plano_interno\r\n"
    "a1;Padaria São João Ltda.;PME;05/03/2025;Sudeste;ouro\r\n"
    "a2;Açougue Irmãos;Enterprise;2025-04-10;Sul;\r\n"
)


def test_it_imports_accounts_from_brazilian_excel_in_latin_1(org):
    report = run(org, "accounts", ACCOUNTS_BR, encoding="cp1252")
    assert (report.rows, report.result.created) == (2, 2)
    with tenant_context(org):
        padaria = Account.objects.get(external_id="a1")
    assert padaria.name == "Padaria São João Ltda."
    assert padaria.signup_date == date(2025, 3, 5)
    assert padaria.custom_attributes == {"região": "Sudeste", "plano_interno": "ouro"}


def test_it_imports_utf8_with_a_byte_order_mark_and_commas(org):
    content = "\ufeffexternal_id,name\na1,Café Ltda.\n"
    assert run(org, "accounts", content, encoding="utf-8").result.created == 1
    with tenant_context(org):
        assert Account.objects.get().name == "Café Ltda."


def test_it_changes_nothing_when_the_same_file_is_imported_again(org):
    run(org, "accounts", ACCOUNTS_BR)
    again = run(org, "accounts", ACCOUNTS_BR)
    assert (again.result.created, again.result.updated, again.result.unchanged) == (0, 0, 2)


def test_it_previews_without_writing(org):
    report = run(org, "accounts", ACCOUNTS_BR, dry_run=True)
    assert report.result.created == 2
    assert report.preview[0]["name"] == "Padaria São João Ltda."
    assert count(org, Account) == 0


def test_it_reports_every_bad_row_with_line_and_column_and_writes_nothing(org):
    content = (
        "external_id;name;signup_date;owner_email\n"
        "a1;Boa;01/02/2025;\n"
        ";Sem id;01/02/2025;\n"
        "a3;Data ruim;31/02/2025;\n"
        "a4;Email ruim;01/02/2025;nao-e-email\n"
    )
    problems, _ = rejected(org, "accounts", content)
    assert problems == [(3, "external_id"), (4, "signup_date"), (5, "owner_email")]
    assert count(org, Account) == 0


def test_it_names_a_missing_column(org):
    problems, error = rejected(org, "accounts", "external_id;nome\na1;X\n")
    assert problems == [(1, "name")]
    assert "external_id, name" in str(error.errors[0].message)


def test_it_names_duplicate_external_ids_in_a_file(org):
    problems, _ = rejected(org, "accounts", "external_id;name\na1;X\na1;Y\n")
    assert problems == [(3, "external_id")]


def test_it_names_an_owner_who_is_not_a_member(org):
    problems, _ = rejected(
        org, "accounts", "external_id;name;owner_email\na1;X;stranger@example.com\n"
    )
    assert problems == [(2, "owner_email")]


def test_it_sets_an_owner_who_is_a_member(org):
    manager = MembershipFactory(organization=org, role=Role.MANAGER).user
    run(org, "accounts", f"external_id;name;owner_email\na1;X;{manager.email.upper()}\n")
    with tenant_context(org):
        assert Account.objects.get().owner == manager


SUBSCRIPTIONS_BR = (
    "external_id;account_external_id;plan;amount;currency;billing_interval;started_on;ended_on\n"
    "s1;a1;Pro;1.234,56;BRL;Mensal;01/01/2025;01/07/2025\n"
    "s2;a1;Pro anual;12.000,00;brl;anual;01/07/2025;\n"
    "s3;a2;Básico;99,9;BRL;quarter;2025-02-01;\n"
)


def test_it_imports_subscriptions_with_decimal_commas_and_portuguese_intervals(org):
    run(org, "accounts", ACCOUNTS_BR)
    assert run(org, "subscriptions", SUBSCRIPTIONS_BR).result.created == 3
    with tenant_context(org):
        subscriptions = {s.external_id: s for s in Subscription.objects.all()}
    assert subscriptions["s1"].amount_cents == 123_456
    assert subscriptions["s1"].ended_on == date(2025, 7, 1)
    assert (subscriptions["s2"].billing_interval, subscriptions["s2"].amount_cents) == (
        "year",
        1_200_000,
    )
    assert subscriptions["s3"].amount_cents == 9_990
    assert run(org, "subscriptions", SUBSCRIPTIONS_BR).result.unchanged == 3


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        ("s9;a1;Pro;-10,00;BRL;month;01/01/2025;", "amount", "negative"),
        ("s9;a1;Pro;dez reais;BRL;month;01/01/2025;", "amount", "dez reais"),
        ("s9;a1;Pro;10,005;BRL;month;01/01/2025;", "amount", "two decimals"),
        ("s9;a1;Pro;10,00;USD;month;01/01/2025;", "currency", "BRL"),
        ("s9;a1;Pro;10,00;BRL;semanal;01/01/2025;", "billing_interval", "semanal"),
        ("s9;a1;Pro;10,00;BRL;month;01/03/2025;01/02/2025", "ended_on", "before started_on"),
        ("s9;zz;Pro;10,00;BRL;month;01/03/2025;", "account_external_id", "zz"),
    ],
)
def test_it_refuses_a_bad_subscription_row(org, row, column, words):
    run(org, "accounts", ACCOUNTS_BR)
    header = SUBSCRIPTIONS_BR.splitlines()[0]
    problems, error = rejected(
        org, "subscriptions", f"{header}\n{SUBSCRIPTIONS_BR.splitlines()[1]}\n{row}\n"
    )
    assert problems == [(3, column)]
    assert words in str(error.errors[0].message)
    assert count(org, Subscription) == 0


EVENTS_BR = (
    "account_external_id;event;occurred_at;contact_email;quantity\n"
    "a1;relatorio.gerado;10/03/2026 23:30;ana@padaria.com.br;2,5\n"
    "a1;relatorio.gerado;2026-03-11T00:30:00-03:00;;1\n"
    "a2;login;11/03/2026 08:00;;\n"
)


def test_it_imports_events_in_the_organizations_time_zone_and_rolls_them_up(org):
    run(org, "accounts", ACCOUNTS_BR)
    run(org, "contacts", "account_external_id;email;locale\na1;Ana@Padaria.com.br;pt-BR\n")
    assert run(org, "events", EVENTS_BR).result.created == 3
    with tenant_context(org):
        usage_roll_up()
        first = UsageEvent.objects.get(quantity=Decimal("2.5"))
        days = dict(
            DailyUsage.objects.filter(account__external_id="a1").values_list("day", "events")
        )
        assert first.contact == Contact.objects.get()
    assert first.occurred_at == datetime(2026, 3, 10, 23, 30, tzinfo=ZoneInfo("America/Sao_Paulo"))
    assert days == {date(2026, 3, 10): 1, date(2026, 3, 11): 1}
    again = run(org, "events", EVENTS_BR)
    assert (again.result.created, again.result.unchanged) == (0, 3)
    assert count(org, UsageEvent) == 3


def test_it_refuses_events_of_unknown_accounts_or_contacts_or_in_the_future(org):
    run(org, "accounts", ACCOUNTS_BR)
    content = (
        "account_external_id;event;occurred_at;contact_email\n"
        "a1;login;01/03/2026 10:00;\n"
        "zz;login;01/03/2026 10:00;\n"
        "a1;login;01/03/2026 10:00;nobody@padaria.com.br\n"
        "a1;login;01/03/2099 10:00;\n"
        "a1;login;ontem;\n"
    )
    problems, _ = rejected(org, "events", content)
    assert problems == [
        (3, "account_external_id"),
        (4, "contact_email"),
        (5, "occurred_at"),
        (6, "occurred_at"),
    ]
    assert count(org, UsageEvent) == 0


def test_it_imports_touchpoints_with_portuguese_sentiments(org):
    run(org, "accounts", ACCOUNTS_BR)
    content = (
        "account_external_id;touchpoint;occurred_at;sentiment;notes\n"
        "a1;Reunião de kickoff;02/03/2026 14:00;positivo;Tudo certo\n"
        "a2;Chamado de suporte;03/03/2026 09:15;Negativo;Exportação lenta\n"
    )
    assert run(org, "touchpoints", content).result.created == 2
    assert run(org, "touchpoints", content).result.unchanged == 2
    with tenant_context(org):
        assert set(Touchpoint.objects.values_list("sentiment", flat=True)) == {
            "positive",
            "negative",
        }


def test_it_reports_columns_it_does_not_use(org):
    run(org, "accounts", ACCOUNTS_BR)
    report = run(org, "contacts", "account_external_id;email;cargo_interno\na1;x@y.com.br;CFO\n")
    assert "cargo_interno" in str(report.warnings[0])


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00garbage\x00\x00", b"a;b\n1;2;3;4\n"])
def test_it_refuses_an_unreadable_file_clearly(org, content):
    with pytest.raises(ImportRejected):
        run(org, "accounts", content)


# --- the command ------------------------------------------------------------------


def test_it_imports_from_the_command_line(org, tmp_path, capsys):
    path = tmp_path / "contas.csv"
    path.write_bytes(ACCOUNTS_BR.encode("cp1252"))
    call_command("import_csv", "accounts", str(path), org="acme-br")
    out = capsys.readouterr()
    assert "2 rows read from contas.csv: 2 were created" in out.out
    assert "Checking 2 rows" in out.err
    assert count(org, Account) == 2


def test_it_exits_non_zero_listing_every_problem(org, tmp_path, capsys):
    path = tmp_path / "ruim.csv"
    path.write_text("external_id;name\n;X\na2;\n", encoding="utf-8")
    with pytest.raises(CommandError, match="2 problem"):
        call_command("import_csv", "accounts", str(path), org="acme-br")
    err = capsys.readouterr().err
    assert "ruim.csv: line 2, column external_id" in err
    assert "ruim.csv: line 3, column name" in err
    assert count(org, Account) == 0


def test_it_names_an_unknown_organization(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("external_id;name\na;b\n")
    with pytest.raises(CommandError, match="No organization has the slug 'nope'"):
        call_command("import_csv", "accounts", str(path), org="nope")


def test_it_reports_bad_cells_and_unknown_references_together(org):
    run(org, "accounts", ACCOUNTS_BR)
    content = (
        "external_id;account_external_id;plan;amount;currency;billing_interval;started_on\n"
        "s1;zz;Pro;10,00;BRL;month;01/01/2025\n"
        "s2;a1;Pro;dez;BRL;month;01/01/2025\n"
        "s1;a1;Pro;10,00;BRL;month;01/01/2025\n"
    )
    problems, _ = rejected(org, "subscriptions", content)
    assert problems == [(2, "account_external_id"), (3, "amount"), (4, "external_id")]


def test_it_reports_a_nul_character_with_its_line(org):
    problems, _ = rejected(org, "accounts", "external_id;name\na1;bo\x00m\n")
    assert problems == [(2, "name")]


def test_it_refuses_an_email_too_long_to_store(org):
    run(org, "accounts", ACCOUNTS_BR)
    long_email = "a" * 250 + "@x.com"
    problems, _ = rejected(org, "contacts", f"account_external_id;email\na1;{long_email}\n")
    assert problems == [(2, "email")]


@pytest.mark.parametrize(
    ("header", "column"), [("external_id;name;name", "name"), ("external_id;name;", "3")]
)
def test_it_refuses_a_repeated_or_nameless_column(org, header, column):
    problems, _ = rejected(org, "accounts", f"{header}\na1;X;Y\n")
    assert problems == [(1, column)]


def test_it_refuses_an_amount_in_scientific_notation(org):
    run(org, "accounts", ACCOUNTS_BR)
    header = SUBSCRIPTIONS_BR.splitlines()[0]
    problems, _ = rejected(
        org, "subscriptions", f"{header}\ns1;a1;Pro;1e-3;BRL;month;01/01/2025;\n"
    )
    assert problems == [(2, "amount")]


def test_it_leaves_an_ended_subscription_alone_when_an_older_file_comes_again(org):
    run(org, "accounts", ACCOUNTS_BR)
    header = SUBSCRIPTIONS_BR.splitlines()[0]
    older = f"{header}\ns1;a1;Pro;10,00;BRL;month;01/01/2025;\n"
    run(org, "subscriptions", older)
    run(org, "subscriptions", f"{header}\ns1;a1;Pro;10,00;BRL;month;01/01/2025;01/06/2025\n")
    assert run(org, "subscriptions", older).result.unchanged == 1
    with tenant_context(org):
        assert Subscription.objects.get().ended_on == date(2025, 6, 1)


def test_it_reads_utf16_files_from_excel(org):
    content = "external_id\tname\na1\tCafé\n"
    assert run(org, "accounts", content.encode("utf-16")).result.created == 1


def test_it_does_not_count_reimported_events_twice_in_the_rollups(org):
    run(org, "accounts", ACCOUNTS_BR)
    run(org, "events", EVENTS_BR.replace(";ana@padaria.com.br;", ";;"))
    run(org, "events", EVENTS_BR.replace(";ana@padaria.com.br;", ";;"))
    with tenant_context(org):
        usage_roll_up()
        assert sum(DailyUsage.objects.values_list("events", flat=True)) == 3


def test_it_refuses_events_before_2000_and_repeated_event_ids(org):
    run(org, "accounts", ACCOUNTS_BR)
    content = (
        "account_external_id;event;occurred_at;event_id\n"
        "a1;login;01/03/1999 10:00;e1\n"
        "a1;login;01/03/2026 10:00;e2\n"
        "a1;export;01/03/2026 11:00;e2\n"
    )
    problems, _ = rejected(org, "events", content)
    assert problems == [(2, "occurred_at"), (4, "event_id")]


# --- cells that could hold up a worker ----------------------------------------------


def test_it_refuses_a_one_megabyte_cell_by_line_and_column_without_quoting_it(org):
    run(org, "accounts", ACCOUNTS_BR)
    huge = "a" * 1_000_000
    problems, verdict = rejected(
        org, "contacts", f"account_external_id;email;name\na1;ok@x.com.br;Ana\na1;{huge};Bia\n"
    )
    assert problems == [(3, "email")]
    [error] = verdict.errors
    assert "1000000 characters" in str(error.message)
    assert "at most 10000" in str(error.message)
    assert len(str(error)) < 300  # the cell is not quoted back in full


def test_it_refuses_an_overlong_cell_of_an_optional_or_extra_column_without_other_errors(org):
    huge = "x" * 10_001
    problems, verdict = rejected(
        org, "accounts", f"external_id;name;segment;notas\na1;{huge};PME;ok\na2;B;C;{huge}\n"
    )
    assert problems == [(2, "name"), (3, "notas")]
    assert all("10001 characters" in str(e.message) for e in verdict.errors)


def test_it_matches_emails_and_numbers_with_patterns_that_cannot_backtrack():
    from csplatform import imports
    from tests.regex_ambiguity import ambiguities

    assert ambiguities(imports._EMAIL) == []
    assert ambiguities(imports._NUMBER) == []
    # The check itself finds the kind of pattern that took 14 s on a 64 KB cell.
    assert ambiguities(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    assert ambiguities(r"[-+]?[\d.,]*\d[\d.,]*")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("ana@empresa.com.br", True),
        ("Ana.Souza+cs@sub.empresa.com", True),
        ("ana@empresa", False),
        ("ana@empresa..com", False),
        ("ana@.empresa.com", False),
        ("ana@@empresa.com", False),
        ("ana souza@empresa.com", False),
    ],
)
def test_it_tells_an_email_address_from_other_text(org, value, valid):
    run(org, "accounts", ACCOUNTS_BR)
    content = f"account_external_id;email\na1;{value}\n"
    if valid:
        assert run(org, "contacts", content).result.created == 1
    else:
        assert rejected(org, "contacts", content)[0] == [(2, "email")]


# --- encodings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second", "third"),
    [("utf-8", "cp1252"), ("cp1252", "utf-8")],
)
def test_it_names_the_first_line_of_a_file_that_mixes_utf8_and_latin1(org, second, third):
    content = (
        b"external_id;name\n"
        + "a1;São Paulo\n".encode(second)
        + b"a2;Plain\n"
        + "a3;Açougue\n".encode(third)
        + "a4;Pão\n".encode(second)
    )
    problems, verdict = rejected(org, "accounts", content)
    assert problems == [(4, "-")]
    message = str(verdict.errors[0].message)
    assert "line 2" in message
    assert "UTF-8" in message
    assert "Latin-1" in message
    assert count(org, Account) == 0  # not "SÃ£o Paulo"


def test_it_still_reads_a_file_wholly_in_latin1_or_utf8(org):
    latin = "external_id;name\na1;São Paulo\na2;Açougue\n".encode("cp1252")
    run(org, "accounts", latin)
    run(org, "accounts", "external_id;name\na3;Pão\n".encode())
    with tenant_context(org):
        names = list(Account.objects.order_by("external_id").values_list("name", flat=True))
    assert names == ["São Paulo", "Açougue", "Pão"]


# --- dry runs ----------------------------------------------------------------------


def _sequences():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")
        return dict(cursor.fetchall())


DRY_RUN_FILES = {
    "accounts": "external_id;name\nnovo;Novo Cliente\n",
    "contacts": "account_external_id;email\na1;nova@cliente.com.br\n",
    "subscriptions": (
        "external_id;account_external_id;plan;amount;currency;billing_interval;started_on\n"
        "s9;a1;Pro;10,00;BRL;month;01/01/2025\n"
    ),
    "events": "account_external_id;event;occurred_at\na1;login;01/01/2025 10:00\n",
    "touchpoints": "account_external_id;touchpoint;occurred_at\na1;Tipo novo;01/01/2025 10:00\n",
    "responses": "kind;account_external_id;score;responded_at\nnps;a1;3;01/01/2025 10:00\n",
}


@pytest.mark.parametrize("kind", sorted(DRY_RUN_FILES))
def test_it_checks_a_file_without_taking_ids_from_any_sequence(org, kind):
    run(org, "accounts", ACCOUNTS_BR)
    before = _sequences()
    report = run(org, kind, DRY_RUN_FILES[kind], dry_run=True)
    assert report.result.created == 1
    assert _sequences() == before
    assert run(org, kind, DRY_RUN_FILES[kind]).result.created == 1  # as the dry run said
    assert _sequences() != before


def test_it_counts_in_a_dry_run_what_the_import_then_does(org):
    run(org, "accounts", ACCOUNTS_BR)
    events = (
        "account_external_id;event;occurred_at;event_id\n"
        "a1;login;01/01/2025 10:00;e1\na1;login;01/01/2025 10:05;e2\n"
    )
    run(org, "events", events.split("\n", 2)[0] + "\n" + events.split("\n")[1] + "\n")
    dry = run(org, "events", events, dry_run=True).result
    done = run(org, "events", events).result
    assert (dry.created, dry.unchanged) == (done.created, done.unchanged) == (1, 1)
