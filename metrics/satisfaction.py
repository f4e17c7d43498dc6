"""NPS, CSAT and CES per month, overall and by touchpoint, segment and lifecycle stage,
with n and the 95 % margin of error (METRICS.md, Satisfaction; docs/metrics.md).

Whole-frame pandas over the organization's responses (one query). An edited
response counts once, with its latest score: a response is one row however often
it was edited.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from django.db import transaction

from accounts.tenancy import current_organization
from csplatform.tasks import organization_lock
from metrics.models import SatisfactionMetrics
from surveys.models import Response

Z = 1.96  # 95 %
DIMENSIONS = {
    "touchpoint": "touchpoint",
    "segment": "account__segment",
    "lifecycle_stage": "account__lifecycle_stage",
}


_FIGURES = ("n", "value", "margin", "high", "low")


def nps(scores: np.ndarray) -> dict[str, float | int | None]:
    """% promoters (9–10) − % detractors (0–6), −100…100, and its margin of error:
    1.96 · √((p_prom + p_det − (p_prom − p_det)²) ÷ n) × 100; `high`/`low` are the
    % promoters and % detractors."""
    n = len(scores)
    if n == 0:
        return {"n": 0, "value": None, "margin": None, "high": None, "low": None}
    return _nps_of_shares(float(np.mean(scores >= 9)), float(np.mean(scores <= 6)), n)


def nps_pooled(months: Iterable[Mapping[str, Any]]) -> dict[str, float | int | None]:
    """NPS over the responses of several months (the same keys as `nps`), from each
    month's stored n, % promoters (`high`) and % detractors (`low`): the shares of all
    those responses at once, so the same NPS and margin as `nps` over them (a contact
    answering in two months counts twice; docs/metrics.md). A single month is its
    stored figures as they are."""
    rows = [m for m in months if m["n"]]
    n = sum(m["n"] for m in rows)
    if n == 0:
        return {"n": 0, "value": None, "margin": None, "high": None, "low": None}
    if len(rows) == 1:
        return {key: rows[0][key] for key in _FIGURES}
    promoters = sum(m["high"] * m["n"] for m in rows) / 100 / n
    detractors = sum(m["low"] * m["n"] for m in rows) / 100 / n
    return _nps_of_shares(promoters, detractors, n)


def _nps_of_shares(promoters: float, detractors: float, n: int) -> dict[str, float | int | None]:
    """NPS, its margin and the shares (×100) of n responses with these shares (0…1)."""
    variance = promoters + detractors - (promoters - detractors) ** 2
    return {
        "n": n,
        "value": (promoters - detractors) * 100,
        "margin": Z * math.sqrt(max(variance, 0.0) / n) * 100,
        "high": promoters * 100,
        "low": detractors * 100,
    }


def csat(scores: np.ndarray) -> dict[str, float | int | None]:
    """% of responses that are 4 or 5 (0…100), with the margin of a proportion
    (1.96 · √(p(1 − p) ÷ n) × 100), and the mean score."""
    n = len(scores)
    if n == 0:
        return {"n": 0, "value": None, "margin": None, "high": None, "low": None, "mean": None}
    satisfied = float(np.mean(scores >= 4))
    return {
        "n": n,
        "value": satisfied * 100,
        "margin": Z * math.sqrt(satisfied * (1 - satisfied) / n) * 100,
        "high": satisfied * 100,
        "low": float(np.mean(scores <= 2)) * 100,
        "mean": float(np.mean(scores)),
    }


def ces(scores: np.ndarray) -> dict[str, float | int | None]:
    """The mean (1…7) with the margin 1.96 · s ÷ √n (s the sample standard deviation;
    none for a single response), and % of responses 5–7."""
    n = len(scores)
    if n == 0:
        return {"n": 0, "value": None, "margin": None, "high": None, "low": None, "mean": None}
    mean = float(np.mean(scores))
    return {
        "n": n,
        "value": mean,
        "margin": Z * float(np.std(scores, ddof=1)) / math.sqrt(n) if n > 1 else None,
        "high": float(np.mean(scores >= 5)) * 100,
        "low": float(np.mean(scores <= 3)) * 100,
        "mean": mean,
    }


MEASURES = {"nps": nps, "csat": csat, "ces": ces}


def responses_frame() -> pd.DataFrame:
    """The current organization's responses: kind, score, month (organization's time
    zone) and the dimensions."""
    rows = list(Response.objects.values_list("kind", "score", "responded_at", *DIMENSIONS.values()))
    frame = pd.DataFrame(rows, columns=["kind", "score", "responded_at", *DIMENSIONS])
    if frame.empty:
        return frame.assign(month=pd.Series(dtype="datetime64[ns]"))
    zone = ZoneInfo(current_organization().time_zone)
    local = pd.to_datetime(frame["responded_at"], utc=True).dt.tz_convert(zone)
    frame["month"] = local.dt.tz_localize(None).dt.to_period("M").dt.to_timestamp()
    for column in DIMENSIONS:
        frame[column] = frame[column].fillna("")
    return frame


def compute(frame: pd.DataFrame) -> list[dict[str, object]]:
    """One row per month, kind, dimension ("all" or one of DIMENSIONS) and its value."""
    rows: list[dict[str, object]] = []
    if frame.empty:
        return rows
    groupings = [("all", None), *((d, d) for d in DIMENSIONS)]
    for dimension, column in groupings:
        keys = ["month", "kind"] if column is None else ["month", "kind", column]
        for key, group in frame.groupby(keys, sort=True):
            month, kind = key[0], key[1]
            if column is not None and key[2] == "":
                continue  # responses without that attribute count under "all" only
            measured = MEASURES[kind](group["score"].to_numpy())
            rows.append(
                {
                    "month": month.date(),
                    "kind": kind,
                    "dimension": dimension,
                    "key": "" if column is None else key[2],
                    **{k: measured.get(k) for k in _FIGURES},
                    "mean": measured.get("mean"),
                }
            )
    return rows


@transaction.atomic
def satisfaction_recompute() -> int:
    """Replace the current organization's stored satisfaction metrics; returns the rows."""
    organization_lock("metrics.satisfaction.satisfaction_recompute")
    rows = compute(responses_frame())
    SatisfactionMetrics.objects.all().delete()
    SatisfactionMetrics.objects.bulk_create(SatisfactionMetrics(**row) for row in rows)
    return len(rows)
