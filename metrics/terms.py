"""The current month's metrics kept as per-account terms, so that a change to a few
accounts updates the month from those accounts alone.

Every column of a month (metrics.revenue.monthly_revenue) is a sum over accounts of
a function of four numbers per account: its MRR at the month's end, a month before
and twelve months before, and whether it had been a customer before. Renewals are
a sum over renewal dates. A run that reads the whole history stores those terms
for the current month, with the sums the month's rates divide by
(`terms_replace`; MonthTerms, one row per organization). When the subscriptions
of a known few accounts change within the current month,
`month_recompute_for_accounts` derives just their terms anew from their
subscriptions and moves the month's sums by the difference between their new
terms and their stored ones, in one statement (prepared on the connection:
planning it costs as much as running it). Months before are untouched by such a
change, and the cohorts read complete months only.

The SQL restates the definitions of metrics.revenue; tests/test_metrics_terms.py
checks, on random histories and changes, that both give the same month.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

from accounts.tenancy import current_organization
from csplatform.db import array_literal
from metrics import revenue

DAYS = 31  # the renewals by day of the month: element d − 1 holds day d


class _PreparingCursor(psycopg.Cursor[Any]):
    """Binds parameters on the server and prepares what it runs, unless the connection
    keeps no prepared statements (settings: DB_PREPARED_STATEMENTS). Django's own
    cursors bind on the client and are never prepared."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("prepare", True)
        return super().execute(query, params, **kwargs)


@contextmanager
def _prepared_cursor() -> Iterator[CursorWrapper]:
    """A _PreparingCursor wrapped as Django wraps its own (errors, query logging)."""
    connection.ensure_connection()
    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    with wrapper(_PreparingCursor(connection.connection), connection) as cursor:
        yield cursor


_TERM_COLUMNS = ("account_ids", "mrr", "previous_mrr", "base_mrr", "was_customer")
_DATE_COLUMNS = ("renewal_account_ids", "renewal_on", "renewal_mrr", "renewal_renewed")


