"""Validating and writing batches of rows, shared by the REST API and CSV import.

A batch is all or nothing: every row is checked first, every problem is
reported with its row and field, and nothing is written unless all pass.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from csplatform.texts import Phrase


@dataclass(frozen=True)
class RowError:
    row: int  # 0-based position in the batch; CSV import turns it into a file line
    field: str
    message: Phrase | str  # a Phrase where it may be stored (a CSV import's check)

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "field": self.field, "message": str(self.message)}


class RowsRejected(Exception):  # noqa: N818 (a verdict on the batch, not a programming error)
    """The batch had at least one bad row; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the batch; nothing was written")
        self.errors = sorted(errors, key=lambda e: (e.row, e.field))


@dataclass
class WriteResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[Phrase | str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "warnings": [str(warning) for warning in self.warnings],
        }


def _key_text(key: object) -> str:
    return " / ".join(map(str, key)) if isinstance(key, tuple) else str(key)


def duplicate_key_errors(keys: Sequence[object], field_name: str, label: Phrase) -> list[RowError]:
    """An error for every row whose key already appeared earlier in the batch."""
    first_seen: dict[object, int] = {}
    errors = []
    for index, key in enumerate(keys):
        if key in first_seen:
            errors.append(
                RowError(
                    index,
                    field_name,
                    Phrase(
                        gettext_noop("%(label)s %(key)s appears more than once in this batch."),
                        {"label": label, "key": _key_text(key)},
                    ),
                )
            )
        else:
            first_seen[key] = index
    return errors


def once_more_on_conflict[**P, R](write: Callable[P, R]) -> Callable[P, R]:
    """Run a keyed upsert in a savepoint; if a concurrent request inserted the same key
    first (a unique violation), run it once more: the row now exists and is updated or
    left unchanged, so two simultaneous retries both succeed."""

    @wraps(write)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with transaction.atomic():
                return write(*args, **kwargs)
        except IntegrityError:
            with transaction.atomic():
                return write(*args, **kwargs)

    return wrapper
