"""The import page: upload, preview every problem, confirm once."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Account, ImportUpload
from csplatform.tenancy import tenant_context


def _upload(client, team, content, kind="accounts", encoding="cp1252"):
    return client.post(
        reverse("accounts:imports", kwargs={"org_slug": team.organization.slug}),
        {"kind": kind, "file": SimpleUploadedFile("contas.csv", content.encode(encoding))},
        follow=True,
    )


def _accounts(team):
    with tenant_context(team.organization):
        return list(Account.objects.order_by("external_id").values_list("external_id", flat=True))


def test_it_previews_a_brazilian_file_then_imports_it_once(team, signed_in):
    client = signed_in(team.admin)
    preview = _upload(
        client, team, "external_id;name;região\na1;Padaria São João;Sul\na2;Açougue;Norte\n"
    )
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "Importing will create 2, update 0 and leave 0 unchanged." in page
    assert "Padaria São João" in page
    assert _accounts(team) == []  # a preview writes nothing

    confirm_url = reverse(
        "accounts:import_confirm",
        kwargs={"org_slug": team.organization.slug, "upload_id": preview.context["upload"].pk},
    )
    done = client.post(confirm_url, follow=True).content.decode()
    assert "contas.csv imported: 2 created, 0 updated, 0 unchanged." in done
    assert _accounts(team) == ["a1", "a2"]
    again = client.post(confirm_url, follow=True).content.decode()
    assert "was already imported" in again
    with tenant_context(team.organization):
        assert ImportUpload.objects.get().content == b""  # the raw file is not kept after import


def test_it_lists_every_problem_and_offers_no_import(team, signed_in):
    client = signed_in(team.admin)
    page = _upload(client, team, "external_id;name;signup_date\n;Sem id;\na2;Data;31/02/2025\n")
    html = page.content.decode()
    assert "2 problems: nothing will be imported" in html
    assert "31/02/2025 is not valid" in html
    assert "import_confirm" not in html
    assert "/confirm/" not in html
    assert _accounts(team) == []


def test_it_refuses_a_missing_file_with_a_clear_error(team, signed_in):
    response = signed_in(team.admin).post(
        reverse("accounts:imports", kwargs={"org_slug": team.organization.slug}),
        {"kind": "accounts"},
    )
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


@pytest.mark.parametrize("kind", ["accounts", "contacts", "subscriptions", "events", "touchpoints"])
def test_it_documents_the_columns_of_every_kind(team, signed_in, kind):
    page = (
        signed_in(team.admin)
        .get(reverse("accounts:imports", kwargs={"org_slug": team.organization.slug}))
        .content.decode()
    )
    assert f'value="{kind}"' in page


def test_it_imports_survey_responses_from_the_page(team, signed_in):
    from surveys.models import Response
    from tests.factories import AccountFactory

    with tenant_context(team.organization):
        AccountFactory(external_id="a1")
    client = signed_in(team.admin)
    page = client.get(reverse("accounts:imports", kwargs={"org_slug": team.organization.slug}))
    assert 'value="responses"' in page.content.decode()
    preview = _upload(
        client,
        team,
        "kind;account_external_id;score;responded_at\nnps;a1;9;05/10/2026\n",
        kind="responses",
    )
    assert "Importing will create 1, update 0 and leave 0 unchanged." in preview.content.decode()
    confirm_url = reverse(
        "accounts:import_confirm",
        kwargs={"org_slug": team.organization.slug, "upload_id": preview.context["upload"].pk},
    )
    client.post(confirm_url)
    with tenant_context(team.organization):
        assert list(Response.objects.values_list("score", flat=True)) == [9]
