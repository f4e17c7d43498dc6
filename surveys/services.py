"""Recording answers and opt-outs: the writes behind the public answer page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.customers import accounts_by_external_id
from accounts.ingest import Row, account_reference_errors, dedupe_key, instant_errors
from accounts.models import Contact, normalize_email
from accounts.signals import Feedback, feedback_recorded, feedback_withdrawn
from csplatform.batches import RowError, RowsRejected, WriteResult
from csplatform.texts import Phrase
from surveys.models import (
    SCALES,
    AnswerAttempt,
    Response,
    ResponseEdit,
    SurveyInvitation,
    SurveyKind,
    is_negative,
)
from surveys.signals import responses_changed

# Different scores submitted on their own for one invitation within this window are a
# mail scanner opening every button, not a person.
SCANNER_WINDOW = timedelta(minutes=1)
# A response can be changed for this long after it was first given.
EDIT_WINDOW = timedelta(days=7)
COMMENT_MAX_LENGTH = 5000


@dataclass(frozen=True)
class Recorded:
    response: Response | None
    # The score arrived in a scanner-like burst: nothing counted; the person must submit
    # the form on purpose.
    needs_confirmation: bool = False
    # An edit after EDIT_WINDOW: nothing written.
    closed: bool = False


def _validate(invitation: SurveyInvitation, score: int, comment: str | None) -> None:
    survey = invitation.campaign.survey
    if score not in survey.scale:
        raise ValidationError(
            _("Choose a score from %(low)s to %(high)s.")
            % {"low": survey.scale.start, "high": survey.scale.stop - 1},
            code="score",
        )
    if comment is not None and len(comment) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            _("Keep the comment to %(limit)s characters or fewer (it has %(count)s).")
            % {"limit": COMMENT_MAX_LENGTH, "count": len(comment)},
            code="comment",
        )


def invitation_for_answer(invitation_id: int, *, lock: bool) -> SurveyInvitation | None:
    """The invitation with its survey and contact, in one query; `lock` (inside a
    transaction) also takes its row lock, so answers to it are recorded one at a time."""
    invitations = SurveyInvitation.objects.select_related("campaign__survey", "contact")
    if lock:
        invitations = invitations.select_for_update(of=("self",))
    return invitations.filter(pk=invitation_id).first()


def response_record(
    *,
    invitation: SurveyInvitation,
    score: int,
    comment: str | None = None,
    automatic: bool,
    locked: bool = False,
) -> Recorded:
    """Record `score` (and `comment`, when given) as the invitation's response.

    `automatic`: the page submitted the score itself as it opened (JavaScript). Such a
    submit never changes an existing response, and if other scores were submitted
    the same way within SCANNER_WINDOW, it is a scanner's burst: nothing counts, and
    a response recorded by the burst's first submit is withdrawn. A submit on purpose
    (`automatic` false) creates the response, or changes it within EDIT_WINDOW,
    keeping what it said before in ResponseEdit.

    `locked`: the caller loaded the invitation with `invitation_for_answer(lock=True)`
    in the current transaction (the answer page does, saving a round trip).
    """
    _validate(invitation, score, comment)
    recorded = _record(invitation, score, comment, automatic=automatic, locked=locked)
    if recorded.closed:
        # Raised outside the transaction block, which has written nothing: the caller's
        # transaction stays usable for the page that explains it.
        raise ValidationError(
            _("This answer was given over %(days)s days ago and can no longer be changed.")
            % {"days": EDIT_WINDOW.days},
            code="closed",
        )
    return recorded


# No savepoint: nothing in it raises after a write (an edit too late is returned as
# `closed`), so an error aborts the caller's transaction only when it would anyway.
@transaction.atomic(savepoint=False)
def _record(
    invitation: SurveyInvitation, score: int, comment: str | None, *, automatic: bool, locked: bool
) -> Recorded:
    if not locked:
        # One answer at a time per invitation (its row locked, nothing else); the unique
        # constraint backs it up.
        SurveyInvitation.objects.select_for_update().filter(pk=invitation.pk).values_list(
            "pk"
        ).get()
    now = timezone.now()
    existing = Response.objects.filter(invitation=invitation).first()
    if automatic:
        AnswerAttempt.objects.create(invitation=invitation, score=score)
        burst = (
            AnswerAttempt.objects.filter(invitation=invitation, at__gte=now - SCANNER_WINDOW)
            .exclude(score=score)
            .exists()
        )
        if burst:
            if existing is not None and existing.automatic:
                _withdraw(existing)
            return Recorded(None, needs_confirmation=True)
        if existing is not None:
            # Another button, later: a change of mind is made on purpose, never by itself.
            return Recorded(existing, needs_confirmation=existing.score != score)
        return Recorded(_create(invitation, score, comment or "", automatic=True, now=now))
    if existing is None:
        return Recorded(_create(invitation, score, comment or "", automatic=False, now=now))
    if now - existing.responded_at > EDIT_WINDOW:
        return Recorded(existing, closed=True)
    return Recorded(_edit(existing, score, comment))


def _create(
    invitation: SurveyInvitation, score: int, comment: str, *, automatic: bool, now: datetime
) -> Response:
    survey = invitation.campaign.survey
    contact = invitation.contact
    response = Response.objects.create(
        invitation=invitation,
        account_id=contact.account_id,
        contact=contact,
        kind=survey.kind,
        score=score,
        comment=comment,
        touchpoint=survey.touchpoint,
        automatic=automatic,
        responded_at=now,
    )
    _announce([response])
    responses_changed.send(sender=Response)
    return response


def _edit(response: Response, score: int, comment: str | None) -> Response:
    was_negative = is_negative(response.kind, response.score)
    new_comment = response.comment if comment is None else comment
    if score != response.score or (response.comment and new_comment != response.comment):
        ResponseEdit.objects.create(
            response=response, score=response.score, comment=response.comment
        )
    response.score, response.comment, response.automatic = score, new_comment, False
    response.save(update_fields=["score", "comment", "automatic", "updated_at"])
    if was_negative and not is_negative(response.kind, response.score):
        feedback_withdrawn.send(sender=Response, response_ids=[response.pk])
    _announce([response])
    responses_changed.send(sender=Response)
    return response


def _announce(responses: list[Response]) -> None:
    """Tell the apps that react to feedback (journeys records a negative response as a
    negative touchpoint on its account at once) that these responses were given or
    changed: plain values, in the writing transaction."""
    feedback_recorded.send(
        sender=Response,
        feedback=[
            Feedback(
                response_id=r.pk,
                account_id=r.account_id,
                contact_id=r.contact_id,
                responded_at=r.responded_at,
                kind=r.kind,
                score=r.score,
                negative=is_negative(r.kind, r.score),
            )
            for r in responses
        ],
    )


def _withdraw(response: Response) -> None:
    """A scanner's score never counted: remove it and what it recorded."""
    if is_negative(response.kind, response.score):
        feedback_withdrawn.send(sender=Response, response_ids=[response.pk])
    response.delete()
    responses_changed.send(sender=Response)


