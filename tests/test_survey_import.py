"""Importing survey responses from another tool's CSV: Brazilian Excel files, all or
nothing, named errors, a second import that skips what is there."""

import pytest
from django.core.management import call_command

from csplatform.imports import ImportRejected, import_file
from csplatform.tenancy import tenant_context
from journeys.models import Sentiment, Touchpoint
from metrics.models import SatisfactionMetrics
from metrics.satisfaction import satisfaction_recompute
from surveys.models import Response
from tests.factories import AccountFactory, ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

HEADER = "kind;account_external_id;contact_email;score;comment;responded_at;touchpoint\r\n"
GOOD = HEADER + (
    "NPS;a1;ana@padaria.com.br;10;Ótimo atendimento;05/10/2026 14:30;Atendimento\r\n"
    "nps;a1;;3;Demora no suporte;06/10/2026;suporte\r\n"
    "csat;a2;;4,0;;2026-10-07;empresa\r\n"
)


@pytest.fixture
def org():
    organization = OrganizationFactory(slug="acme-br", time_zone="America/Sao_Paulo")
    with tenant_context(organization):
        padaria = AccountFactory(external_id="a1")
        ContactFactory(account=padaria, email="ana@padaria.com.br")
        AccountFactory(external_id="a2")
    return organization


def run(org, content, *, encoding="cp1252"):
    with tenant_context(org):
        return import_file(
            "responses", content.encode(encoding), context={"time_zone": org.time_zone}
        )


def test_it_imports_responses_from_brazilian_excel_in_latin_1(org):
    report = run(org, GOOD)
    assert (report.result.created, report.result.unchanged) == (3, 0)
    with tenant_context(org):
        rows = {(r.kind, r.score): r for r in Response.objects.select_related("account", "contact")}
        assert rows[("nps", 10)].comment == "Ótimo atendimento"
        assert rows[("nps", 10)].contact.email == "ana@padaria.com.br"
        assert rows[("nps", 10)].touchpoint == "support"
        assert rows[("nps", 10)].invitation is None
        assert rows[("csat", 4)].account.external_id == "a2"
        # The detractor is a negative touchpoint on its account, when it was given.
        [touchpoint] = Touchpoint.objects.filter(sentiment=Sentiment.NEGATIVE)
        assert touchpoint.occurred_at == rows[("nps", 3)].responded_at
        assert touchpoint.external_id == f"survey-response-{rows[('nps', 3)].pk}"
        satisfaction_recompute()
        october = SatisfactionMetrics.objects.get(kind="nps", dimension="all")
    assert (october.n, october.value) == (2, 0.0)


def test_it_skips_what_a_second_import_of_the_same_file_finds(org):
    run(org, GOOD)
    report = run(org, GOOD)
    assert (report.result.created, report.result.unchanged) == (0, 3)
    with tenant_context(org):
        assert Response.objects.count() == 3
        assert Touchpoint.objects.count() == 1


@pytest.mark.parametrize(
    ("line", "column", "words"),
    [
        ("nps;zz;;9;;2026-10-05;", "account_external_id", "No account has the external id zz"),
        ("nps;a1;bob@x.com;9;;2026-10-05;", "contact_email", "has no contact bob@x.com"),
        ("nps;a1;;11;;2026-10-05;", "score", "from 0 to 10, not 11"),
        ("csat;a1;;0;;2026-10-05;", "score", "from 1 to 5, not 0"),
        ("ces;a1;;4,5;;2026-10-05;", "score", "whole numbers"),
        ("nps;a1;;9;;2099-01-01;", "responded_at", "in the future"),
        ("sus;a1;;9;;2026-10-05;", "kind", "ces, csat, nps"),
        ("nps;a1;;9;" + "x" * 5001 + ";2026-10-05;", "comment", "5000"),
    ],
)
def test_it_refuses_the_whole_file_naming_the_line_and_column(org, line, column, words):
    content = HEADER + "nps;a1;;9;;2026-10-05;\r\n" + line + "\r\n"
    with pytest.raises(ImportRejected) as excinfo:
        run(org, content, encoding="utf-8")
    [error] = excinfo.value.errors
    assert (error.line, error.column) == (3, column)
    assert words in str(error.message)
    with tenant_context(org):
        assert not Response.objects.exists()  # the good line is not written either


def test_it_imports_from_the_command_line(org, tmp_path, capsys):
    path = tmp_path / "respostas.csv"
    path.write_bytes(GOOD.encode("cp1252"))
    call_command("import_csv", "responses", str(path), org="acme-br")
    assert "3 rows read from respostas.csv: 3 were created" in capsys.readouterr().out
