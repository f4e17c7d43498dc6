"""After the load: wait for the Celery work it caused, then check every write in the database.

The checks connect as the application's role, inside each organization's tenant
context (row-level security applies, as it does for the application): everything
they read belongs to the organization they check, and nothing else is needed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import IO, Any

from loadtest.config import Config


def _per_organization(plan: dict[str, Any], read: Any) -> dict[str, Any]:
    from accounts.models import Organization
    from csplatform.tenancy import tenant_context

    out = {}
    for org in plan["organizations"]:
        with tenant_context(Organization.objects.get(pk=org["id"])):
            out[org["slug"]] = read(org)
    return out


def pending_rollups(plan: dict[str, Any]) -> int:
    from journeys.rollups import usage_pending

    return sum(_per_organization(plan, lambda _org: usage_pending()).values())


def pending_follow_ups(plan: dict[str, Any]) -> int:
    """Outbox messages not yet done: follow-up work recorded by a change whose task has
    not committed yet (see csplatform.outbox)."""
    from csplatform.models import OutboxMessage

    return sum(_per_organization(plan, lambda _org: OutboxMessage.objects.count()).values())


def drain(
    config: Config,
    plan: dict[str, Any],
    worker: str,
    progress: IO[str],
    alive: Callable[[str], bool],
) -> dict[str, Any]:
    """Wait until no event waits for the rollups, no follow-up waits in the outbox, the
    queue is empty and the worker has nothing running, reserved or scheduled (a debounced
    follow-up waits there), twice in a row two seconds apart (a finished task may queue
    its follow-up as it commits)."""
    import redis
    from django.db import connection

    from csplatform.celery import app as celery_app

    broker = redis.Redis.from_url(config.redis_url)
    started = time.monotonic()
    quiet = 0
    state: dict[str, Any] = {}
    last_report = 0.0
    while True:
        try:
            inspect = celery_app.control.inspect(destination=[worker], timeout=2, limit=1)
            busy = sum(
                len(tasks)
                for call in (inspect.active, inspect.reserved, inspect.scheduled)
                for tasks in (call() or {}).values()
            )
            state = {
                "pending_rollup_events": pending_rollups(plan),
                "pending_outbox_messages": pending_follow_ups(plan),
                "queued": int(broker.llen(config.queue)),
                "worker_busy": busy,
            }
        except Exception as error:  # a database or Redis restart: try again
            connection.close()
            state = {"error": str(error)[:200]}
        waited = time.monotonic() - started
        idle = (
            state.get("pending_rollup_events") == 0
            and state.get("pending_outbox_messages") == 0
            and not state["queued"]
            and not busy
        )
        quiet = quiet + 1 if idle else 0
        if quiet >= 2:
            progress.write(f"celery queue drained in {waited:.0f}s\n")
            return {"drained": True, "seconds": round(waited, 1), **state}
        if waited > config.drain_timeout or not alive("celery worker"):
            progress.write(f"celery queue NOT drained after {waited:.0f}s: {state}\n")
            return {"drained": False, "seconds": round(waited, 1), **state}
        if waited - last_report >= 10:
            progress.write(f"  waiting for the celery queue: {state}\n")
            last_report = waited
        time.sleep(2)


def surveys(plan: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """Every answer the server confirmed (302 to the thanks page) is exactly one response
    with the score sent; no response exists that no confirmed request wrote."""
    from django.db.models import Count

    from surveys.models import Response

    def read(org: dict[str, Any]) -> dict[str, Any]:
        slug = org["slug"]
        responses = Response.objects.filter(invitation__campaign_id=org["campaign_id"])
        scores = dict(responses.values_list("invitation_id", "score"))
        repeated = responses.values("invitation_id").annotate(n=Count("id")).filter(n__gt=1).count()
        answered = {int(i): s for i, s in results["answered"].get(slug, [])}
        unknown = set(results["answer_unknown"].get(slug, []))
        rejected = set(results["answer_rejected"].get(slug, []))
        return {
            "answered": len(answered),
            "responses": len(scores),
            "lost": sorted(set(answered) - set(scores))[:20],
            "lost_count": len(set(answered) - set(scores)),
            "duplicated": repeated,
            "wrong_score": sum(1 for i, s in answered.items() if i in scores and scores[i] != s),
            "without_confirmed_request": len(set(scores) - set(answered) - unknown),
            "written_by_a_failed_request": len(set(scores) & rejected),
            "request_outcome_unknown": len(unknown),
        }

    per_org = _per_organization(plan, read)
    total = _sum(per_org)
    return {
        "ok": total["lost_count"] == 0
        and total["duplicated"] == 0
        and total["wrong_score"] == 0
        and total["without_confirmed_request"] == 0
        and total["written_by_a_failed_request"] == 0,
        **total,
        "organizations": per_org,
    }


_EVENTS_BY_ID = """
SELECT properties->>'loadtest_id', count(*),
       bool_and(dedupe_key = md5('event:id:' || (properties->>'loadtest_id'))::uuid)
