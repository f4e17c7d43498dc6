"""Signed, expiring invitation tokens.

A token carries the organization and the invitation ids, signed with
SECRET_KEY: it cannot be guessed, enumerated or altered. It also lets the
acceptance page enter the right tenant without a /o/<slug>/ URL.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

SALT = "accounts.invitation"


@dataclass(frozen=True)
class MemberInvitationRef:
    organization_id: int
    invitation_id: int


class InvalidTokenError(Exception):
    """The token was altered or is not one of ours."""


class ExpiredTokenError(InvalidTokenError):
    """The token is genuine but older than the invitation's lifetime."""


def make_invitation_token(*, organization_id: int, invitation_id: int) -> str:
    return make_signed_ids(salt=SALT, organization_id=organization_id, object_id=invitation_id)


def read_invitation_token(token: str) -> MemberInvitationRef:
    organization_id, invitation_id = read_signed_ids(
        token, salt=SALT, max_age=settings.INVITATION_TTL_DAYS * 24 * 60 * 60
    )
    return MemberInvitationRef(organization_id=organization_id, invitation_id=invitation_id)


def make_signed_ids(*, salt: str, organization_id: int, object_id: int) -> str:
    """A token naming an organization and one of its objects (shared with surveys)."""
    return signing.dumps({"o": organization_id, "i": object_id}, salt=salt, compress=True)


def read_signed_ids(token: str, *, salt: str, max_age: int | None) -> tuple[int, int]:
    """The organization and object ids of a make_signed_ids token, or InvalidTokenError
    (altered, foreign) / ExpiredTokenError (older than `max_age` seconds)."""
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise ExpiredTokenError from exc
    except signing.BadSignature as exc:
        raise InvalidTokenError from exc
    try:
        return int(payload["o"]), int(payload["i"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidTokenError from exc
