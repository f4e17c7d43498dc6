"""The survey answer POST under concurrent load, against a trivial view of the same server.

gunicorn (2 sync workers) serves the application on loopback, on the benchmark
database. 50 clients at once, each opening a connection per request as a mail
client's browser would:

- `baseline`: GET /healthz (one `SELECT 1`), the server's floor;
- `answer`: POST /s/<token>/ with a score, on purpose, each to a different
  invitation (a fresh answer: token check, tenant, invitation, the response, its
  negative touchpoint for a detractor, the debounced satisfaction refresh).

Reported: requests per second of each and their ratio (target ≥ 0.4), and the
answer's p50/p99 latency (target p99 < 100 ms). The load generator shares the
machine's cores with the server and Postgres.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess  # nosec B404 # fixed commands
import sys
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 50


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _invitations(count: int) -> list[str]:
    """An organization with `count` contacts, each sent an NPS invitation; their paths."""
    from accounts.models import Account, Contact, Organization
    from csplatform.tenancy import tenant_context
    from surveys.models import Campaign, Survey, SurveyInvitation
    from surveys.tokens import make_answer_token

    organization = Organization.objects.create(
        slug=f"bench-surveys-{os.getpid()}", name="Bench surveys"
    )
    with tenant_context(organization):
        account = Account.objects.create(external_id="a1", name="Customer")
        survey = Survey.objects.create(
            name="NPS", kind="nps", question_en="Recommend us?", question_pt_br="Recomendaria?"
        )
        campaign = Campaign.objects.create(survey=survey, name="Bench")
        contacts = Contact.objects.bulk_create(
            Contact(account=account, email=f"c{n}@customer.example") for n in range(count)
        )
        invitations = SurveyInvitation.objects.bulk_create(
            SurveyInvitation(campaign=campaign, contact=c, status="sent") for c in contacts
        )
    return [
        f"/s/{make_answer_token(organization_id=organization.pk, invitation_id=i.pk)}/"
        for i in invitations
    ]


async def _request(port: int, raw: bytes) -> tuple[float, bytes]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    response = await reader.read()  # sync workers close the connection after replying
    writer.close()
    return time.perf_counter() - started, response


def _get(path: str, cookie: str = "") -> bytes:
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n".encode()


def _post(path: str, body: str, cookie: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
    ).encode()


async def _load(port: int, requests: list[bytes], seconds: float) -> dict[str, Any]:
    """CLIENTS clients, each sending its next request as soon as the last one answered."""
    queue = iter(requests)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            raw = next(queue, None)
            if raw is None:
                return
            elapsed, response = await _request(port, raw)
            latencies.append(elapsed)
            status = int(response[9:12] or 0)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    wall = time.perf_counter() - started
    lat = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
        "p99_ms": round(float(np.percentile(lat, 99)), 1) if len(lat) else None,
        "statuses": statuses,
    }


def _serve(port: int, progress: IO[str]) -> subprocess.Popen[bytes]:
    from django.db import connection

    from csplatform.celery import app as celery_app

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        # The bench's own queue, which no worker reads (see bench/__main__.py).
        "CELERY_TASK_DEFAULT_QUEUE": celery_app.conf.task_default_queue,
        "DEBUG": "0",
        # Every simulated client comes from 127.0.0.1: no per-address limit.
        "SURVEY_RATE_LIMIT": "",
    }
    server = subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments) # nosec B603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "csplatform.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                progress.write(f"  gunicorn (2 workers) listening on 127.0.0.1:{port}\n")
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def run(*, quick: bool, progress: IO[str]) -> dict[str, object]:
    seconds = 3.0 if quick else 10.0
    paths = _invitations(3_000 if quick else 12_000)
    progress.write(f"public_surveys: {len(paths)} invitations, {CLIENTS} concurrent clients\n")
    port = _free_port()
    server = _serve(port, progress)
    try:
        # A browser's first visit: the page sets the CSRF cookie and puts the token in its form.
        _elapsed, page = asyncio.run(_request(port, _get(paths[0] + "?score=9")))
        cookie = re.search(rb"csrftoken=([^;]+)", page).group(1).decode()  # type: ignore[union-attr]
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()  # type: ignore[union-attr]
        cookie_header = f"csrftoken={cookie}"
        asyncio.run(_load(port, [_get("/healthz")] * 500, 2.0))  # warm both workers
        baseline = asyncio.run(_load(port, [_get("/healthz")] * 1_000_000, seconds))
        progress.write(f"  baseline GET /healthz: {baseline}\n")
        body = f"csrfmiddlewaretoken={token}&score={{score}}&automatic=0"
        posts = [
            _post(path, body.format(score=n % 11), cookie_header)
            for n, path in enumerate(paths[1:])
        ]
        answer = asyncio.run(_load(port, posts, seconds))
        progress.write(f"  answer POST: {answer}\n")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return {
        "clients": CLIENTS,
        "baseline": baseline,
        "answer": answer,
        "answer_to_baseline_ratio": round(
            answer["requests_per_second"] / baseline["requests_per_second"], 3
        ),
        "answer_to_baseline_ratio_target": 0.4,
        "answer_p99_ms_target": 100,
    }
