"""The run's report: per request type throughput, latency and errors, the database checks,
and the verdict; printed as a table and written as JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import IO, Any

import numpy as np

from loadtest.config import Config

KINDS = {"survey": "survey answers", "api": "API event batches", "dashboard": "dashboards"}


def _stats(latencies: list[float], statuses: dict[str, int], failures: int, seconds: float) -> dict:
    count = len(latencies)
    lat = np.array(latencies or [0.0])
    server_errors = sum(n for status, n in statuses.items() if status.startswith("5"))
    return {
        "requests": count,
        "requests_per_second": round(count / seconds, 2) if seconds else 0.0,
        "p50_ms": round(float(np.percentile(lat, 50)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
        "max_ms": round(float(lat.max()), 1),
        "errors": failures,
        "error_rate": round(failures / count, 5) if count else 0.0,
        "server_errors_5xx": server_errors,
        "statuses": dict(sorted(statuses.items())),
    }


def requests(results: dict[str, Any]) -> dict[str, Any]:
    """Per request name, per kind (survey, api, dashboard) and in total."""
    seconds = max(results["stopped"] - results["started"], 1e-9)
    by_name = {}
    grouped: dict[str, dict[str, Any]] = {}
    for name, data in sorted(results["requests"].items()):
        by_name[name] = {
            **_stats(data["latencies_ms"], data["statuses"], data["failures"], seconds),
            "failure_samples": data["failure_samples"],
        }
        for group in (name.split(":")[0], "total"):
            into = grouped.setdefault(group, {"latencies": [], "statuses": {}, "failures": 0})
            into["latencies"] += data["latencies_ms"]
            into["failures"] += data["failures"]
            for status, n in data["statuses"].items():
                into["statuses"][status] = into["statuses"].get(status, 0) + n
    kinds = {
        group: _stats(g["latencies"], g["statuses"], g["failures"], seconds)
        for group, g in sorted(grouped.items(), key=lambda item: item[0] == "total")
    }
    return {"seconds": round(seconds, 1), "by_request": by_name, "by_kind": kinds}


def celery_log(path: Path) -> dict[str, Any]:
    """Tasks the worker ran and those that failed, from its log."""
    text = path.read_text(errors="replace") if path.exists() else ""
    succeeded: dict[str, int] = {}
    for name in re.findall(r"Task ([\w.]+)\[[^\]]+\] succeeded", text):
        succeeded[name] = succeeded.get(name, 0) + 1
    failed = re.findall(r"Task ([\w.]+)\[[^\]]+\] (?:raised|retry)", text)
    return {
        "tasks_succeeded": sum(succeeded.values()),
        "by_task": dict(sorted(succeeded.items())),
        "tasks_failed": len(failed),
        "failed": failed[:20],
        "errors_logged": len(re.findall(r"\bERROR/", text)),
    }


def verdict(config: Config, report: dict[str, Any]) -> list[str]:
    """Why the run fails; empty when it passes."""
    problems = []
    total = report["requests"]["by_kind"].get("total")
    if total is None or not total["requests"]:
        return ["no request was made"]
    if total["error_rate"] > config.max_error_rate:
        problems.append(
            f"error rate {total['error_rate']:.2%} above {config.max_error_rate:.2%} "
            f"({total['errors']} of {total['requests']})"
        )
    if total["server_errors_5xx"]:
        problems.append(f"{total['server_errors_5xx']} server error(s) (5xx)")
    for kind, label in KINDS.items():
        stats = report["requests"]["by_kind"].get(kind)
        if stats is None or stats["requests"] == stats["errors"]:
            problems.append(f"no successful request among the {label}")
    if not report["drain"]["drained"]:
        problems.append("the Celery queue did not drain")
    if report["celery"]["tasks_failed"]:
        problems.append(f"{report['celery']['tasks_failed']} Celery task(s) failed")
    for name, check in report["checks"].items():
        if not check["ok"]:
            problems.append(f"database check failed: {name}")
    return problems


def table(report: dict[str, Any], out: IO[str]) -> None:
    r = report["requests"]
    out.write(f"\nLoad: {r['seconds']:.0f} s, {report['config']['users']} users\n\n")
    header = f"{'request':<36} {'count':>7} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} "
    header += f"{'errors':>7} {'err %':>6} {'5xx':>5}\n"
    out.write(header + "-" * (len(header) - 1) + "\n")

    def row(name: str, s: dict[str, Any]) -> None:
        out.write(
            f"{name:<36} {s['requests']:>7} {s['requests_per_second']:>7.1f} "
            f"{s['p50_ms']:>8.1f} {s['p99_ms']:>8.1f} {s['errors']:>7} "
            f"{s['error_rate'] * 100:>6.2f} {s['server_errors_5xx']:>5}\n"
        )

    for name, s in r["by_request"].items():
        row(name, s)
    out.write("-" * (len(header) - 1) + "\n")
    for kind, s in r["by_kind"].items():
        row("all requests" if kind == "total" else f"all {KINDS.get(kind, kind)}", s)
    c = report["checks"]
    sv, ev = c["survey_answers"], c["event_writes"]
    out.write(
        "\nDatabase checks (after the Celery queue drained in "
        f"{report['drain']['seconds']:.0f} s, {report['celery']['tasks_succeeded']} tasks run, "
        f"{report['celery']['tasks_failed']} failed)\n"
        f"  survey answers   {_ok(sv)}: {sv['answered']} confirmed, {sv['responses']} responses; "
        f"lost {sv['lost_count']}, duplicated {sv['duplicated']}, wrong score "
        f"{sv['wrong_score']}, without a confirmed request {sv['without_confirmed_request']}\n"
        f"  usage events     {_ok(ev)}: {ev['accepted']} ids accepted, {ev['rows']} rows; "
        f"lost {ev['lost_count']}, duplicated {ev['duplicated']}, without an accepted "
        f"request {ev['without_accepted_request']}; retries {_retries(ev['batches'])}, "
        f"created by a retry {ev['retry_violation_count']}\n"
        f"  daily rollups    {_ok(c['rollups'])}: "
        + ", ".join(
            f"{slug} {v['raw_events']} events = {v['daily_events']} by day = "
            f"{v['feature_events']} by feature"
            for slug, v in c["rollups"]["organizations"].items()
        )
        + "\n"
    )
    if report["problems"]:
        out.write("\nFAILED:\n" + "".join(f"  - {p}\n" for p in report["problems"]))
    else:
        out.write("\nPASSED: no write lost or duplicated, no server error.\n")


def _ok(check: dict[str, Any]) -> str:
    return "ok  " if check["ok"] else "FAIL"


def _retries(batches: dict[str, int]) -> int:
    return sum(n for name, n in batches.items() if "retry" in name)


def write(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
