"""NPS, CSAT and CES per month, overall and by touchpoint, segment and lifecycle stage,
with n and the 95 % margin of error (METRICS.md, Satisfaction; docs/metrics.md).

Whole-frame pandas over the organization's responses and its accounts' stage history
(two queries). An edited response counts once, with its latest score: a response is
one row however often it was edited. A response counts under the lifecycle stage its
account was in when it was given (journeys' StageTransition history), so a later move
rewrites no past month; under the account's current segment, which has no history.
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
from journeys.models import StageTransition
from metrics.models import SatisfactionMetrics
from surveys.models import Response

Z = 1.96  # 95 %
# Fewer answers than this and no margin is given, for NPS, CSAT and CES alike: each
# margin is a normal approximation (z = 1.96), which small samples do not support (one
# answer gave "± 0.0"; at 30 the t quantile is within 5 % of z). docs/metrics.md.
MARGIN_MIN_ANSWERS = 30
DIMENSIONS = ("touchpoint", "segment", "lifecycle_stage")


_FIGURES = ("n", "value", "margin", "high", "low")


def nps(scores: np.ndarray) -> dict[str, float | int | None]:
    """% promoters (9–10) − % detractors (0–6), −100…100, and its margin of error:
    1.96 · √((p_prom + p_det − (p_prom − p_det)²) ÷ n) × 100 (None below
    MARGIN_MIN_ANSWERS answers); `high`/`low` are the % promoters and % detractors."""
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
        "margin": Z * math.sqrt(max(variance, 0.0) / n) * 100 if n >= MARGIN_MIN_ANSWERS else None,
        "high": promoters * 100,
        "low": detractors * 100,
    }


def csat(scores: np.ndarray) -> dict[str, float | int | None]:
    """% of responses that are 4 or 5 (0…100), with the margin of a proportion
    (1.96 · √(p(1 − p) ÷ n) × 100; None below MARGIN_MIN_ANSWERS answers), and the
    mean score."""
    n = len(scores)
    if n == 0:
        return {"n": 0, "value": None, "margin": None, "high": None, "low": None, "mean": None}
    satisfied = float(np.mean(scores >= 4))
    return {
        "n": n,
        "value": satisfied * 100,
        "margin": (
            Z * math.sqrt(satisfied * (1 - satisfied) / n) * 100
            if n >= MARGIN_MIN_ANSWERS
            else None
        ),
        "high": satisfied * 100,
        "low": float(np.mean(scores <= 2)) * 100,
        "mean": float(np.mean(scores)),
    }


def ces(scores: np.ndarray) -> dict[str, float | int | None]:
    """The mean (1…7) with the margin 1.96 · s ÷ √n (s the sample standard deviation;
    None below MARGIN_MIN_ANSWERS answers), and % of responses 5–7."""
    n = len(scores)
    if n == 0:
        return {"n": 0, "value": None, "margin": None, "high": None, "low": None, "mean": None}
    mean = float(np.mean(scores))
    return {
        "n": n,
        "value": mean,
        "margin": (
            Z * float(np.std(scores, ddof=1)) / math.sqrt(n) if n >= MARGIN_MIN_ANSWERS else None
        ),
        "high": float(np.mean(scores >= 5)) * 100,
        "low": float(np.mean(scores <= 3)) * 100,
        "mean": mean,
    }


MEASURES = {"nps": nps, "csat": csat, "ces": ces}


def responses_frame() -> pd.DataFrame:
    """The current organization's responses: kind, score, month (organization's time
    zone), touchpoint, the account's current segment and the lifecycle stage it was in
    when it answered ("" for none)."""
    rows = list(
        Response.objects.values_list(
            "account_id",
            "kind",
            "score",
            "responded_at",
            "touchpoint",
            "account__segment",
            "account__lifecycle_stage",
        )
    )
    frame = pd.DataFrame(
        rows,
        columns=[
            "account_id", "kind", "score", "responded_at", "touchpoint", "segment", "current_stage"
        ],
    )  # fmt: skip
    if frame.empty:
        return frame.assign(
            month=pd.Series(dtype="datetime64[ns]"), lifecycle_stage=pd.Series(dtype=object)
        )
    frame["responded_at"] = pd.to_datetime(frame["responded_at"], utc=True)
    frame["lifecycle_stage"] = stage_at_response(frame, _transitions_frame())
    zone = ZoneInfo(current_organization().time_zone)
    local = frame["responded_at"].dt.tz_convert(zone)
    frame["month"] = local.dt.tz_localize(None).dt.to_period("M").dt.to_timestamp()
    for column in DIMENSIONS:
        frame[column] = frame[column].fillna("")
    return frame.drop(columns=["current_stage"])


def _transitions_frame() -> pd.DataFrame:
    """The current organization's stage history: account, instant, from and to stage."""
    rows = list(
        StageTransition.objects.values_list(
            "account_id", "changed_at", "id", "from_stage", "to_stage"
        )
    )
    frame = pd.DataFrame(rows, columns=["account_id", "changed_at", "id", "from_stage", "to_stage"])
    frame["changed_at"] = pd.to_datetime(frame["changed_at"], utc=True)
    return frame


