"""The import page: upload, preview every problem, confirm once."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
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


# --- the check: once, stored, in a worker when big -------------------------------------


def _preview_url(team, upload):
    return reverse(
        "accounts:import_preview",
        kwargs={"org_slug": team.organization.slug, "upload_id": upload.pk},
    )


def _sequences():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")
        return dict(cursor.fetchall())


def test_it_previews_the_check_made_at_upload_without_running_it_again(team, signed_in):
    from tests.factories import AccountFactory

    client = signed_in(team.admin)
    page = _upload(client, team, "external_id;name\na1;Padaria\na2;Açougue\n")
    assert "Importing will create 2, update 0 and leave 0 unchanged." in page.content.decode()
    upload = page.context["upload"]
    before = _sequences()
    for _ in range(3):
        again = client.get(_preview_url(team, upload)).content.decode()
        assert "Importing will create 2, update 0 and leave 0 unchanged." in again
    assert _sequences() == before  # no GET took an account id
    with tenant_context(team.organization):
        AccountFactory(external_id="a1")  # a new check would now say "create 1, update 1"
    stored = client.get(_preview_url(team, upload)).content.decode()
    assert "Importing will create 2, update 0 and leave 0 unchanged." in stored


def test_it_lists_the_first_200_problems_and_counts_the_rest(team, signed_in):
    bad = "".join(f"x{n};\n" for n in range(250))  # 250 rows without a name
    page = _upload(signed_in(team.admin), team, "external_id;name\n" + bad)
    html = page.content.decode()
    assert "250 problems: nothing will be imported" in html
    assert html.count("This value is required.") == 200
    assert "…and 50 more problems, not listed." in html


def test_it_checks_a_big_file_in_a_worker_showing_its_progress(team, signed_in, settings):
    from accounts import imports
    from accounts.models import ImportStatus
    from accounts.tasks import check_import_upload
    from csplatform.models import OutboxMessage

    settings.IMPORT_INLINE_CHECK_BYTES = 10
    client = signed_in(team.admin)
    page = _upload(client, team, "external_id;name\na1;Padaria\na2;Açougue\n")
    upload = page.context["upload"]
    html = page.content.decode()
    assert "Checking the file…" in html
    assert 'hx-trigger="every 2s"' in html
    assert "Importing will" not in html
    with tenant_context(team.organization):
        assert upload.status == ImportStatus.CHECKING
        [queued] = OutboxMessage.objects.all()
        assert queued.task == check_import_upload.name
        imports._progress_tell(upload.pk, "Checking 2 rows…")

    fragment = client.get(_preview_url(team, upload), HTTP_HX_REQUEST="true").content.decode()
    assert "Checking 2 rows…" in fragment
    assert "<html" not in fragment  # only the part htmx swaps

    assert check_import_upload.apply(args=[team.organization.pk, upload.pk]).get() is True
    assert check_import_upload.apply(args=[team.organization.pk, upload.pk]).get() is False
    fragment = client.get(_preview_url(team, upload), HTTP_HX_REQUEST="true").content.decode()
    assert "Importing will create 2, update 0 and leave 0 unchanged." in fragment
    assert "hx-trigger" not in fragment  # the polling stops


def test_it_imports_nothing_from_a_file_still_being_checked(team, signed_in, settings):
    settings.IMPORT_INLINE_CHECK_BYTES = 10
    client = signed_in(team.admin)
    upload = _upload(client, team, "external_id;name\na1;Padaria\n").context["upload"]
    confirm_url = reverse(
        "accounts:import_confirm",
        kwargs={"org_slug": team.organization.slug, "upload_id": upload.pk},
    )
    response = client.post(confirm_url)
    assert response.status_code == 302
    assert response.url == _preview_url(team, upload)
    assert _accounts(team) == []


# --- uploads never imported -----------------------------------------------------------


def test_it_empties_an_upload_whose_worker_never_finished_a_day_later(team, time_machine):
    from datetime import UTC, datetime, timedelta

    from accounts.models import ImportStatus
    from accounts.tasks import purge_unconfirmed_uploads
    from tests.factories import ImportUploadFactory

    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    with tenant_context(team.organization):  # its worker was killed until given up
        stuck = ImportUploadFactory(status=ImportStatus.IMPORTING)
    time_machine.move_to(start + timedelta(hours=24, minutes=1), tick=False)
    assert purge_unconfirmed_uploads.apply(args=[team.organization.pk]).get() == 1
    with tenant_context(team.organization):
        stuck.refresh_from_db()
    assert (stuck.status, bytes(stuck.content)) == (ImportStatus.EXPIRED, b"")


def test_it_empties_uploads_not_imported_within_a_day(team, signed_in, time_machine):
    from datetime import UTC, datetime, timedelta

    from accounts.models import ImportStatus
    from accounts.tasks import purge_unconfirmed_uploads
    from csplatform.schedules import BEAT_SCHEDULE

    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    client = signed_in(team.admin)
    waiting = _upload(client, team, "external_id;name\na1;Padaria\n").context["upload"]
    imported = _upload(client, team, "external_id;name\na2;Açougue\n").context["upload"]
    client.post(
        reverse(
            "accounts:import_confirm",
            kwargs={"org_slug": team.organization.slug, "upload_id": imported.pk},
        )
    )
    time_machine.move_to(start + timedelta(hours=23), tick=False)
    assert purge_unconfirmed_uploads.apply(args=[team.organization.pk]).get() == 0
    time_machine.move_to(start + timedelta(hours=24, minutes=1), tick=False)
    assert purge_unconfirmed_uploads.apply(args=[team.organization.pk]).get() == 1
    with tenant_context(team.organization):
        waiting.refresh_from_db()
        assert waiting.status == ImportStatus.EXPIRED
        assert bytes(waiting.content) == b""
        assert waiting.check_outcome == {}
        imported.refresh_from_db()
        assert imported.status == ImportStatus.IMPORTED
    assert "This file is no longer kept" in client.get(_preview_url(team, waiting)).content.decode()
    client.post(
        reverse(
            "accounts:import_confirm",
            kwargs={"org_slug": team.organization.slug, "upload_id": waiting.pk},
        )
    )
    assert _accounts(team) == ["a2"]
    sweep = BEAT_SCHEDULE["purge-unconfirmed-uploads"]
    assert sweep["task"] == "accounts.tasks.purge_unconfirmed_uploads_sweep"


# --- the size of a request -----------------------------------------------------------


def test_it_refuses_an_upload_over_the_body_limit_before_reading_it(team, signed_in, settings):
    settings.UPLOAD_MAX_BODY_BYTES = 10_000
    response = signed_in(team.admin).post(
        reverse("accounts:imports", kwargs={"org_slug": team.organization.slug}),
        {"kind": "accounts", "file": SimpleUploadedFile("big.csv", b"x" * 20_000)},
    )
    assert response.status_code == 413
    assert "The upload is larger than" in response.content.decode()
    with tenant_context(team.organization):
        assert not ImportUpload.objects.exists()


def test_it_says_the_size_to_a_browser_whose_too_large_upload_carries_its_csrf_token(
    team, settings
):
    settings.UPLOAD_MAX_BODY_BYTES = 10_000
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(team.admin)
    url = reverse("accounts:imports", kwargs={"org_slug": team.organization.slug})
    browser.get(url)
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    response = browser.post(
        url,
        {
            "csrfmiddlewaretoken": token,
            "kind": "accounts",
            "file": SimpleUploadedFile("big.csv", b"x" * 20_000),
        },
    )
    assert response.status_code == 413
    assert "The upload is larger than 9.8" in response.content.decode()
    with tenant_context(team.organization):
        assert not ImportUpload.objects.exists()


def test_it_stops_reading_a_body_that_grows_past_the_limit(settings, rf):
    from django.core.files.uploadhandler import StopUpload

    from csplatform.uploads import BodySizeLimitHandler, upload_too_large

    settings.UPLOAD_MAX_BODY_BYTES = 10_000
    request = rf.post("/")
    handler = BodySizeLimitHandler(request)
    assert handler.handle_raw_input(None, {}, 5_000, "b") is None  # the length it claims
    assert handler.receive_data_chunk(b"x" * 6_000, 0) == b"x" * 6_000
    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"x" * 6_000, 6_000)
    assert upload_too_large(request)


# --- the stored check is language-neutral ---------------------------------------------

ENGLISH = {"accept-language": "en"}
PORTUGUESE = {"accept-language": "pt-BR,pt;q=0.9"}


def test_it_shows_a_check_made_in_english_to_a_portuguese_reader_in_portuguese(team, signed_in):
    import json

    client = signed_in(team.admin)
    page = client.post(
        reverse("accounts:imports", kwargs={"org_slug": team.organization.slug}),
        {
            "kind": "contacts",
            "file": SimpleUploadedFile(
                "contatos.csv",
                b"account_external_id;email;cidade\nx1;ana@empresa.com.br;Recife\nx2;ana@;Natal\n",
            ),
        },
        headers=ENGLISH,
        follow=True,
    )
    english = page.content.decode()
    assert "No account has the external id x1: import or create the account first." in english
    assert "ana@ is not valid: expected an email address such as ana@empresa.com.br." in english
    assert "These columns are not used by a contacts import and were ignored: cidade." in english

    upload = page.context["upload"]
    portuguese = client.get(_preview_url(team, upload), headers=PORTUGUESE).content.decode()
    assert "Nenhuma conta tem o ID externo x1: importe ou crie a conta primeiro." in portuguese
    assert (
        "ana@ não é válido; esperado: um endereço de e-mail como ana@empresa.com.br." in portuguese
    )
    assert (
        "Estas colunas não são usadas na importação de contatos e foram ignoradas: cidade."
        in portuguese
    )
    assert '<td class="num">2</td><td><code>account_external_id</code>' in portuguese
    assert '<td class="num">3</td><td><code>email</code>' in portuguese

    with tenant_context(team.organization):
        upload.refresh_from_db()
    stored = json.dumps(upload.check_outcome, ensure_ascii=False)
    assert "No account has the external id x1" not in stored  # no sentence, in any language
    assert "Nenhuma conta" not in stored
    assert {
        "line": 2,
        "column": "account_external_id",
        "message": {
            "msgid": "No account has the external id %(id)s: import or create the account first.",
            "params": {"id": "x1"},
        },
    } in upload.check_outcome["errors"]
    assert upload.check_outcome["warnings"] == [
        {
            "msgid": "These columns are not used by a %(kind)s import and were ignored: "
            "%(columns)s.",
            "params": {"kind": {"msgid": "contacts"}, "columns": "cidade"},
        }
    ]


def test_it_still_shows_a_check_stored_as_sentences(team, signed_in):
    """Checks stored before phrases: their sentences are shown as they are."""
    client = signed_in(team.admin)
    upload = _upload(client, team, "external_id;name\na1;\n").context["upload"]
    with tenant_context(team.organization):
        upload.check_outcome = {
            "errors": [{"line": 2, "column": "name", "message": "This value is required."}],
            "error_count": 1,
            "warnings": ["Uma coluna antiga."],
        }
        upload.save(update_fields=["check_outcome"])
    page = client.get(_preview_url(team, upload), headers=PORTUGUESE).content.decode()
    assert "This value is required." in page
    assert "Uma coluna antiga." in page


# --- the import of a big file: in a worker -------------------------------------------


def _confirm_url(team, upload):
    return reverse(
        "accounts:import_confirm",
        kwargs={"org_slug": team.organization.slug, "upload_id": upload.pk},
    )


def _checked_big_upload(
    client, team, settings, content="external_id;name\na1;Padaria\na2;Açougue\n", kind="accounts"
):
    from accounts.tasks import check_import_upload

    settings.IMPORT_INLINE_CHECK_BYTES = 10
    upload = _upload(client, team, content, kind=kind).context["upload"]
    assert check_import_upload.apply(args=[team.organization.pk, upload.pk]).get() is True
    return upload


def test_it_imports_a_big_file_in_a_worker_showing_its_progress_once(team, signed_in, settings):
    from accounts import imports
    from accounts.models import ImportStatus
    from accounts.tasks import import_upload
    from csplatform.models import OutboxMessage
    from csplatform.texts import Phrase

    client = signed_in(team.admin)
    upload = _checked_big_upload(client, team, settings)
    with tenant_context(team.organization):
        OutboxMessage.objects.all().delete()  # the check's, delivered above

    for _ in range(2):  # a second click finds the import queued already
        response = client.post(_confirm_url(team, upload))
        assert response.status_code == 302
        assert response.url == _preview_url(team, upload)
    assert _accounts(team) == []  # not in the request
    with tenant_context(team.organization):
        upload.refresh_from_db()
        assert upload.status == ImportStatus.IMPORTING
        [queued] = OutboxMessage.objects.all()
        assert queued.task == import_upload.name
        imports._progress_tell(upload.pk, Phrase("Writing…"))

    page = client.get(_preview_url(team, upload), headers=PORTUGUESE).content.decode()
    assert "Importando o arquivo…" in page
    assert "Gravando…" in page
    assert 'hx-trigger="every 2s"' in page
    assert "/confirm/" not in page  # nothing to click twice

    actor = team.admin.pk
    assert import_upload.apply(args=[team.organization.pk, upload.pk, actor]).get() is True
    assert import_upload.apply(args=[team.organization.pk, upload.pk, actor]).get() is False
    assert _accounts(team) == ["a1", "a2"]

    fragment = client.get(_preview_url(team, upload), HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "contas.csv imported: 2 created, 0 updated, 0 unchanged." in html
    assert "hx-trigger" not in html  # the polling stops
    assert "<html" not in html
    history = client.get(_preview_url(team, upload), follow=True).content.decode()
    assert "Imported: 2 rows, 2 created, 0 updated" in history  # the import history row
    with tenant_context(team.organization):
        from accounts.models import AuditEvent

        [audit] = AuditEvent.objects.filter(action=AuditEvent.Action.IMPORT_COMPLETED)
        assert audit.actor_id == actor


def test_it_keeps_importing_a_small_file_in_the_request(team, signed_in):
    from accounts.models import ImportStatus

    client = signed_in(team.admin)
    upload = _upload(client, team, "external_id;name\na1;Padaria\n").context["upload"]
    client.post(_confirm_url(team, upload))
    assert _accounts(team) == ["a1"]
    with tenant_context(team.organization):
        upload.refresh_from_db()
        assert upload.status == ImportStatus.IMPORTED


def test_it_records_and_shows_a_big_import_that_failed(team, signed_in, settings, monkeypatch):
    import dataclasses

    from django.db import DatabaseError

    from accounts.models import ImportStatus
    from accounts.tasks import import_upload
    from csplatform.imports import REGISTRY

    client = signed_in(team.admin)
    upload = _checked_big_upload(client, team, settings)
    client.post(_confirm_url(team, upload))

    def broken(typed, extra, dry_run):
        raise DatabaseError("could not extend file: No space left on device")

    monkeypatch.setitem(
        REGISTRY, "accounts", dataclasses.replace(REGISTRY["accounts"], write=broken)
    )
    assert import_upload.apply(args=[team.organization.pk, upload.pk, team.admin.pk]).get() is False
    assert _accounts(team) == []
    with tenant_context(team.organization):
        upload.refresh_from_db()
        assert upload.status == ImportStatus.CHECKED  # it can be tried again
    page = client.get(_preview_url(team, upload)).content.decode()
    assert "The import failed and nothing was written." in page
    assert "/confirm/" in page  # try again

    monkeypatch.undo()
    client.post(_confirm_url(team, upload))
    import_upload.apply(args=[team.organization.pk, upload.pk, team.admin.pk]).get()
    assert _accounts(team) == ["a1", "a2"]


def test_it_shows_what_changed_since_the_check_when_a_big_import_is_refused(
    team, signed_in, settings
):
    from accounts.models import ImportStatus
    from accounts.tasks import import_upload
    from tests.factories import AccountFactory

    with tenant_context(team.organization):
        account = AccountFactory(external_id="a1")
    client = signed_in(team.admin)
    upload = _checked_big_upload(
        client, team, settings, "account_external_id;email\na1;ana@empresa.com.br\n", "contacts"
    )
    client.post(_confirm_url(team, upload))
    with tenant_context(team.organization):
        account.delete()  # after the check, before the worker
    assert import_upload.apply(args=[team.organization.pk, upload.pk, team.admin.pk]).get() is True
    with tenant_context(team.organization):
        upload.refresh_from_db()
        assert upload.status == ImportStatus.CHECKED
    page = client.get(_preview_url(team, upload), headers=PORTUGUESE).content.decode()
    assert "Nenhuma conta tem o ID externo a1: importe ou crie a conta primeiro." in page
    assert "/confirm/" not in page
