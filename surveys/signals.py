"""Signals other apps listen to (they may depend on surveys; surveys never on them)."""

from django.dispatch import Signal

# A response of the current tenant was recorded, edited or withdrawn. Sent inside the
# writing transaction.
responses_changed = Signal()