def contact_opt_out(contact: Contact) -> None:
    """Stop every survey email to the contact (idempotent: the first date is kept)."""
    Contact.objects.filter(pk=contact.pk, opted_out_at__isnull=True).update(
        opted_out_at=timezone.now()
    )


IMPORT_CONTENT = [
    "kind",
    "account_external_id",
    "contact_email",
    "score",
    "responded_at",
    "comment",
]


@transaction.atomic
def responses_import(rows: Sequence[Row], *, dry_run: bool = False) -> WriteResult:
    """Record responses given in another tool (no invitation): all or nothing.

    Each row: kind (nps, csat, ces), account_external_id, score, responded_at, and
    optionally contact_email, comment, touchpoint. A row already imported (same kind,
    account, contact, score, time and comment) is skipped, so a file can be imported
    twice. Negative ones become negative touchpoints at the time they were given.
    `dry_run`: validate and count, write nothing.
    """
    reference, _accounts = account_reference_errors(rows)
    errors = reference + instant_errors(rows, "responded_at")
    for index, row in enumerate(rows):
        scale = SCALES[SurveyKind(row["kind"])]
        score = row["score"]
        if score != int(score) or int(score) not in scale:
            errors.append(
                RowError(
                    index,
                    "score",
                    Phrase(
                        gettext_noop(
                            "%(kind)s scores are whole numbers from %(low)s to %(high)s, "
                            "not %(score)s."
                        ),
                        {
                            "kind": SurveyKind(row["kind"]).name,
                            "low": scale.start,
                            "high": scale.stop - 1,
                            "score": row["score"],
                        },
                    ),
                )
            )
        if len(row.get("comment") or "") > COMMENT_MAX_LENGTH:
            errors.append(
                RowError(
                    index,
                    "comment",
                    Phrase(
                        gettext_noop(
                            "Keep the comment to %(limit)s characters or fewer (it has %(count)s)."
                        ),
                        {"limit": COMMENT_MAX_LENGTH, "count": len(row["comment"])},
                    ),
                )
            )
    if errors:
        raise RowsRejected(errors)

    keyed = {
        dedupe_key(
            "response",
            {**row, "contact_email": normalize_email(row.get("contact_email") or "") or None},
            IMPORT_CONTENT,
        ): row
        for row in rows
    }
    known = set(Response.objects.filter(import_key__in=keyed).values_list("import_key", flat=True))
    new = {key: row for key, row in keyed.items() if key not in known}
    if dry_run:
        return WriteResult(created=len(new), unchanged=len(rows) - len(new))
    accounts = accounts_by_external_id({r["account_external_id"] for r in new.values()})
    contacts = {
        (c.account_id, normalize_email(c.email)): c
        for c in Contact.objects.filter(
            account__in=accounts.values(),
            email__in={
                normalize_email(r["contact_email"]) for r in new.values() if r.get("contact_email")
            },
        )
    }
    created = Response.objects.bulk_create(
        Response(
            import_key=key,
            account=(account := accounts[row["account_external_id"]]),
            contact=contacts.get((account.pk, normalize_email(row.get("contact_email") or ""))),
            kind=row["kind"],
            score=int(row["score"]),
            comment=row.get("comment") or "",
            touchpoint=row.get("touchpoint") or "",
            responded_at=row["responded_at"],
        )
        for key, row in new.items()
    )
    if created:
        _announce(created)
        responses_changed.send(sender=Response)
    return WriteResult(created=len(created), unchanged=len(rows) - len(created))