def terms_replace(month: date, terms: dict[str, np.ndarray], dates: pd.DataFrame) -> None:
    """Store `month`'s terms (metrics.revenue.account_terms) and renewal dates, computed
    from the whole history."""
    c, p, b = terms["mrr"], terms["previous_mrr"], terms["base_mrr"]
    on = dates["on"].to_numpy(dtype="datetime64[D]")
    day = (on - np.datetime64(month, "D")).astype(np.int64)  # 0: the 1st
    renewed = dates["renewed"].to_numpy(dtype=bool)
    renewal_mrr = dates["mrr"].to_numpy(dtype=np.int64)
    arrays = {
        "account_ids": ("bigint", terms["account_id"]),
        "mrr": ("bigint", c),
        "previous_mrr": ("bigint", p),
        "base_mrr": ("bigint", b),
        "was_customer": ("boolean", terms["was_customer"]),
        "renewal_account_ids": ("bigint", dates["account_id"].to_numpy()),
        "renewal_on": ("date", on),
        "renewal_mrr": ("bigint", renewal_mrr),
        "renewal_renewed": ("boolean", renewed),
        "due_by_day": ("int", np.bincount(day, minlength=DAYS)),
        "renewed_by_day": ("int", np.bincount(day, weights=renewed, minlength=DAYS)),
        "due_mrr_by_day": ("bigint", np.bincount(day, weights=renewal_mrr, minlength=DAYS)),
        "renewed_mrr_by_day": (
            "bigint",
            np.bincount(day, weights=renewal_mrr * renewed, minlength=DAYS),
        ),
    }
    sums = {
        "sum_previous_mrr": int(p.sum()),
        "previous_customers": int((p > 0).sum()),
        "sum_base_mrr": int(b.sum()),
        "sum_retained_mrr": int(c[b > 0].sum()),
        "sum_kept_mrr": int(np.minimum(b, c)[b > 0].sum()),
    }
    emptied = [f"changed_{k}" for k in (*_TERM_COLUMNS, *_DATE_COLUMNS)]
    columns = ["month", *arrays, *sums, *emptied]
    holders = [
        "%(month)s",
        *(f"%({k})s::{kind}[]" for k, (kind, _v) in arrays.items()),
        *(f"%({k})s" for k in sums),
        *("'{}'" for _ in emptied),
    ]
    sql = (
        f"INSERT INTO metrics_monthterms (organization_id, {', '.join(columns)}) "  # noqa: S608 (constants) # nosec B608
        f"VALUES (%(organization)s, {', '.join(holders)}) ON CONFLICT (organization_id) DO "
        f"UPDATE SET {', '.join(f'{k} = EXCLUDED.{k}' for k in columns)}"
    )
    params: dict[str, Any] = {
        "organization": current_organization().pk,
        "month": month,
        # Whole numbers: the counts by day come out of bincount as floats.
        **{
            k: array_literal(v if kind in ("boolean", "date") else v.astype(np.int64))
            for k, (kind, v) in arrays.items()
        },
        **sums,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _active_at(month: str) -> str:
    """SQL: the subscription counts at the end of `month` (a parameter of the first day)."""
    return f"start_month <= {month} AND (end_month IS NULL OR end_month > {month})"


_MONTH_FROM_ACCOUNTS = f"""
WITH stored AS (
    SELECT * FROM metrics_monthterms
    WHERE month = %(month)s::date AND cardinality(changed_account_ids) <= %(max_changed)s::int
),
stored_terms AS (
    -- Each changed account's terms as stored: its changed_ ones if it has any, else
    -- those from the whole history (none: it added nothing).
    SELECT t.* FROM stored, unnest(stored.changed_account_ids, stored.changed_mrr,
        stored.changed_previous_mrr, stored.changed_base_mrr, stored.changed_was_customer)
        AS t(account_id, mrr, previous_mrr, base_mrr, was_customer)
    WHERE t.account_id = ANY(%(accounts)s::bigint[])
    UNION ALL
    SELECT t.* FROM stored, unnest(stored.account_ids, stored.mrr, stored.previous_mrr,
        stored.base_mrr, stored.was_customer)
        AS t(account_id, mrr, previous_mrr, base_mrr, was_customer)
    WHERE t.account_id = ANY(%(accounts)s::bigint[])
      AND NOT (t.account_id = ANY(stored.changed_account_ids))
),
stored_dates AS (
    SELECT d.* FROM stored, unnest(stored.changed_renewal_account_ids,
        stored.changed_renewal_on, stored.changed_renewal_mrr, stored.changed_renewal_renewed)
        AS d(account_id, on_day, mrr, renewed)
    WHERE d.account_id = ANY(%(accounts)s::bigint[])
    UNION ALL
    SELECT d.* FROM stored, unnest(stored.renewal_account_ids, stored.renewal_on,
        stored.renewal_mrr, stored.renewal_renewed) AS d(account_id, on_day, mrr, renewed)
    WHERE d.account_id = ANY(%(accounts)s::bigint[])
      AND NOT (d.account_id = ANY(stored.changed_account_ids))
),
priced AS (
    -- MRR (in the reporting currency) and interval as stored (Subscription's generated
    -- columns); a subscription without an exchange rate is left out.
    SELECT account_id, started_on, ended_on,
           date_trunc('month', started_on)::date AS start_month,
           date_trunc('month', ended_on)::date AS end_month,
           (extract(year FROM started_on)::int - 1970) * 12
               + extract(month FROM started_on)::int - 1 AS start_index,
           interval_months AS months, reported_mrr_cents AS mrr
    FROM accounts_subscription
    WHERE account_id = ANY(%(accounts)s::bigint[]) AND reported_mrr_cents IS NOT NULL
),
new_terms AS (
    -- Every changed account, zeros for one without subscriptions.
    SELECT a.account_id,
        coalesce(sum(s.mrr) FILTER (WHERE {_active_at("%(month)s::date")}), 0) AS mrr,
        coalesce(sum(s.mrr) FILTER (WHERE {_active_at("%(previous)s::date")}), 0)
            AS previous_mrr,
        coalesce(sum(s.mrr) FILTER (WHERE {_active_at("%(base)s::date")}), 0) AS base_mrr,
        coalesce(bool_or(s.mrr > 0 AND s.start_month < %(month)s::date
                         AND (s.end_month IS NULL OR s.end_month > s.start_month)), false)
            AS was_customer
    FROM unnest(%(accounts)s::bigint[]) AS a(account_id)
    LEFT JOIN priced AS s ON s.account_id = a.account_id
    GROUP BY a.account_id
),
new_dates AS (
    SELECT r.account_id, d.on_day, r.mrr,
           EXISTS (
               SELECT 1 FROM priced o
               WHERE o.account_id = r.account_id AND o.mrr > 0
                 AND o.started_on <= d.on_day + 1
                 AND (o.ended_on IS NULL OR o.ended_on > d.on_day + 1)
           ) AS renewed
    FROM priced r
    CROSS JOIN LATERAL (
        SELECT %(month)s::date + least(extract(day FROM r.started_on)::int, %(days)s::int) - 1
            AS on_day
    ) AS d
    WHERE r.mrr > 0 AND r.start_index < %(index)s::int
      AND (%(index)s::int - r.start_index) %% r.months = 0
      AND (r.ended_on IS NULL OR d.on_day <= r.ended_on)
),
moves AS (
    SELECT sign, c, p, b,
           p = 0 AND c > 0 AND NOT was AS is_new,
           p = 0 AND c > 0 AND was AS is_reactivated,
           p > 0 AND c = 0 AS is_churned,
           p > 0 AND c > p AS is_expanded,
           p > 0 AND c > 0 AND c < p AS is_contracted
    FROM (
        SELECT -1 AS sign, mrr AS c, previous_mrr AS p, base_mrr AS b, was_customer AS was
        FROM stored_terms
        UNION ALL
        SELECT 1, mrr, previous_mrr, base_mrr, was_customer FROM new_terms
    ) AS signed
),
delta AS (
    -- What the changed accounts add now less what they added as stored.
    SELECT
        coalesce(sum(sign * c), 0)::bigint AS mrr,
        coalesce(sum(sign) FILTER (WHERE c > 0), 0)::int AS customers,
        coalesce(sum(sign * c) FILTER (WHERE is_new), 0)::bigint AS new,
        coalesce(sum(sign * (c - p)) FILTER (WHERE is_expanded), 0)::bigint AS expansion,
        coalesce(sum(sign * (p - c)) FILTER (WHERE is_contracted), 0)::bigint AS contraction,
        coalesce(sum(sign * p) FILTER (WHERE is_churned), 0)::bigint AS churn,
        coalesce(sum(sign * c) FILTER (WHERE is_reactivated), 0)::bigint AS reactivation,
        coalesce(sum(sign) FILTER (WHERE is_new), 0)::int AS new_customers,
        coalesce(sum(sign) FILTER (WHERE is_churned), 0)::int AS churned_customers,
        coalesce(sum(sign) FILTER (WHERE is_reactivated), 0)::int AS reactivated_customers,
        coalesce(sum(sign) FILTER (WHERE is_expanded), 0)::int AS expansion_customers,
        coalesce(sum(sign) FILTER (WHERE is_contracted), 0)::int AS contraction_customers,
        coalesce(sum(sign * p), 0)::bigint AS previous_mrr,
        coalesce(sum(sign) FILTER (WHERE p > 0), 0)::int AS previous_customers,
        coalesce(sum(sign * b), 0)::bigint AS base_mrr,
        coalesce(sum(sign * c) FILTER (WHERE b > 0), 0)::bigint AS retained_mrr,
        coalesce(sum(sign * least(b, c)) FILTER (WHERE b > 0), 0)::bigint AS kept_mrr
    FROM moves
),
day_delta AS (
    SELECT extract(day FROM on_day)::int AS day,
           sum(sign)::int AS due,
           coalesce(sum(sign) FILTER (WHERE renewed), 0)::int AS renewed,
           sum(sign * mrr)::bigint AS due_mrr,
           coalesce(sum(sign * mrr) FILTER (WHERE renewed), 0)::bigint AS renewed_mrr
    FROM (
        SELECT -1 AS sign, on_day, mrr, renewed FROM stored_dates
        UNION ALL
        SELECT 1, on_day, mrr, renewed FROM new_dates
    ) AS signed
    GROUP BY 1
),
by_day AS (
    SELECT
        array_agg(s.due_by_day[g.day] + coalesce(d.due, 0) ORDER BY g.day) AS due,
        array_agg(s.renewed_by_day[g.day] + coalesce(d.renewed, 0) ORDER BY g.day) AS renewed,
        array_agg(s.due_mrr_by_day[g.day] + coalesce(d.due_mrr, 0) ORDER BY g.day) AS due_mrr,
        array_agg(s.renewed_mrr_by_day[g.day] + coalesce(d.renewed_mrr, 0) ORDER BY g.day)
            AS renewed_mrr,
        coalesce(sum(s.due_by_day[g.day] + coalesce(d.due, 0))
            FILTER (WHERE g.day < %(today_day)s::int), 0)::int AS renewals_due,
        coalesce(sum(s.renewed_by_day[g.day] + coalesce(d.renewed, 0))
            FILTER (WHERE g.day < %(today_day)s::int), 0)::int AS renewals_renewed,
        coalesce(sum(s.due_mrr_by_day[g.day] + coalesce(d.due_mrr, 0))
            FILTER (WHERE g.day < %(today_day)s::int), 0)::bigint AS renewals_due_mrr,
        coalesce(sum(s.renewed_mrr_by_day[g.day] + coalesce(d.renewed_mrr, 0))
            FILTER (WHERE g.day < %(today_day)s::int), 0)::bigint AS renewals_renewed_mrr
    FROM stored AS s
    CROSS JOIN generate_series(1, {DAYS}) AS g(day)
    LEFT JOIN day_delta AS d ON d.day = g.day
    GROUP BY s.id
),
sums AS (
    SELECT
        m.mrr + x.mrr AS mrr, m.customers + x.customers AS customers,
        m.new + x.new AS new, m.expansion + x.expansion AS expansion,
        m.contraction + x.contraction AS contraction, m.churn + x.churn AS churn,
        m.reactivation + x.reactivation AS reactivation,
        m.new_customers + x.new_customers AS new_customers,
        m.churned_customers + x.churned_customers AS churned_customers,
        m.reactivated_customers + x.reactivated_customers AS reactivated_customers,
        m.expansion_customers + x.expansion_customers AS expansion_customers,
        m.contraction_customers + x.contraction_customers AS contraction_customers,
        s.sum_previous_mrr + x.previous_mrr AS previous_mrr,
        s.previous_customers + x.previous_customers AS previous_customers,
        s.sum_base_mrr + x.base_mrr AS base_mrr,
        s.sum_retained_mrr + x.retained_mrr AS retained_mrr,
        s.sum_kept_mrr + x.kept_mrr AS kept_mrr
    FROM metrics_monthlymetrics AS m, stored AS s, delta AS x
    WHERE m.month = %(month)s::date
),
prior AS (
    SELECT avg(logo_churn_rate) AS churn FROM metrics_monthlymetrics
    WHERE month >= %(clv_from)s::date AND month < %(month)s::date
),
month_row AS (
    SELECT s.*, d.renewals_due, d.renewals_renewed, d.renewals_due_mrr,
        d.renewals_renewed_mrr,
        s.churned_customers::float8 / nullif(s.previous_customers, 0)::float8
            AS logo_churn_rate,
        (s.churn + s.contraction)::float8 / nullif(s.previous_mrr, 0)::float8
            AS gross_mrr_churn_rate,
        (s.churn + s.contraction - s.expansion - s.reactivation)::float8
            / nullif(s.previous_mrr, 0)::float8 AS net_mrr_churn_rate,
        s.expansion::float8 / nullif(s.previous_mrr, 0)::float8 AS expansion_rate,
        (s.new + s.reactivation + s.expansion)::float8
            / nullif(s.churn + s.contraction, 0)::float8 AS quick_ratio,
        s.mrr::float8 / nullif(s.customers, 0)::float8 AS arpa,
        s.retained_mrr::float8 / nullif(s.base_mrr, 0)::float8 AS nrr,
        s.kept_mrr::float8 / nullif(s.base_mrr, 0)::float8 AS grr,
        d.renewals_renewed::float8 / nullif(d.renewals_due, 0)::float8 AS renewal_rate,
        d.renewals_renewed_mrr::float8 / nullif(d.renewals_due_mrr, 0)::float8
            AS renewal_mrr_rate,
        prior.churn AS prior_churn
    FROM sums AS s, by_day AS d, prior
),
updated AS (
    UPDATE metrics_monthlymetrics AS m SET
        mrr = r.mrr, customers = r.customers, new = r.new, expansion = r.expansion,
        contraction = r.contraction, churn = r.churn, reactivation = r.reactivation,
        new_customers = r.new_customers, churned_customers = r.churned_customers,
        reactivated_customers = r.reactivated_customers,
        expansion_customers = r.expansion_customers,
        contraction_customers = r.contraction_customers,
        logo_churn_rate = r.logo_churn_rate, gross_mrr_churn_rate = r.gross_mrr_churn_rate,
        net_mrr_churn_rate = r.net_mrr_churn_rate, expansion_rate = r.expansion_rate,
        quick_ratio = r.quick_ratio, nrr = r.nrr, grr = r.grr, arpa = r.arpa,
        arr = 12 * r.mrr, renewals_due = r.renewals_due,
        renewals_renewed = r.renewals_renewed, renewals_due_mrr = r.renewals_due_mrr,
        renewals_renewed_mrr = r.renewals_renewed_mrr, renewal_rate = r.renewal_rate,
        renewal_mrr_rate = r.renewal_mrr_rate,
        clv = CASE WHEN r.prior_churn > 0
            THEN r.arpa * %(gross_margin)s::float8 / r.prior_churn END,
        computed_at = %(now)s::timestamptz
    FROM month_row AS r
    WHERE m.month = %(month)s::date
    RETURNING 1
),
changed_terms AS (
    SELECT t.* FROM stored, unnest(stored.changed_account_ids, stored.changed_mrr,
        stored.changed_previous_mrr, stored.changed_base_mrr, stored.changed_was_customer)
        AS t(account_id, mrr, previous_mrr, base_mrr, was_customer)
    WHERE NOT (t.account_id = ANY(%(accounts)s::bigint[]))
    UNION ALL
    SELECT * FROM new_terms
),
changed_dates AS (
    SELECT d.* FROM stored, unnest(stored.changed_renewal_account_ids,
        stored.changed_renewal_on, stored.changed_renewal_mrr, stored.changed_renewal_renewed)
        AS d(account_id, on_day, mrr, renewed)
    WHERE NOT (d.account_id = ANY(%(accounts)s::bigint[]))
    UNION ALL
    SELECT account_id, on_day, mrr, renewed FROM new_dates
),
terms_written AS (
    UPDATE metrics_monthterms AS m SET
        changed_account_ids = t.account_ids, changed_mrr = t.mrr,
        changed_previous_mrr = t.previous_mrr, changed_base_mrr = t.base_mrr,
        changed_was_customer = t.was_customer,
        changed_renewal_account_ids = d.account_ids, changed_renewal_on = d.on_days,
        changed_renewal_mrr = d.mrr, changed_renewal_renewed = d.renewed,
        sum_previous_mrr = s.previous_mrr, previous_customers = s.previous_customers,
        sum_base_mrr = s.base_mrr, sum_retained_mrr = s.retained_mrr,
        sum_kept_mrr = s.kept_mrr,
        due_by_day = b.due, renewed_by_day = b.renewed, due_mrr_by_day = b.due_mrr,
        renewed_mrr_by_day = b.renewed_mrr
    FROM sums AS s, by_day AS b, (
        SELECT coalesce(array_agg(account_id), '{{}}') AS account_ids,
               coalesce(array_agg(mrr), '{{}}') AS mrr,
               coalesce(array_agg(previous_mrr), '{{}}') AS previous_mrr,
               coalesce(array_agg(base_mrr), '{{}}') AS base_mrr,
               coalesce(array_agg(was_customer), '{{}}') AS was_customer
        FROM changed_terms
    ) AS t, (
        SELECT coalesce(array_agg(account_id), '{{}}') AS account_ids,
               coalesce(array_agg(on_day), '{{}}') AS on_days,
               coalesce(array_agg(mrr), '{{}}') AS mrr,
               coalesce(array_agg(renewed), '{{}}') AS renewed
        FROM changed_dates
    ) AS d
    WHERE EXISTS (SELECT 1 FROM updated)
),
state_written AS (
    UPDATE metrics_metricsstate SET dirty_since = NULL, dirty_accounts = NULL,
        computed_at = %(now)s::timestamptz
    WHERE EXISTS (SELECT 1 FROM updated)
)
SELECT count(*) FROM updated
"""  # noqa: S608 (formatted from constants only; every value is a parameter) # nosec B608


def month_recompute_for_accounts(
    accounts: list[int], *, today: date, gross_margin: float, now: Any, max_changed: int
) -> bool:
    """Update today's month for changes to the subscriptions of `accounts`, store their
    terms, and mark the metrics computed at `now`. Nothing before this month may have
    changed since the terms were stored. False, with nothing written, if this month's
    terms or row are not stored, or more than `max_changed` accounts have changed
    since the whole history was last read (the caller then reads it)."""
    index = int(revenue.month_of(today))
    month = revenue.month_start(index).item()
    days = int((revenue.month_start(index + 1) - revenue.month_start(index)).astype(int))
    params = {
        "accounts": accounts,
        "month": month,
        "previous": revenue.month_start(index - 1).item(),
        "base": revenue.month_start(index - 12).item(),
        "clv_from": revenue.month_start(index - 6).item(),
        "index": index,
        "days": days,
        "today_day": today.day,
        "gross_margin": gross_margin,
        "now": now,
        "max_changed": max_changed - len(accounts),
    }
    with _prepared_cursor() as cursor:
        cursor.execute(_MONTH_FROM_ACCOUNTS, params)
        row = cursor.fetchone()
    return bool(row and row[0])
