"""The health model: the organization's settings as stored (weights, band thresholds,
the engagement mix, the adoption threshold), read and updated here, and `Model`, the
frozen part of them the computation (metrics.health.scoring) takes as an argument."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import transaction

from accounts.audit import audit_record
from accounts.models import AuditEvent
from metrics.models import HealthBand, HealthComponent, HealthModel

COMPONENTS = [str(c) for c in HealthComponent]
ENGAGEMENT_PARTS = ["frequency", "breadth", "depth"]


@dataclass(frozen=True)
class Model:
    """The parts of the organization's HealthModel the computation uses."""

    weights: Mapping[str, float]
    healthy_from: float = 70
    at_risk_below: float = 40
    engagement_weights: Mapping[str, float] = field(
        default_factory=lambda: {"frequency": 40, "breadth": 30, "depth": 30}
    )
    adoption_threshold: int = 2

    @classmethod
    def of(cls, stored: HealthModel) -> Model:
        return cls(
            weights={c: float(stored.weights.get(c, 0)) for c in COMPONENTS},
            healthy_from=stored.healthy_from,
            at_risk_below=stored.at_risk_below,
            engagement_weights={
                p: float(stored.engagement_weights.get(p, 0)) for p in ENGAGEMENT_PARTS
            },
            adoption_threshold=stored.adoption_threshold,
        )

    def band(self, score: np.ndarray) -> np.ndarray:
        return np.where(
            score >= self.healthy_from,
            HealthBand.HEALTHY.value,
            np.where(
                score < self.at_risk_below, HealthBand.AT_RISK.value, HealthBand.NEUTRAL.value
            ),
        )


def adoption_threshold(model: Model, core_features: int) -> int:
    """Core features a customer must use to count as adopted: the model's threshold,
    at most the number of core features there are (else nobody could)."""
    return max(min(model.adoption_threshold, core_features), 1)


def health_model() -> HealthModel:
    """The current organization's health model, created with the defaults if missing."""
    stored, _created = HealthModel.objects.get_or_create()
    return stored


# What the audit log compares before and after a change of the model.
AUDITED_FIELDS = (
    "weights",
    "engagement_weights",
    "healthy_from",
    "at_risk_below",
    "adoption_threshold",
)


@transaction.atomic
def health_model_update(*, model: Model, by: Any) -> HealthModel:
    """Store the organization's health model and have the health recomputed with it."""
    from metrics.services import health_mark_stale

    stored = health_model()
    before = {name: getattr(stored, name) for name in AUDITED_FIELDS}
    stored.weights = {c: model.weights.get(c, 0) for c in COMPONENTS}
    stored.engagement_weights = {p: model.engagement_weights.get(p, 0) for p in ENGAGEMENT_PARTS}
    stored.healthy_from = int(model.healthy_from)
    stored.at_risk_below = int(model.at_risk_below)
    stored.adoption_threshold = model.adoption_threshold
    stored.updated_by = by
    stored.save()
    changed = {
        name: {"old": before[name], "new": getattr(stored, name)}
        for name in AUDITED_FIELDS
        if before[name] != getattr(stored, name)
    }
    audit_record(
        AuditEvent.Action.HEALTH_MODEL_UPDATED,
        actor=by,
        details={"changed": changed},
    )
    health_mark_stale()
    if changed:
        from metrics.health.backfill import health_backfill_request
        from metrics.models import BackfillReason

        # The history computed afterwards follows the new model (real days keep theirs).
        health_backfill_request(reason=BackfillReason.MODEL_CHANGED)
    return stored
