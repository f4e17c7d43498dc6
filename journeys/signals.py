"""Signals other apps listen to (they may depend on journeys; journeys never on them)."""

from django.dispatch import Signal

# The current tenant's activity changed: usage rolled up into the daily rollups, or
# touchpoints recorded or corrected. Sent inside the writing transaction.
activity_changed = Signal()

# Value milestones or core features changed in the current tenant: time to value and
# adoption may differ. Sent inside the writing transaction, with no arguments.
value_definitions_changed = Signal()
