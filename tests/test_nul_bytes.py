"""NUL characters: Postgres cannot store them, so every edge refuses them with a 400 that
says so, before any view runs (csplatform.security.RefuseNulMiddleware). The review's
three reproductions, one of them without login, were 500s."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import Note
from csplatform.security import RefuseNulMiddleware
from csplatform.tenancy import tenant_context
from surveys.models import Response
from surveys.tokens import make_answer_token
from tests.factories import AccountFactory, ContactFactory, SurveyInvitationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation(team):
    with tenant_context(team.organization):
        return SurveyInvitationFactory(contact=ContactFactory(locale="en"))


def _answer_url(invitation):
    token = make_answer_token(
        organization_id=invitation.organization_id, invitation_id=invitation.pk
    )
    return reverse("public_surveys:answer", args=[token])


def _refused(response) -> bool:
    return response.status_code == 400 and "NUL" in response.content.decode()


def test_it_refuses_a_nul_in_a_public_survey_answer_and_records_nothing(client, team, invitation):
    response = client.post(
        _answer_url(invitation),
        "score=9&comment=hi%00there",
        content_type="application/x-www-form-urlencoded",
    )
    assert _refused(response)
    with tenant_context(team.organization):
        assert not Response.objects.exists()


def test_it_refuses_a_nul_in_a_multipart_form_field(client, team, invitation):
    response = client.post(_answer_url(invitation), {"score": "9", "comment": "hi\x00there"})
    assert _refused(response)


def test_it_refuses_a_nul_in_a_query_string(team, signed_in):
    client = signed_in(team.manager)
    url = reverse("surveys:results", kwargs={"org_slug": team.organization.slug})
    assert _refused(client.get(url + "?q=%00"))
    assert _refused(client.get(url + "?q%00=x"))  # in a name too


def test_it_refuses_a_nul_in_a_note_and_saves_none(team, signed_in):
    with tenant_context(team.organization):
        account = AccountFactory()
    client = signed_in(team.manager)
    url = reverse(
        "dashboards:account_note",
        kwargs={"org_slug": team.organization.slug, "account_id": account.pk},
    )
    response = client.post(url, "body=a%00b", content_type="application/x-www-form-urlencoded")
    assert _refused(response)
    with tenant_context(team.organization):
        assert not Note.objects.exists()


def test_it_refuses_a_nul_in_the_path(client, db):
    assert _refused(client.get("/s/abc%00def/"))


def test_it_says_so_in_the_readers_language(client, team, invitation):
    response = client.post(
        _answer_url(invitation),
        "comment=oi%00",
        content_type="application/x-www-form-urlencoded",
        headers={"accept-language": "pt-br"},
    )
    assert response.status_code == 400
    assert "caractere NUL" in response.content.decode()


def test_it_answers_the_api_in_json(db):
    response = RefuseNulMiddleware(_never)(RequestFactory().get("/api/v1/accounts/?x=%00"))
    assert response.status_code == 400
    assert "NUL" in json.loads(response.content)["detail"]


def _never(request):
    raise AssertionError("a request with a NUL reached the view")


def test_it_reads_neither_a_json_body_nor_an_uploaded_files_contents():
    seen = []

    def view(request):
        seen.append(request)
        return HttpResponse("ok")

    middleware = RefuseNulMiddleware(view)
    json_post = RequestFactory().post(
        "/api/v1/accounts/", b'{"name": "a\x00b"}', content_type="application/json"
    )
    assert middleware(json_post).status_code == 200
    assert not json_post._read_started  # the API's parser reads (and judges) the body
    upload = RequestFactory().post(
        "/o/acme/imports/",
        {"kind": "accounts", "file": SimpleUploadedFile("a.csv", b"external_id\nbo\x00m\n")},
    )
    assert middleware(upload).status_code == 200
    assert len(seen) == 2


def test_it_lets_the_import_say_which_cell_holds_a_nul(team, signed_in):
    client = signed_in(team.admin)
    csv = SimpleUploadedFile("a.csv", b"external_id;name\na1;bo\x00m\n")
    response = client.post(
        reverse("accounts:imports", kwargs={"org_slug": team.organization.slug}),
        {"kind": "accounts", "file": csv},
        follow=True,
    )
    assert response.status_code == 200
    assert "This cell contains a NUL character." in response.content.decode()


def test_it_says_the_size_of_a_form_too_large_to_read(team, signed_in, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    with tenant_context(team.organization):
        account = AccountFactory()
    client = signed_in(team.manager)
    url = reverse(
        "dashboards:account_note",
        kwargs={"org_slug": team.organization.slug, "account_id": account.pk},
    )
    response = client.post(url, {"body": "x" * 2_000})
    assert response.status_code == 413
    assert "This form sends more than 1000" in response.content.decode()
    with tenant_context(team.organization):
        assert not Note.objects.exists()


def test_it_reads_a_session_cookie_holding_a_nul_as_no_session(client, db):
    # A quoted cookie may write a NUL as \000; the session's lookup in Postgres was a 500
    # on every page, the public ones included.
    client.raise_request_exception = False
    client.cookies.load('sessionid="abcdefgh\\000ijkl"')
    assert client.cookies["sessionid"].value == "abcdefgh\x00ijkl"
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/").status_code == 302  # to sign in, as for anyone without a session