FROM journeys_usageevent
WHERE organization_id = %s AND properties ? 'loadtest_id'
GROUP BY 1
"""


def events(plan: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """Every event id in a batch the server accepted (200) is exactly one row; no row
    exists for an id never accepted; the `created` counts the server answered add up
    to the rows (a retry reported nothing created); retries duplicated nothing."""
    from django.db import connection

    def read(org: dict[str, Any]) -> dict[str, Any]:
        slug = org["slug"]
        with connection.cursor() as cursor:
            cursor.execute(_EVENTS_BY_ID, [org["id"]])
            rows = {event_id: (count, key_ok) for event_id, count, key_ok in cursor.fetchall()}
        accepted = set(results["events_accepted"].get(slug, []))
        unknown = set(results["events_unknown"].get(slug, []))
        created_reported = int(results["events_created_reported"].get(slug, 0))
        return {
            "accepted": len(accepted),
            "rows": sum(count for count, _ok in rows.values()),
            "lost_count": len(accepted - set(rows)),
            "lost": sorted(accepted - set(rows))[:20],
            "duplicated": sum(1 for count, _ok in rows.values() if count > 1),
            "without_accepted_request": len(set(rows) - accepted - unknown),
            "idempotency_key_mismatch": sum(1 for _count, ok in rows.values() if not ok),
            "created_reported": created_reported,
            # (Unknowable when a request got no answer: it may have created its events.)
            "created_reported_mismatch": created_reported != len(rows) and not unknown,
            "request_outcome_unknown": len(unknown),
        }

    per_org = _per_organization(plan, read)
    total = _sum(per_org)
    violations = results["idempotency_violations"]
    return {
        "ok": total["lost_count"] == 0
        and total["duplicated"] == 0
        and total["without_accepted_request"] == 0
        and total["idempotency_key_mismatch"] == 0
        and total["created_reported_mismatch"] == 0
        and not violations,
        **total,
        "batches": results["batches"],
        "retry_violations": violations[:20],
        "retry_violation_count": len(violations),
        "organizations": per_org,
    }


def rollups(plan: dict[str, Any]) -> dict[str, Any]:
    """The daily rollups count every raw event once: per account and day, per feature,
    per contact; quantities too. (The seed's events included: they must agree as well.)"""
    from django.db.models import Count, Sum

    from journeys.models import (
        DailyContactUsage,
        DailyFeatureUsage,
        DailyUsage,
        PendingUsageRollup,
        UsageEvent,
    )

    def read(_org: dict[str, Any]) -> dict[str, Any]:
        raw = UsageEvent.objects.aggregate(n=Count("id"), quantity=Sum("quantity"))
        with_contact = UsageEvent.objects.filter(contact__isnull=False).count()
        daily = DailyUsage.objects.aggregate(n=Sum("events"), quantity=Sum("quantity"))
        feature = DailyFeatureUsage.objects.aggregate(n=Sum("events"), quantity=Sum("quantity"))
        contact = DailyContactUsage.objects.aggregate(n=Sum("events"))["n"] or 0
        values = {
            "raw_events": raw["n"] or 0,
            "daily_events": daily["n"] or 0,
            "feature_events": feature["n"] or 0,
            "raw_events_with_contact": with_contact,
            "contact_events": contact,
            "raw_quantity": str(raw["quantity"] or 0),
            "daily_quantity": str(daily["quantity"] or 0),
            "feature_quantity": str(feature["quantity"] or 0),
            "pending_queue_rows": PendingUsageRollup.objects.count(),
        }
        values["ok"] = (
            values["raw_events"] == values["daily_events"] == values["feature_events"]
            and with_contact == contact
            and (raw["quantity"] or 0) == (daily["quantity"] or 0) == (feature["quantity"] or 0)
            and values["pending_queue_rows"] == 0
        )
        return values

    per_org = _per_organization(plan, read)
    return {"ok": all(v["ok"] for v in per_org.values()), "organizations": per_org}


def _sum(per_org: dict[str, dict[str, Any]]) -> dict[str, Any]:
    total: Counter[str] = Counter()
    lists: dict[str, list[Any]] = {}
    for values in per_org.values():
        for key, value in values.items():
            if isinstance(value, bool):
                total[key] += int(value)
            elif isinstance(value, int):
                total[key] += value
            elif isinstance(value, list):
                lists.setdefault(key, []).extend(value)
    return {**dict(total), **{k: v[:20] for k, v in lists.items()}}
