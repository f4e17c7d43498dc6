"""Email as every app sends it: one message with a plain-text body and an HTML
alternative, written in the reader's language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def email_build(
    *,
    to: str,
    language: str,
    subject: Callable[[], str],
    template: str,
    context: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> EmailMultiAlternatives:
    """The email to `to` in `language`: `subject()` and the templates `<template>.txt`
    (the body) and `<template>.html` (its HTML alternative) are rendered under that
    language, with `context` plus LANGUAGE_CODE (for `<html lang>`). The subject is a
    function so that its gettext runs in that language; lazy strings in the context
    are translated at rendering. `headers` are added as they are. Not sent: the
    caller sends it, or sends a batch over one connection."""
    with translation.override(language):
        context = {**context, "LANGUAGE_CODE": language}
        message = EmailMultiAlternatives(
            str(subject()),
            render_to_string(f"{template}.txt", context),
            to=[to],
            headers=dict(headers or {}),
        )
        message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message
