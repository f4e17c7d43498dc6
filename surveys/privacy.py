"""A person's survey rows on an erasure request, asked by accounts.privacy through the
hooks in accounts.signals (connected in SurveysConfig.ready). See docs/privacy.md."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from surveys.models import AnswerAttempt, Response, ResponseEdit, SurveyInvitation


def _responses_of(contact_ids: list[int]) -> QuerySet[Response]:
    """The responses the contacts gave: theirs, or to an invitation sent to them."""
    return Response.objects.filter(
        Q(contact_id__in=contact_ids) | Q(invitation__contact_id__in=contact_ids)
    )


def contact_survey_rows_erase(*, contact_ids: list[int]) -> dict[str, int]:
    """Anonymize the contacts' responses (scores kept: no contact, invitation or comment;
    their edits' comments emptied) and delete their invitations and answer attempts.
    Returns the rows changed by kind; call inside the erasure's transaction, before the
    contacts are deleted."""
    response_ids = list(_responses_of(contact_ids).values_list("pk", flat=True))
    removed: dict[str, int] = {}
    # Detach the kept responses first: deleting an invitation cascades to its response.
    removed["responses_anonymized"] = Response.objects.filter(pk__in=response_ids).update(
        contact=None, invitation=None, comment=""
    )
    ResponseEdit.objects.filter(response_id__in=response_ids).update(comment="")
    removed["answer_attempts"] = AnswerAttempt.objects.filter(
        invitation__contact_id__in=contact_ids
    ).delete()[0]
    removed["survey_invitations"] = SurveyInvitation.objects.filter(
        contact_id__in=contact_ids
    ).delete()[0]
    return removed


def contact_survey_rows_count(*, contact_ids: list[int]) -> dict[str, int]:
    """How many invitations and responses erasing the contacts would touch."""
    return {
        "invitations": SurveyInvitation.objects.filter(contact_id__in=contact_ids).count(),
        "responses": _responses_of(contact_ids).count(),
    }
