"""The audit log: who did which admin action, on what, and when.

`audit_record` is called by each admin service inside the transaction of the
change it records, so a change that rolls back leaves no entry and a change
that commits always has one. Entries are append-only (see `AuditEvent`).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet

from accounts.models import AuditEvent, Membership, Organization, User
from csplatform.tenancy import TenantScopeError, current_organization_id, tenant_context

# Names that must never reach `details`: an entry is read by every admin, and kept forever.
SECRET_NAMES = frozenset({"key", "secret", "password", "token", "hashed_key", "api_key"})

PAGE_SIZE = 50


def audit_record(
    action: AuditEvent.Action | str,
    *,
    actor: User | Membership | None,
    target: str = "",
    details: dict[str, Any] | None = None,
    organization: Organization | None = None,
) -> AuditEvent:
    """Record one admin action for the current organization, in the caller's transaction.

    `actor` is the user who did it (a membership stands for its user); None
    for an operator's command. `target` names the object in a few words (an
    email, a key's name, a file name). `details` holds the values that
    changed, never a secret: a key named like one (see SECRET_NAMES) raises.
    `organization` is for the membership services, which may run before any
    tenant is entered: the entry is then written inside that organization.
    """
    if isinstance(actor, Membership):
        actor = actor.user
    details = _plain(details or {})
    leaked = SECRET_NAMES & _keys(details)
    if leaked:
        raise ValueError(f"An audit entry must not hold secrets: {sorted(leaked)}.")
    entry = AuditEvent(
        action=action,
        actor=actor,
        actor_email=actor.email if actor is not None else "",
        target=target[:200],
        details=details,
    )
    current_id = current_organization_id()
    if organization is None or current_id == organization.pk:
        entry.save()  # raises TenantScopeError when no organization is set
    elif current_id is None:
        # A savepoint inside the caller's transaction: it commits or rolls back with it.
        with tenant_context(organization):
            entry.save()
    else:
        raise TenantScopeError(
            f"An action in organization {organization.pk} cannot be recorded "
            f"in organization {current_id}."
        )
    return entry


def audit_import(
    *,
    actor: User | None,
    kind: str,
    filename: str,
    source: str,
    rows: int | None = None,
    result: dict[str, Any] | None = None,
    problems: int | None = None,
) -> AuditEvent:
    """Record a CSV import that wrote its rows (`result`) or was refused (`problems`).

    `source` says where it came from ("page" or "command"). Counts only: a
    refused cell's value is customer data and stays out of the log.
    """
    details: dict[str, Any] = {"kind": kind, "file": filename, "source": source}
    if problems is None:
        counts = {
            k: v for k, v in (result or {}).items() if k in {"created", "updated", "unchanged"}
        }
        details |= {"rows": rows, **counts}
        action = AuditEvent.Action.IMPORT_COMPLETED
        from accounts.signals import import_completed

        import_completed.send(sender=AuditEvent, kind=kind)
    else:
        details["problems"] = problems
        action = AuditEvent.Action.IMPORT_FAILED
    return audit_record(action, actor=actor, target=filename, details=details)


class _Encoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        try:
            return super().default(o)
        except TypeError:
            return str(o)  # a model instance from a form's cleaned data: its name


def _plain(details: dict[str, Any]) -> dict[str, Any]:
    """`details` as plain JSON (dates, decimals, lazy strings and objects become strings)."""
    plain: dict[str, Any] = json.loads(json.dumps(details, cls=_Encoder))
    return plain


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {str(k).lower() for k in value} | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for item in value for k in _keys(item)}
    return set()


def audit_event_list(*, action: str = "", actor_id: int | None = None) -> QuerySet[AuditEvent]:
    """The current organization's audit entries, newest first, optionally of one action or actor."""
    events = AuditEvent.objects.all()
    if action:
        events = events.filter(action=action)
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    return events.order_by("-at", "-id")


def audit_actor_choices() -> list[tuple[int, str]]:
    """(user id, email) of everyone who appears in the log and still has an account, by email."""
    rows = (
        AuditEvent.objects.filter(actor__isnull=False)
        .values_list("actor_id", "actor__email")
        .distinct()
        .order_by("actor__email")
    )
    return [(actor_id, email) for actor_id, email in rows]