def stage_at_response(responses: pd.DataFrame, transitions: pd.DataFrame) -> pd.Series:
    """Each response's lifecycle stage when it was given, aligned with `responses`: the
    `to_stage` of its account's latest transition at or before `responded_at` (the last
    recorded, for transitions at the same instant); before the account's first
    transition, that transition's `from_stage` ("" when the history starts with the
    account's creation); for an account without any history, its `current_stage`.

    `responses` has account_id, responded_at and current_stage; `transitions`
    account_id, changed_at, id, from_stage and to_stage (instants tz-aware).
    One as-of join per frame, no loop over accounts."""
    current = responses["current_stage"].fillna("").to_numpy(dtype=object)
    if transitions.empty:
        return pd.Series(current, index=responses.index, dtype=object)
    history = transitions.sort_values(["changed_at", "id"], kind="stable")
    # merge_asof wants both sides sorted on the instant, of one dtype: naive UTC, in ns.
    left = pd.DataFrame(
        {
            "account_id": responses["account_id"].to_numpy(dtype=np.int64),
            "at": _utc_ns(responses["responded_at"]),
            "position": np.arange(len(responses)),
        }
    ).sort_values("at", kind="stable")
    right = pd.DataFrame(
        {
            "account_id": history["account_id"].to_numpy(dtype=np.int64),
            "at": _utc_ns(history["changed_at"]),
            "to_stage": history["to_stage"].to_numpy(dtype=object),
        }
    )
    joined = pd.merge_asof(left, right, on="at", by="account_id", direction="backward")
    stage = joined.set_index("position")["to_stage"].sort_index().to_numpy(dtype=object)
    before_first = history.groupby("account_id", sort=False)["from_stage"].first()
    first_from = (
        pd.Series(responses["account_id"].to_numpy()).map(before_first).to_numpy(dtype=object)
    )
    stage = np.where(pd.isna(stage), first_from, stage)
    stage = np.where(pd.isna(stage), current, stage)
    return pd.Series(stage, index=responses.index, dtype=object)


def _utc_ns(instants: pd.Series) -> np.ndarray:
    """Timezone-aware instants as naive UTC datetime64[ns]."""
    utc = pd.to_datetime(instants, utc=True).dt.tz_localize(None)
    return utc.to_numpy(dtype="datetime64[ns]")


def compute(frame: pd.DataFrame) -> list[dict[str, object]]:
    """One row per month, kind, dimension ("all" or one of DIMENSIONS) and its value."""
    rows: list[dict[str, object]] = []
    if frame.empty:
        return rows
    groupings: list[tuple[str, str | None]] = [("all", None), *((d, d) for d in DIMENSIONS)]
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
