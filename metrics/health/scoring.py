"""The computation: whole-frame pandas, pure (no database), and what the tests check
against hand-computed tables. From an as-of day's inputs (metrics.health.inputs) and
the health model (metrics.health.model): each component (`health_components`), the
score, band and contributions (`health_scores`), the triad flags (`triad_flags`);
and time to value per customer and per monthly cohort."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from metrics import revenue
from metrics.health.inputs import Inputs
from metrics.health.model import COMPONENTS, Model, adoption_threshold
from metrics.models import HealthComponent
from surveys.models import SurveyKind

RENEWAL_HORIZON_DAYS = 90  # a renewal this far away or further scores 100
NEGATIVE_TOUCHPOINT_POINTS = 25  # support load loses this much per negative touchpoint
# Revenue trend: 75 when flat, +125 points per 100 % change (±20 % → 100 / 50), 0…100.
TREND_FLAT, TREND_SLOPE = 75.0, 125.0
# The triad: happy (satisfaction ≥ 70), engaged (engagement ≥ 60), unengaged (< 40),
# results (outcomes ≥ 50: half the milestones reached).
HAPPY_FROM, ENGAGED_FROM, UNENGAGED_BELOW, RESULTS_FROM = 70.0, 60.0, 40.0, 50.0
FLAG_HAPPY_UNENGAGED = "happy_unengaged"
FLAG_ENGAGED_NO_RESULTS = "engaged_no_results"


def satisfaction_points(kind: np.ndarray, score: np.ndarray) -> np.ndarray:
    """A survey answer on 0–100: NPS × 10, CSAT (1–5) and CES (1–7) scaled from their
    lowest (0) to their highest (100)."""
    score = score.astype(float)
    return np.select(
        [kind == SurveyKind.NPS, kind == SurveyKind.CSAT, kind == SurveyKind.CES],
        [score * 10, (score - 1) / 4 * 100, (score - 1) / 6 * 100],
        default=np.nan,
    )


def percentile(values: pd.Series) -> pd.Series:
    """Each value's percentile among `values` (0–100): the share below plus half the
    share equal (mid-rank); 0 for a zero (no activity is no engagement)."""
    n = len(values)
    if n == 0:
        return values.astype(float)
    below = values.rank(method="min") - 1
    equal = values.map(values.value_counts())
    result = (below + equal / 2) / n * 100
    return result.where(values > 0, 0.0)


def _weighted(parts: pd.DataFrame, weights: Mapping[str, float]) -> tuple[pd.Series, pd.DataFrame]:
    """Σ wᵢ·xᵢ ÷ Σ wᵢ over the parts present (not NaN) in each row, and each part's
    contribution (wᵢ·xᵢ ÷ Σ wᵢ present). NaN where no weighted part is present."""
    w = pd.Series({c: float(weights.get(c, 0)) for c in parts.columns})
    present = parts.notna() & (w > 0)
    total = present.mul(w, axis=1).sum(axis=1)
    share = present.mul(w, axis=1).div(total.where(total > 0), axis=0)
    contributions = parts.fillna(0).mul(share)
    contributions = contributions.where(present)
    return contributions.sum(axis=1, min_count=1), contributions


def health_components(inputs: Inputs, model: Model) -> pd.DataFrame:
    """One row per customer (indexed by account_id): each component on 0–100 (NaN: no
    data), the engagement inputs, and the renormalized engagement score."""
    frame = inputs.customers.set_index("account_id")
    usage = inputs.usage.set_index("account_id").reindex(frame.index).fillna(0)
    for column in ("active_days", "features_used", "core_features_used", "active_contacts"):
        frame[column] = usage[column].astype(int) if column in usage else 0
    frame["contacts"] = usage["contacts"].astype(int) if "contacts" in usage else 0

    depth = (frame["active_contacts"] / frame["contacts"].where(frame["contacts"] > 0)).clip(
        upper=1
    )
    parts = pd.DataFrame(
        {
            "frequency": percentile(frame["active_days"]),
            "breadth": percentile(frame["features_used"]),
            # ranked among the customers that have contacts: no data neither helps nor hurts
            "depth": percentile(depth.dropna()).reindex(frame.index),
        },
        index=frame.index,
    )
    engagement, _parts = _weighted(parts, model.engagement_weights)
    frame[HealthComponent.ENGAGEMENT] = engagement

    if inputs.core_features:
        threshold = adoption_threshold(model, inputs.core_features)
        frame[HealthComponent.ADOPTION] = (frame["core_features_used"] / threshold).clip(
            upper=1
        ) * 100
    else:
        frame[HealthComponent.ADOPTION] = np.nan

    answers = inputs.satisfaction.set_index("account_id").reindex(frame.index)
    frame[HealthComponent.SATISFACTION] = satisfaction_points(
        answers["kind"].to_numpy(dtype=object), answers["score"].to_numpy(dtype=float)
    )

    before = frame["mrr_before"].where(frame["mrr_before"] > 0)
    change = (frame["mrr"] - before) / before
    frame[HealthComponent.REVENUE_TREND] = (TREND_FLAT + TREND_SLOPE * change).clip(0, 100)

    if inputs.touchpoints_recorded:
        negatives = (
            inputs.negatives.set_index("account_id")["negatives"].reindex(frame.index).fillna(0)
        )
        frame[HealthComponent.SUPPORT_LOAD] = (100 - NEGATIVE_TOUCHPOINT_POINTS * negatives).clip(
            lower=0
        )
    else:
        frame[HealthComponent.SUPPORT_LOAD] = np.nan

    if inputs.milestones:
        reached = (
            inputs.milestones_reached.set_index("account_id")["reached"]
            .reindex(frame.index)
            .fillna(0)
        )
        frame[HealthComponent.OUTCOMES] = reached / inputs.milestones * 100
    else:
        frame[HealthComponent.OUTCOMES] = np.nan

    days_left = (
        frame["next_renewal"].to_numpy(dtype="datetime64[D]") - np.datetime64(inputs.as_of, "D")
    ).astype("timedelta64[D]")
    days = pd.Series(days_left.astype(float), index=frame.index)
    days[np.isnat(days_left)] = np.nan
    frame[HealthComponent.RENEWAL_PROXIMITY] = (days / RENEWAL_HORIZON_DAYS).clip(upper=1) * 100
    return frame


def health_scores(components: pd.DataFrame, model: Model) -> pd.DataFrame:
    """The score (0–100) of each row with its band and each component's contribution
    (`<component>_points`, summing to the score), weights renormalized over the
    components the row has. Rows with no weighted component are dropped."""
    score, contributions = _weighted(components[COMPONENTS], model.weights)
    result = components.copy()
    result["score"] = score
    for component in COMPONENTS:
        result[f"{component}_points"] = contributions[component]
    result = result[result["score"].notna()]
    result["band"] = model.band(result["score"].to_numpy())
    return result


def triad_flags(components: pd.DataFrame) -> pd.DataFrame:
    """The triad (engagement → results → happiness) flags of each row, as booleans:
    `happy_unengaged`, happy without engagement or results ("may leave smiling");
    `engaged_no_results`, engaged without results ("churn ahead"). Without
    milestones, results are unknown and flag nothing."""
    happy = components[HealthComponent.SATISFACTION] >= HAPPY_FROM
    engagement = components[HealthComponent.ENGAGEMENT]
    no_results = components[HealthComponent.OUTCOMES] < RESULTS_FROM  # False where unknown
    return pd.DataFrame(
        {
            FLAG_HAPPY_UNENGAGED: happy & ((engagement < UNENGAGED_BELOW) | no_results),
            FLAG_ENGAGED_NO_RESULTS: (engagement >= ENGAGED_FROM) & no_results,
        },
        index=components.index,
    )


def time_to_value(subscriptions: pd.DataFrame, first_value: pd.DataFrame) -> pd.DataFrame:
    """Per customer (anyone who ever paid): the first day as a customer (`start`), its
    month (`cohort`, months since 1970-01), and the days to its first value milestone
    (`days`: NaN while waiting; a milestone reached before paying counts as 0)."""
    paying = subscriptions[revenue.subscription_mrr(subscriptions) > 0]
    starts = paying.groupby("account_id")["started_on"].min().rename("start").to_frame()
    starts["cohort"] = revenue.month_of(starts["start"].to_numpy(dtype="datetime64[D]"))
    value = first_value.set_index("account_id")["day"].reindex(starts.index)
    value_days = pd.to_datetime(value).to_numpy(dtype="datetime64[D]")
    delta = (value_days - starts["start"].to_numpy(dtype="datetime64[D]")).astype("timedelta64[D]")
    days = delta.astype(float)
    days[np.isnat(delta)] = np.nan
    starts["days"] = np.maximum(days, 0)
    return starts


def time_to_value_cohorts(per_customer: pd.DataFrame) -> pd.DataFrame:
    """Per monthly cohort: customers, those that reached value, the median days to
    value of those, and the share still waiting."""
    grouped = per_customer.groupby("cohort")["days"]
    cohorts = pd.DataFrame(
        {
            "customers": grouped.size(),
            "reached": grouped.count(),
            "median_days": grouped.median(),
        }
    )
    cohorts["waiting_share"] = 1 - cohorts["reached"] / cohorts["customers"]
    return cohorts


# --- what moved a score -----------------------------------------------------------------

# The kinds of part a score's change is split into (score_change).
MOVED_VALUE = "value"  # a component's value changed
MOVED_MEASURED = "measured"  # a component has data now and had none before
MOVED_UNMEASURED = "unmeasured"  # a component had data before and has none now
MOVED_WEIGHTS = "weights"  # the model's weights changed (a component weighted or not)


def _shares(values: Mapping[str, float | None], points: Mapping[str, float]) -> dict[str, float]:
    """Each scored component's share of the score (its renormalized weight) as stored:
    points ÷ value; a component scored at 0 takes an equal part of what is left."""
    present = [c for c in points if values.get(c) is not None]
    shares = {c: points[c] / values[c] for c in present if values[c]}  # type: ignore[operator]
    zeros = [c for c in present if c not in shares]
    rest = max(1.0 - sum(shares.values()), 0.0)
    shares |= {c: rest / len(zeros) for c in zeros}
    return shares


def _score(state: Mapping[str, tuple[float, float]]) -> float | None:
    """Σ share·value ÷ Σ share over `state` ({component: (share, value)}); None if empty."""
    total = sum(share for share, _value in state.values())
    if total <= 0:
        return None
    return sum(share * value for share, value in state.values()) / total


def score_change(
    *,
    values_before: Mapping[str, float | None],
    points_before: Mapping[str, float],
    values_now: Mapping[str, float | None],
    points_now: Mapping[str, float],
) -> list[tuple[str, str | None, float]]:
    """Why a score moved between two snapshots, as parts (kind, component, points) that
    add up to the change (docs/metrics.md, "What moved the score").

    A sequence of scores, each step changing one thing: components that lost their
    data leave (under the old weights, `unmeasured`); the weights become the new ones
    over the components measured both times (`weights`: this includes a component
    weighted or no longer weighted); components with data for the first time join
    (`measured`); then each component's value goes from the old to the new one, which
    moves the score by its new share × the change (`value`). A component whose value
    did not change gets 0. Where a step would leave no component to score, its change
    is shared equally with the step that scores again. `values_*`: 0–100 or None (no
    data); `points_*`: what each scored component added (stored contributions)."""
    before = _shares(values_before, points_before)
    now = _shares(values_now, points_now)
    old = {c: float(v) for c, v in values_before.items() if v is not None}
    new = {c: float(v) for c, v in values_now.items() if v is not None}
    unmeasured = [c for c in before if c not in new]
    measured = [c for c in now if c not in old]
    common = [c for c in now if c in old]

    state = {c: (before[c], old[c]) for c in before}
    last = _score(state)
    parts: list[tuple[str, str | None, float]] = []
    pending: list[tuple[str, str | None]] = []

    def step(kind: str, component: str | None) -> None:
        nonlocal last
        pending.append((kind, component))
        score = _score(state)
        if score is None:  # nothing left to score: known with the next step that scores
            return
        if last is not None:
            moved = (score - last) / len(pending)
            parts.extend((k, c, moved) for k, c in pending)
        pending.clear()
        last = score

    for component in unmeasured:
        del state[component]
        step(MOVED_UNMEASURED, component)
    if state or common:  # else the weights have nothing to act on
        state = {c: (now[c], old[c]) for c in common}
        step(MOVED_WEIGHTS, None)
    for component in measured:
        state[component] = (now[component], new[component])
        step(MOVED_MEASURED, component)
    for component in common:
        parts.append((MOVED_VALUE, component, now[component] * (new[component] - old[component])))
    return parts
