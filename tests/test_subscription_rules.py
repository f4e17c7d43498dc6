"""A subscription's MRR and its next renewal have one definition each (docs/metrics.md):
the generated columns Subscription.mrr_cents and interval_months, and the SQL function
csp_next_renewal. The vectorized paths (metrics.revenue over whole frames) must agree
with them on any subscriptions, and both with METRICS.md written out by hand here."""

import calendar
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Subscription
from csplatform.tenancy import tenant_context
from metrics import revenue
from metrics.health.inputs import customers_on
from metrics.portfolio_selectors import account_portfolio, subscription_next_renewal
from metrics.services import subscriptions_frame
from tests.factories import (
    MONTHS,
    AccountFactory,
    OrganizationFactory,
    SubscriptionFactory,
    monthly_cents,
)

pytestmark = pytest.mark.django_db

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _add_months(day, months):
    """METRICS.md's anniversary, by hand: the same day `months` later, or that month's
    last day when it has fewer."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _next_renewal(started_on, ended_on, interval, mrr, on_day):
    """The next renewal by hand: a paying quarterly or yearly subscription active on the
    day renews on the first anniversary after it, or ends sooner; else none."""
    active = started_on <= on_day and (ended_on is None or ended_on > on_day)
    if MONTHS[interval] == 1 or mrr <= 0 or not active:
        return None
    k = 1
    while _add_months(started_on, k * MONTHS[interval]) <= on_day:
        k += 1
    anniversary = _add_months(started_on, k * MONTHS[interval])
    return anniversary if ended_on is None else min(anniversary, ended_on)


@st.composite
def start_days(draw):
    """Any day, the 29th-31st (and 29 February) often."""
    year, month = draw(st.integers(2023, 2026)), draw(st.integers(1, 12))
    day = draw(st.sampled_from([1, 15, 28, 29, 30, 31]) | st.integers(1, 31))
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


amounts = st.sampled_from([0, 1, 5, 6, 18, 30, 120_006]) | st.integers(0, 10**12)
subscription = st.tuples(
    st.integers(0, 2),  # the account
    amounts,
    st.sampled_from(list(MONTHS)),
    start_days(),
    st.none() | st.integers(0, 800),  # cancelled that many days after its start
)


@st.composite
def days_to_look_at(draw, subscriptions):
    """A random day, or one on, just before or just after an anniversary or an end."""
    _account, _amount, interval, started_on, ends = draw(st.sampled_from(subscriptions))
    near = _add_months(started_on, draw(st.integers(0, 8)) * MONTHS[interval])
    if ends is not None and draw(st.booleans()):
        near = started_on + timedelta(days=ends)
    return draw(
        st.just(near + timedelta(days=draw(st.integers(-1, 1))))
        | st.dates(date(2023, 1, 1), date(2028, 12, 31))
    )


def _store(rows):
    """Save the rows in a new organization; return it and the subscriptions as saved."""
    organization = OrganizationFactory()
    with tenant_context(organization):
        accounts = [AccountFactory() for _ in range(3)]
        for account, amount, interval, started_on, ends in rows:
            SubscriptionFactory(
                account=accounts[account],
                amount_cents=amount,
                billing_interval=interval,
                started_on=started_on,
                ended_on=None if ends is None else started_on + timedelta(days=ends),
            )
    return organization


def _days(values):
    nat = np.datetime64("NaT", "D")
    return np.array([nat if v is None else v for v in values], "datetime64[D]")


@PROPERTY
@given(st.lists(st.tuples(amounts, st.sampled_from(list(MONTHS))), min_size=1, max_size=12))
def test_it_stores_each_subscriptions_mrr_as_metrics_md_rounds_it(priced):
    organization = _store(
        [(0, amount, interval, date(2025, 1, 31), None) for amount, interval in priced]
    )
    with tenant_context(organization):
        stored = list(
            Subscription.objects.order_by("pk").values_list("mrr_cents", "interval_months")
        )
    assert stored == [
        (monthly_cents(amount, interval), MONTHS[interval]) for amount, interval in priced
    ]


def test_it_rounds_a_half_cent_to_even():
    organization = _store(
        [(0, amount, "year", date(2025, 1, 1), None) for amount in (6, 18, 30, 1_200_006)]
        + [(0, 2, "quarter", date(2025, 1, 1), None), (0, 1, "quarter", date(2025, 1, 1), None)]
    )
    with tenant_context(organization):
        stored = list(Subscription.objects.order_by("pk").values_list("mrr_cents", flat=True))
    assert stored == [0, 2, 2, 100_000, 1, 0]  # 0.5, 1.5, 2.5, 100,000.5; ⅔, ⅓


@PROPERTY
@given(st.data(), st.lists(subscription, min_size=1, max_size=8))
def test_it_gives_each_subscription_the_same_next_renewal_in_sql_and_in_frames(data, rows):
    on_day = data.draw(days_to_look_at(rows))
    organization = _store(rows)
    with tenant_context(organization):
        saved = list(
            Subscription.objects.order_by("pk")
            .annotate(next_renewal=subscription_next_renewal(on_day))
            .values_list(
                "account_id",
                "mrr_cents",
                "interval_months",
                "started_on",
                "ended_on",
                "next_renewal",
                "billing_interval",
            )
        )
        portfolio = {
            a.pk: a.next_renewal_on for a in account_portfolio(today=on_day, health_day=None)
        }
        frame = subscriptions_frame()
    by_hand = [_next_renewal(s[3], s[4], s[6], s[1], on_day) for s in saved]
    assert [s[5] for s in saved] == by_hand  # the SQL function
    vectorized = revenue.next_renewal(
        pd.DataFrame(
            {
                "account_id": [s[0] for s in saved],
                "mrr_cents": [s[1] for s in saved],
                "interval_months": [s[2] for s in saved],
                "started_on": _days([s[3] for s in saved]),
                "ended_on": _days([s[4] for s in saved]),
            }
        ),
        on_day,
    )
    assert vectorized.tolist() == by_hand  # the frame path
    # Per account: the earliest, in the accounts list and in health's customers.
    earliest = {}
    for s, renewal in zip(saved, by_hand, strict=True):
        if renewal is not None:
            earliest[s[0]] = min(renewal, earliest.get(s[0], renewal))
    assert portfolio == {pk: earliest.get(pk) for pk in portfolio}
    customers = customers_on(frame, on_day)
    assert {
        int(r.account_id): None if pd.isna(r.next_renewal) else r.next_renewal.date()
        for r in customers.itertuples()
    } == {pk: earliest.get(pk) for pk in customers["account_id"].tolist()}


_MRR_AT_MONTH_ENDS = """
SELECT s.account_id, m.month_start::date AS month, sum(s.mrr_cents)
FROM accounts_subscription s
CROSS JOIN generate_series(%(first)s::date, %(last)s::date, interval '1 month') AS m(month_start)
CROSS JOIN LATERAL (SELECT (m.month_start + interval '1 month - 1 day')::date AS last_day) e
WHERE s.started_on <= e.last_day AND (s.ended_on IS NULL OR s.ended_on > e.last_day)
GROUP BY 1, 2
HAVING sum(s.mrr_cents) <> 0
"""


@PROPERTY
@given(
    st.lists(subscription, min_size=1, max_size=8), st.dates(date(2024, 1, 1), date(2028, 12, 31))
)
def test_it_gives_the_same_mrr_history_in_sql_and_in_frames(rows, today):
    organization = _store(rows)
    through = int(revenue.month_of(today))
    with tenant_context(organization):
        frame = subscriptions_frame()
        matrix = revenue.mrr_matrix(frame, through=through)
        with connection.cursor() as cursor:
            cursor.execute(
                _MRR_AT_MONTH_ENDS,
                {"first": date(2023, 1, 1), "last": revenue.month_start(through).item()},
            )
            in_sql = {
                (account, int(revenue.month_of(month))): int(mrr)
                for account, month, mrr in cursor.fetchall()
            }
        today_in_sql = {a.pk: a.mrr_cents for a in account_portfolio(today=today, health_day=None)}
    in_frames = {
        (int(account), int(month)): int(mrr)
        for row, account in enumerate(matrix.account_ids)
        for month, mrr in zip(matrix.months, matrix.mrr[row], strict=True)
        if mrr != 0
    }
    assert in_frames == in_sql
    customers = customers_on(frame, today)
    assert dict(zip(customers["account_id"].tolist(), customers["mrr"].tolist(), strict=True)) == {
        pk: mrr for pk, mrr in today_in_sql.items() if mrr > 0
    }
