"""What tenant isolation costs on a tenant's everyday query.

Data: N organizations with M invitations each, written set-based. The same
rows also go to a copy of the table without row-level security (same
columns, same indexes). Measured in the same run:

- `rls_query_ratio`: a tenant query (count and latest expiry of the open
  invitations) on the RLS table, inside a tenant context, ÷ the same SQL on
  the plain copy. Target ≤ 1.25: the policy must
  ride on the organization-leading index, not scan.
- `unit_of_work_ratio`: one query per `tenant_context` (BEGIN, set_config,
  query, COMMIT: what each request and task pays) ÷ the same query on the
  plain copy in autocommit. Reported to keep an eye on; no target.
"""

import random
from typing import IO

from django.db import connection
from django.utils import timezone

from accounts.models import Organization
from bench.timing import best_seconds
from csplatform.tenancy import tenant_context

PLAIN = "bench_invitation_without_rls"
QUERY = (
    "SELECT count(*), max(expires_at) FROM {table} WHERE organization_id = %s AND expires_at > %s"
)


def _seed(organizations: int, per_organization: int, progress: IO[str]) -> list[int]:
    ids = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {PLAIN} (LIKE accounts_memberinvitation "
            "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)"
        )
    now = timezone.now()
    insert = """
        INSERT INTO {table} (organization_id, email, role, created_at, expires_at)
        SELECT %s, 'person' || n || '@example.com', 'manager', %s,
               %s + make_interval(days => (n %% 30) - 15)
        FROM generate_series(1, %s) AS n
    """
    for index in range(organizations):
        organization = Organization.objects.create(slug=f"bench-{index}", name=f"Bench {index}")
        ids.append(organization.pk)
        with tenant_context(organization), connection.cursor() as cursor:
            for table in ("accounts_memberinvitation", PLAIN):
                cursor.execute(
                    insert.format(table=table),
                    [organization.pk, now, now, per_organization],
                )
        if (index + 1) % 10 == 0:
            progress.write(f"  seeded {index + 1}/{organizations} organizations\n")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE accounts_memberinvitation; ANALYZE {PLAIN}")
    return ids


def run(*, quick: bool, progress: IO[str]) -> dict[str, object]:
    organizations, per_organization, queries = (10, 500, 200) if quick else (100, 2_000, 2_000)
    progress.write(
        f"tenancy: seeding {organizations} organizations x {per_organization} invitations\n"
    )
    ids = _seed(organizations, per_organization, progress)
    picks = random.Random(7).choices(ids, k=queries)  # noqa: S311 (a fixed, repeatable draw) # nosec B311
    now = timezone.now()
    plain_sql = QUERY.format(table=PLAIN)

    def plain_queries() -> None:
        with connection.cursor() as cursor:
            for organization_id in picks:
                cursor.execute(plain_sql, [organization_id, now])
                cursor.fetchone()

    def rls_queries() -> None:
        # The same SQL text on the RLS table, inside one tenant context per query batch.
        organization = Organization(pk=picks[0])
        with tenant_context(organization), connection.cursor() as cursor:
            for _ in picks:
                cursor.execute(QUERY.format(table="accounts_memberinvitation"), [picks[0], now])
                cursor.fetchone()

    def plain_same_org() -> None:
        with connection.cursor() as cursor:
            for _ in picks:
                cursor.execute(plain_sql, [picks[0], now])
                cursor.fetchone()

    def one_context_per_query() -> None:
        for organization_id in picks:
            with tenant_context(Organization(pk=organization_id)), connection.cursor() as cursor:
                cursor.execute(
                    QUERY.format(table="accounts_memberinvitation"), [organization_id, now]
                )
                cursor.fetchone()

    rounds = 3 if quick else 7
    progress.write(f"tenancy: timing {queries} queries x {rounds} rounds each way\n")
    plain_query_s, rls_query_s, plain_autocommit_s, unit_of_work_s = best_seconds(
        [plain_same_org, rls_queries, plain_queries, one_context_per_query], rounds
    )
    return {
        "organizations": organizations,
        "rows": organizations * per_organization,
        "queries": queries,
        "rls_query_ratio": round(rls_query_s / plain_query_s, 3),
        "rls_query_ratio_target": 1.25,
        "unit_of_work_ratio": round(unit_of_work_s / plain_autocommit_s, 3),
        "plain_query_us": round(plain_query_s / queries * 1e6, 1),
        "rls_query_us": round(rls_query_s / queries * 1e6, 1),
        "unit_of_work_us": round(unit_of_work_s / queries * 1e6, 1),
    }
