"""The accounts app's models, by concern:

- `identity`: organizations (the tenants), users, memberships and roles, member
  invitations, API keys;
- `customers`: the organization's customer accounts, contacts, subscriptions, notes;
- `imports`: CSV uploads; `audit`: the append-only audit log; `privacy`: the proof
  of a contact's erasure.

Every model is imported here, so Django registers them and `from accounts.models
import X` works wherever X lives. Migrations name a few functions by this path
(`accounts.models.validate_time_zone`, …): they stay importable from here too.
"""

from accounts.models.audit import (
    AuditEvent,
    AuditEventManager,
    AuditEventQuerySet,
    AuditLogIsAppendOnly,
)
from accounts.models.customers import (
    MONTHS_PER_INTERVAL,
    Account,
    BillingInterval,
    Contact,
    ExchangeRate,
    Note,
    Subscription,
)
from accounts.models.identity import (
    LOCALE_CHOICES,
    MAX_USAGE_EVENT_RETENTION_DAYS,
    MIN_USAGE_EVENT_RETENTION_DAYS,
    ROLE_RANK,
    ApiKey,
    MemberInvitation,
    MemberInvitationStatus,
    Membership,
    Organization,
    Role,
    User,
    UserManager,
    default_invitation_expiry,
    normalize_email,
    role_at_least,
    validate_time_zone,
)
from accounts.models.imports import ImportStatus, ImportUpload
from accounts.models.privacy import ContactErasure, ErasureChannel
from accounts.models.segments import Segment

__all__ = [
    "LOCALE_CHOICES",
    "MAX_USAGE_EVENT_RETENTION_DAYS",
    "MIN_USAGE_EVENT_RETENTION_DAYS",
    "MONTHS_PER_INTERVAL",
    "ROLE_RANK",
    "Account",
    "ApiKey",
    "AuditEvent",
    "AuditEventManager",
    "AuditEventQuerySet",
    "AuditLogIsAppendOnly",
    "BillingInterval",
    "Contact",
    "ContactErasure",
    "ErasureChannel",
    "ExchangeRate",
    "ImportStatus",
    "ImportUpload",
    "MemberInvitation",
    "MemberInvitationStatus",
    "Membership",
    "Note",
    "Organization",
    "Role",
    "Segment",
    "Subscription",
    "User",
    "UserManager",
    "default_invitation_expiry",
    "normalize_email",
    "role_at_least",
    "validate_time_zone",
]
