"""Revenue metrics against hand-computed cases and the MRR identity (docs/metrics.md)."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.cohorts import cohorts
from metrics.revenue import month_of, mrr_matrix, simple_clv
from metrics.services import compute
from tests.factories import subscriptions_frame_of

TODAY = date(2026, 11, 24)


def frame(*subscriptions):
    """(account, amount in cents per interval, interval, started_on, ended_on or None)."""
    return subscriptions_frame_of(subscriptions)


def by_month(subscriptions, today=TODAY):
    months = compute(subscriptions, today=today, with_cohorts=False).months
    months.index = [str(np.datetime64(int(m), "M")) for m in months.index]
    return months


def row(months, label, *columns):
    return tuple(months.loc[label, c].item() for c in columns)


MOVES = ("mrr", "new", "expansion", "contraction", "churn", "reactivation")


def test_it_counts_a_new_customer_in_the_month_it_first_has_mrr_at_month_end():
    months = by_month(frame((1, 10_000, "month", date(2026, 1, 10), None)))
    assert row(months, "2026-01", *MOVES, "new_customers") == (10_000, 10_000, 0, 0, 0, 0, 1)
    assert row(months, "2026-02", *MOVES, "new_customers") == (10_000, 0, 0, 0, 0, 0, 0)


def test_it_counts_a_same_day_upgrade_as_expansion_only():
    months = by_month(
        frame(
            (1, 10_000, "month", date(2026, 1, 10), date(2026, 3, 15)),
            (1, 15_000, "month", date(2026, 3, 15), None),
        )
    )
    assert row(months, "2026-02", *MOVES) == (10_000, 0, 0, 0, 0, 0)
    assert row(months, "2026-03", *MOVES, "expansion_customers") == (15_000, 0, 5_000, 0, 0, 0, 1)


def test_it_counts_a_downgrade_as_contraction():
    months = by_month(
        frame(
            (1, 20_000, "month", date(2026, 1, 1), date(2026, 3, 1)),
            (1, 12_000, "month", date(2026, 3, 1), None),
        )
    )
    assert row(months, "2026-03", *MOVES, "contraction_customers") == (12_000, 0, 0, 8_000, 0, 0, 1)


def test_it_counts_a_downgrade_to_a_free_plan_as_churn():
    months = by_month(
        frame(
            (1, 20_000, "month", date(2026, 1, 1), date(2026, 2, 20)),
            (1, 0, "month", date(2026, 2, 20), None),
        )
    )
    assert row(months, "2026-02", *MOVES, "churned_customers", "customers") == (
        0,
        0,
        0,
        0,
        20_000,
        0,
        1,
        0,
    )


def test_it_counts_a_return_after_a_gap_as_reactivation_not_new():
    months = by_month(
        frame(
            (1, 5_000, "month", date(2026, 1, 1), date(2026, 2, 1)),
            (1, 5_000, "month", date(2026, 4, 3), None),
        )
    )
    assert row(months, "2026-01", "new", "mrr") == (5_000, 5_000)
    assert row(months, "2026-02", "churn", "mrr", "churned_customers") == (5_000, 0, 1)
    assert row(months, "2026-03", *MOVES) == (0, 0, 0, 0, 0, 0)
    assert row(months, "2026-04", "reactivation", "new", "reactivated_customers") == (5_000, 0, 1)


def test_it_normalizes_annual_and_quarterly_plans_to_a_month():
    months = by_month(
        frame(
            (1, 120_000, "year", date(2026, 1, 15), None),
            (2, 30_000, "quarter", date(2026, 1, 20), None),
            (3, 10_001, "year", date(2026, 1, 20), None),  # 833.4166… rounds to 833
        )
    )
    assert row(months, "2026-01", "mrr", "arr", "customers") == (20_833, 12 * 20_833, 3)
    assert row(months, "2026-06", "mrr", "new") == (20_833, 0)


def test_it_never_counts_an_account_that_joins_and_leaves_inside_one_month():
    months = by_month(
        frame(
            (1, 10_000, "month", date(2026, 1, 5), None),
            (2, 90_000, "month", date(2026, 2, 3), date(2026, 2, 25)),
        )
    )
    assert row(months, "2026-02", *MOVES, "new_customers", "churned_customers") == (
        10_000,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    )


def test_it_counts_a_subscription_ending_on_the_last_day_as_gone_at_that_month_end():
    # ended_on is the first day no longer served: ending on the 31st leaves the 31st unserved.
    months = by_month(frame((1, 10_000, "month", date(2026, 1, 5), date(2026, 3, 31))))
    assert row(months, "2026-02", "mrr") == (10_000,)
    assert row(months, "2026-03", "mrr", "churn") == (0, 10_000)


def chartmogul():
    """MRR 100 at the end of May: one account churns 10, one contracts 10, one expands 10."""
    return frame(
        (1, 4_000, "month", date(2026, 5, 1), None),
        (2, 1_000, "month", date(2026, 5, 1), date(2026, 6, 10)),
        (3, 2_000, "month", date(2026, 5, 1), date(2026, 6, 10)),
        (3, 1_000, "month", date(2026, 6, 10), None),
        (4, 3_000, "month", date(2026, 5, 1), date(2026, 6, 10)),
        (4, 4_000, "month", date(2026, 6, 10), None),
    )


def test_it_reproduces_the_chartmogul_churn_example():
    months = by_month(chartmogul())
    assert row(months, "2026-05", "mrr") == (10_000,)
    assert row(months, "2026-06", "churn", "contraction", "expansion") == (1_000, 1_000, 1_000)
    assert months.loc["2026-06", "gross_mrr_churn_rate"] == pytest.approx(0.20)
    assert months.loc["2026-06", "net_mrr_churn_rate"] == pytest.approx(0.10)
    assert months.loc["2026-06", "logo_churn_rate"] == pytest.approx(1 / 4)
    assert months.loc["2026-06", "quick_ratio"] == pytest.approx(1_000 / 2_000)
    assert months.loc["2026-06", "arpa"] == pytest.approx(9_000 / 3)
    assert months.loc["2026-06", "expansion_rate"] == pytest.approx(0.10)


def test_it_leaves_rates_null_where_they_are_undefined():
    months = by_month(frame((1, 10_000, "month", date(2026, 1, 10), None)))
    first = months.loc["2026-01"]
    assert np.isnan(first["logo_churn_rate"])  # no customers before
    assert np.isnan(first["gross_mrr_churn_rate"])
    assert np.isnan(months.loc["2026-02", "quick_ratio"])  # nothing lost
    assert np.isnan(months.loc["2026-02", "nrr"])  # no year of history


def test_it_computes_trailing_twelve_month_nrr_and_grr_over_last_years_customers():
    months = by_month(
        frame(
            (1, 10_000, "month", date(2025, 1, 1), date(2025, 8, 1)),
            (1, 15_000, "month", date(2025, 8, 1), None),  # expanded
            (2, 10_000, "month", date(2025, 1, 1), date(2025, 9, 1)),
            (2, 5_000, "month", date(2025, 9, 1), None),  # contracted
            (3, 10_000, "month", date(2025, 1, 1), date(2025, 6, 1)),  # churned
            (4, 50_000, "month", date(2025, 6, 1), None),  # joined later: not in the base
        )
    )
    assert months.loc["2026-01", "nrr"] == pytest.approx((15_000 + 5_000 + 0) / 30_000)
    assert months.loc["2026-01", "grr"] == pytest.approx((10_000 + 5_000 + 0) / 30_000)


def test_it_counts_renewals_by_count_and_by_mrr_on_anniversaries():
    months = by_month(
        frame(
            # Annual, not renewed: ends on its anniversary.
            (1, 120_000, "year", date(2025, 3, 10), date(2026, 3, 10)),
            # Annual, renewed as an upgrade on the anniversary.
            (2, 240_000, "year", date(2025, 3, 5), date(2026, 3, 5)),
            (2, 360_000, "year", date(2026, 3, 5), None),
            # Monthly from the 31st: due on the last day of shorter months.
            (3, 3_000, "month", date(2026, 1, 31), date(2026, 4, 15)),
        ),
        today=date(2026, 5, 20),
    )
    # March: the two annuals (10,000 and 20,000 MRR) and the monthly's 31 March.
    assert row(months, "2026-03", "renewals_due", "renewals_renewed") == (3, 2)
    assert row(months, "2026-03", "renewals_due_mrr", "renewals_renewed_mrr") == (
        10_000 + 20_000 + 3_000,
        20_000 + 3_000,
    )
    assert months.loc["2026-03", "renewal_rate"] == pytest.approx(2 / 3)
    assert row(months, "2026-02", "renewals_due", "renewals_renewed") == (1, 1)  # 28 Feb
    # April: the 30th is after the monthly ended (the 15th): nothing was due.
    assert row(months, "2026-04", "renewals_due") == (0,)
    assert np.isnan(months.loc["2026-04", "renewal_rate"])


def test_it_computes_simple_clv_from_arpa_margin_and_the_six_prior_months_churn():
    revenue = pd.DataFrame(
        {
            "arpa": [100.0] * 8,
            "logo_churn_rate": [np.nan, 0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.05],
        }
    )
    clv = simple_clv(revenue, gross_margin=0.8)
    assert clv.iloc[7] == pytest.approx(100 * 0.8 / 0.15)  # months 1..6
    assert clv.iloc[2] == pytest.approx(100 * 0.8 / 0.1)  # only month 1 before it
    assert np.isnan(clv.iloc[1])  # no defined churn before


def test_it_leaves_simple_clv_null_when_nobody_churned():
    revenue = pd.DataFrame({"arpa": [100.0] * 3, "logo_churn_rate": [np.nan, 0.0, 0.0]})
    assert simple_clv(revenue, gross_margin=1.0).isna().all()


def test_it_groups_cohorts_by_first_customer_month_or_year_for_annual_contracts():
    subscriptions = frame(
        (1, 1_000, "month", date(2026, 1, 3), None),
        (2, 1_000, "month", date(2026, 1, 9), date(2026, 3, 2)),  # gone at the end of March
        (3, 2_000, "month", date(2026, 1, 20), date(2026, 2, 10)),  # gone by end of February
        (3, 2_000, "month", date(2026, 5, 1), None),  # back in May
        (4, 12_000, "year", date(2025, 4, 1), None),
        (5, 24_000, "year", date(2025, 9, 1), date(2026, 9, 1)),
    )
    today = date(2026, 7, 15)
    matrix = mrr_matrix(subscriptions, through=int(month_of(today)))
    found = {
        (c.interval, c.label): c
        for c in cohorts(
            matrix,
            subscriptions,
            last_complete_month=int(month_of(today)) - 1,
            gross_margin=1.0,
            annual_discount_rate=0.1,
        )
    }
    january = found[("month", "2026-01")]
    assert (january.size, january.starting_mrr) == (3, 4_000)
    # Jan..Jun: 3 at the start, 2 at the end of Feb, 1 from March on (never churned).
    assert january.survivors == [3, 2, 1, 1, 1, 1]
    # Logo retention counts account 3 again once it is back (May).
    assert january.logo_retention == pytest.approx([1, 2 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert january.revenue_retention[-1] == pytest.approx(3_000 / 4_000)
    assert january.fit is not None
    annual = found[("year", "2025")]
    # Account 5 joined in September: the cohort is observed until the latest member's first
    # anniversary has passed — September 2026 is not complete yet, so one period only.
    assert (annual.size, annual.survivors) == (2, [2])
    assert annual.fit is None
    assert "at least 3" in annual.fit_note


def test_it_leaves_an_infinite_projected_clv_null_without_discounting():
    accounts = [(a, 1_000, "month", date(2026, 1, 5), None) for a in range(10, 30)]
    gone_early = [(a, 1_000, "month", date(2026, 1, 5), date(2026, 2, 10)) for a in range(5)]
    gone_later = [(a, 1_000, "month", date(2026, 1, 5), date(2026, 5, 10)) for a in range(5, 10)]
    subscriptions = frame(*accounts, *gone_early, *gone_later)
    undiscounted = compute(subscriptions, today=TODAY, annual_discount_rate=0.0).cohorts[0]
    assert undiscounted.survivors[:5] == [30, 25, 25, 25, 20]
    assert undiscounted.fit is not None
    assert undiscounted.fit.alpha <= 1
    assert undiscounted.clv is None
    discounted = compute(subscriptions, today=TODAY, annual_discount_rate=0.1).cohorts[0]
    assert discounted.clv is not None
    assert np.isfinite(discounted.clv)


def test_it_has_no_months_while_every_subscription_starts_in_the_future():
    months = compute(frame((1, 1_000, "month", date(2027, 1, 1), None)), today=TODAY).months
    assert months.empty


# --- the identity, over random histories ------------------------------------------------

day = st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 11, 24))
subscription = st.tuples(
    st.integers(1, 6),
    st.sampled_from([0, 999, 5_000, 12_345, 120_000]),
    st.sampled_from(["month", "quarter", "year"]),
    day,
    st.one_of(st.none(), st.integers(0, 500)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(subscription, min_size=1, max_size=25))
def test_it_keeps_the_mrr_identity_every_month_of_any_history(drawn):
    subscriptions = frame(
        *[
            (a, amount, interval, start, None if length is None else start + timedelta(length))
            for a, amount, interval, start, length in drawn
        ]
    )
    months = compute(subscriptions, today=TODAY, with_cohorts=False).months
    previous = months["mrr"].shift(1, fill_value=0)
    rebuilt = (
        previous
        + months["new"]
        + months["reactivation"]
        + months["expansion"]
        - months["contraction"]
        - months["churn"]
    )
    assert (rebuilt == months["mrr"]).all()
    for column in ("new", "expansion", "contraction", "churn", "reactivation"):
        assert (months[column] >= 0).all()
    customers_before = months["customers"].shift(1, fill_value=0)
    assert (
        customers_before
        + months["new_customers"]
        + months["reactivated_customers"]
        - months["churned_customers"]
        == months["customers"]
    ).all()
