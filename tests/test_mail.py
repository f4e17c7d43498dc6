"""csplatform.mail: one multipart email (text + HTML) in the reader's language."""

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Role
from csplatform.mail import email_build

TEMPLATES = {
    "mail_test/hello.txt": "{% load i18n %}{{ role }} / {% translate 'Board viewer' %}",
    "mail_test/hello.html": '<html lang="{{ LANGUAGE_CODE }}"><p>{{ role }}</p></html>',
}


@pytest.fixture
def templates(settings):
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {"loaders": [("django.template.loaders.locmem.Loader", TEMPLATES)]},
        }
    ]


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", ("Board viewer", "Reminder")), ("pt-br", ("Conselho (leitura)", "Lembrete"))],
)
def test_it_builds_text_and_html_in_the_language_given(templates, language, words):
    viewer, reminder = words
    with translation.override("en" if language != "en" else "pt-br"):  # not the reader's
        message = email_build(
            to="reader@example.com",
            language=language,
            subject=lambda: _("Reminder: %(subject)s") % {"subject": "x"},
            template="mail_test/hello",
            context={"role": Role.VIEWER.label},  # lazy: translated at rendering
        )
        active = translation.get_language()
    assert active == ("en" if language != "en" else "pt-br")  # the caller's language is back
    assert message.to == ["reader@example.com"]
    assert message.subject == f"{reminder}: x"
    assert message.body == f"{viewer} / {viewer}"
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert html == f'<html lang="{language}"><p>{viewer}</p></html>'


def test_it_keeps_the_headers_given(templates):
    message = email_build(
        to="reader@example.com",
        language="en",
        subject=lambda: "Hello",
        template="mail_test/hello",
        context={"role": "r"},
        headers={"List-Unsubscribe": "<https://example.com/u>"},
    )
    assert message.extra_headers == {"List-Unsubscribe": "<https://example.com/u>"}
    assert message.message()["List-Unsubscribe"] == "<https://example.com/u>"
