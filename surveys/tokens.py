"""Signed, expiring answer links.

A token carries the organization and the invitation ids, signed with SECRET_KEY
under a salt of its own: it cannot be guessed, enumerated, altered, or used as
an account invitation. It lets the public answer page enter the right tenant
without a login or an /o/<slug>/ URL. The score is not in it: every button of
an email carries the same token.
"""

from django.conf import settings

from accounts.tokens import (
    ExpiredTokenError,
    InvalidTokenError,
    make_signed_ids,
    read_signed_ids,
)

SALT = "surveys.answer"

__all__ = ["ExpiredTokenError", "InvalidTokenError", "make_answer_token", "read_answer_token"]


def make_answer_token(*, organization_id: int, invitation_id: int) -> str:
    return make_signed_ids(salt=SALT, organization_id=organization_id, object_id=invitation_id)


def read_answer_token(token: str, *, expires: bool = True) -> tuple[int, int]:
    """The organization and invitation ids, or InvalidTokenError / ExpiredTokenError.
    `expires=False` (unsubscribing) accepts a genuine token of any age."""
    max_age = settings.SURVEY_LINK_TTL_DAYS * 86_400 if expires else None
    return read_signed_ids(token, salt=SALT, max_age=max_age)
