"""The load test's machinery keeps working: a short run with few users (the numbers are
make loadtest's job). It starts gunicorn, a Celery worker and locust, on a database and a
Redis database of its own, and checks every write afterwards."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from loadtest.config import DEFAULT_DATABASE_URL

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.worker


def test_a_short_run_loses_and_duplicates_no_write(tmp_path):
    report_path = tmp_path / "report.json"
    env = {
        **os.environ,
        "LOADTEST_DURATION": "15s",
        "LOADTEST_USERS": "6",
        "LOADTEST_SPAWN_RATE": "6",
        "LOADTEST_WEB_WORKERS": "2",
        "LOADTEST_ORGANIZATIONS": "1",
        "LOADTEST_INVITATIONS": "300",
        "LOADTEST_DATABASE": f"csplatform_loadtest_smoke_{uuid.uuid4().hex[:8]}",
        # A Redis database of its own, not make loadtest's (14): several may run at once.
        "LOADTEST_REDIS_DB": "auto",
        "LOADTEST_ARTIFACTS": str(tmp_path),
        "LOADTEST_KEEP": "0",
    }
    run = subprocess.run(
        [sys.executable, "-m", "loadtest"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "PASSED" in run.stdout

    report = json.loads(report_path.read_text())
    kinds = report["requests"]["by_kind"]
    for kind in ("survey", "api", "dashboard"):
        assert kinds[kind]["requests"] > 0
        assert kinds[kind]["p50_ms"] > 0
    assert kinds["total"]["server_errors_5xx"] == 0
    assert report["drain"]["drained"]

    answers = report["checks"]["survey_answers"]
    assert answers["ok"]
    assert answers["answered"] > 0
    assert answers["lost_count"] == answers["duplicated"] == 0
    assert answers["without_confirmed_request"] == 0

    events = report["checks"]["event_writes"]
    assert events["ok"]
    assert events["accepted"] > 0
    assert events["rows"] == events["accepted"]
    assert events["lost_count"] == events["duplicated"] == 0
    assert events["retry_violation_count"] == 0
    assert sum(n for name, n in events["batches"].items() if "retry" in name) > 0

    assert report["checks"]["rollups"]["ok"]
    assert report["problems"] == []

    # Its database is gone.
    server = (os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL).rsplit("/", 1)[0]
    with psycopg.connect(server + "/postgres") as conn:
        gone = "SELECT 1 FROM pg_database WHERE datname = %s"
        assert conn.execute(gone, [env["LOADTEST_DATABASE"]]).fetchone() is None


_STOPPED_MID_REQUEST = """
import gevent
from loadtest import locustfile as lf

def send(kind, slug, what, pause):
    with lf.RECORD.sending(kind, slug, what):
        gevent.sleep(pause)

answered = gevent.spawn(send, "events", "acme", {"e-answered"}, 0)
answered.join()
stopped = [gevent.spawn(send, "events", "acme", {"e-stopped"}, 60),
           gevent.spawn(send, "answer", "acme", 7, 60)]
gevent.sleep(0.05)
gevent.killall(stopped)  # what locust does to every user when the run's time is up
lf.RECORD.dump()
"""


def test_it_counts_a_write_stopped_mid_request_as_unknown_not_unsent(tmp_path):
    """The run's end kills users mid-request; the server may already have written what
    such a request sent. Its events and answer are "outcome unknown", so the checks do
    not report them as written without a request."""
    plan, results = tmp_path / "plan.json", tmp_path / "results.json"
    plan.write_text(json.dumps({"organizations": []}))
    env = {**os.environ, "LOADTEST_PLAN": str(plan), "LOADTEST_RESULTS": str(results)}
    subprocess.run(
        [sys.executable, "-c", _STOPPED_MID_REQUEST],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
    )
    recorded = json.loads(results.read_text())
    assert recorded["events_unknown"] == {"acme": ["e-stopped"]}
    assert recorded["answer_unknown"] == {"acme": [7]}
