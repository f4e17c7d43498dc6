"""English and Brazilian Portuguese from day one."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from accounts import services
from csplatform.tenancy import tenant_context
from tests.factories import MemberInvitationFactory, OrganizationFactory

CATALOGUE = Path(__file__).resolve().parent.parent / "locale" / "pt_BR" / "LC_MESSAGES"


def _entries(po_text: str) -> list[str]:
    return [block for block in po_text.split("\n\n") if "msgid" in block]


def test_it_translates_every_string_in_the_pt_br_catalogue():
    entries = _entries((CATALOGUE / "django.po").read_text(encoding="utf-8"))[1:]  # skip header
    assert len(entries) > 100
    fuzzy = [e for e in entries if re.search(r"^#,.*\bfuzzy\b", e, flags=re.M)]
    untranslated = [
        e for e in entries if re.search(r'^msgstr(\[\d\])? ""\n(?!")', e + "\n", flags=re.M)
    ]
    assert fuzzy == []
    assert untranslated == []


def test_it_loads_the_compiled_pt_br_catalogue():
    assert (CATALOGUE / "django.mo").exists(), "run make messages"
    with translation.override("pt-br"):
        assert translation.gettext("Executive dashboard") == "Painel executivo"
        assert translation.gettext("Members") != "Members"


@pytest.mark.django_db
def test_it_speaks_portuguese_to_a_brazilian_browser(client):
    response = client.get(reverse("login"), headers={"accept-language": "pt-BR,pt;q=0.9"})
    html = response.content.decode()
    assert '<html lang="pt-br">' in html
    assert "Entrar" in html
    assert "Esqueceu sua senha?" in html


@pytest.mark.django_db
def test_it_switches_language_from_the_footer(client):
    response = client.post(
        reverse("set_language"), {"language": "pt-br", "next": "/accounts/login/"}
    )
    assert response.status_code == 302
    assert "Entrar" in client.get(reverse("login")).content.decode()


@pytest.mark.django_db
def test_it_sends_invitations_in_the_organizations_language(mailoutbox):
    organization = OrganizationFactory(default_locale="pt-br", name="Acme Brasil")
    translation.activate("en")
    with tenant_context(organization):
        invitation = MemberInvitationFactory()
        assert services.invitation_send_email(invitation_id=invitation.pk)
    [message] = mailoutbox
    assert message.subject == "Convite para participar de Acme Brasil no csplatform"
    assert "Para aceitar o convite" in message.body
    assert "com a função Gerente de CS" in message.body
    assert translation.get_language() == "en"  # the override did not leak


@pytest.mark.django_db
def test_it_sends_an_invitation_email_only_once(mailoutbox):
    organization = OrganizationFactory()
    with tenant_context(organization):
        invitation = MemberInvitationFactory()
        assert services.invitation_send_email(invitation_id=invitation.pk) is True
        assert services.invitation_send_email(invitation_id=invitation.pk) is False
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_it_remembers_a_signed_in_users_language(client):
    from tests.factories import UserFactory

    user = UserFactory()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    client.post(reverse("set_language"), {"language": "pt-br", "next": "/"})
    user.refresh_from_db()
    assert user.language == "pt-br"

    fresh_browser = client.__class__()
    fresh_browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    page = fresh_browser.get(reverse("organization_list"), headers={"accept-language": "en"})
    assert "Suas organizações" in page.content.decode()
