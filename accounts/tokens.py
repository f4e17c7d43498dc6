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
class InvitationRef:
    organization_id: int
    invitation_id: int


class InvalidTokenError(Exception):
    """The token was altered or is not one of ours."""


class ExpiredTokenError(InvalidTokenError):
    """The token is genuine but older than the invitation's lifetime."""


def make_invitation_token(*, organization_id: int, invitation_id: int) -> str:
    return signing.dumps({"o": organization_id, "i": invitation_id}, salt=SALT, compress=True)


def read_invitation_token(token: str) -> InvitationRef:
    max_age = settings.INVITATION_TTL_DAYS * 24 * 60 * 60
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise ExpiredTokenError from exc
    except signing.BadSignature as exc:
        raise InvalidTokenError from exc
    try:
        return InvitationRef(organization_id=int(payload["o"]), invitation_id=int(payload["i"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidTokenError from exc
