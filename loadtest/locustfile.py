"""The load test's users, run by locust (python -m loadtest starts it; see its docstring).

Three kinds of user, on loopback only, against the plan `python -m loadtest` seeded
(`LOADTEST_PLAN`, a JSON file):

- a survey respondent opens an answer link with a score (GET, the page sets the CSRF
  cookie and token), submits it on purpose (POST → 302 to the thanks page) and reads
  the thanks page; every invitation is answered at most once in the whole run;
- an organization's system posts batches of usage events with unique ids to
  /api/v1/events/batch/, and now and then retries a batch it already sent (as is,
  overlapping new events, or twice at the same moment) to prove retries never
  duplicate;
- a CS manager, signed in, reads the home page, the accounts list, an account's page,
  revenue and the executive dashboard.

Every request's latency and status, and every write the server confirmed, go to
`LOADTEST_RESULTS` (JSON) when the test stops: the orchestrator checks them against
the database.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent  # type: ignore[import-untyped]
from locust import HttpUser, between, events, task
from locust.clients import HttpSession
from locust.env import Environment
from locust.exception import StopUser

PLAN: dict[str, Any] = json.loads(Path(os.environ["LOADTEST_PLAN"]).read_text())
RESULTS = Path(os.environ["LOADTEST_RESULTS"])
WAIT = tuple(float(s) for s in os.environ.get("LOADTEST_WAIT", "0.2,1.0").split(","))
BATCH_SIZE = int(os.environ.get("LOADTEST_BATCH_SIZE", "50"))
TIMEOUT = 30.0  # seconds; a request that takes longer counts as an error
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FEATURES = ["report.generated", "dashboard.viewed", "export.csv", "integration.synced", "login"]

ORGANIZATIONS: list[dict[str, Any]] = PLAN["organizations"]
# Which account, event, score: load-test data, not secrets.
RNG = random.Random()  # noqa: S311 # nosec B311


def _interleaved_invitations() -> deque[tuple[int, dict[str, Any]]]:
    """(organization index, invitation), taking each organization's in turn."""
    queues = [deque((i, inv) for inv in org["invitations"]) for i, org in enumerate(ORGANIZATIONS)]
    out: deque[tuple[int, dict[str, Any]]] = deque()
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.popleft())
    return out


class Record:
    """What the run did and what the server confirmed (one locust process: no locking
    needed, greenlets switch only on I/O)."""

    def __init__(self) -> None:
        self.started = 0.0
        self.stopped = 0.0
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[str]] = defaultdict(Counter)
        self.failures: dict[str, int] = Counter()
        self.failure_samples: dict[str, list[str]] = defaultdict(list)
        self.invitations = _interleaved_invitations()
        self.invitations_exhausted = False
        # Per organization slug.
        self.answered: dict[str, dict[int, int]] = defaultdict(dict)  # invitation id → score
        self.answer_rejected: dict[str, list[int]] = defaultdict(list)  # a definite error
        self.answer_unknown: dict[str, list[int]] = defaultdict(list)  # no answer at all
        self.events_accepted: dict[str, set[str]] = defaultdict(set)
        self.events_unknown: dict[str, set[str]] = defaultdict(set)
        self.events_created_reported: Counter[str] = Counter()
        self.batches: Counter[str] = Counter()
        self.idempotency_violations: list[str] = []
        # Writes sent whose answer has not been read yet. The run's end stops every user
        # at once, mid-request too: the server may have written what such a request sent,
        # so its outcome is unknown, not "never sent".
        self.in_flight: list[tuple[str, str, Any]] = []  # (kind, slug, ids or invitation id)

    @contextmanager
    def sending(self, kind: str, slug: str, what: Any) -> Iterator[None]:
        """Around one write request: while it runs, `what` counts as in flight."""
        entry = (kind, slug, what)
        self.in_flight.append(entry)
        try:
            yield
        except gevent.GreenletExit:
            raise  # stopped mid-request: it stays in flight, its outcome unknown
        except BaseException:
            self.in_flight.remove(entry)
            raise
        else:
            self.in_flight.remove(entry)

    def on_request(
        self,
        name: str,
        response_time: float,
        response: Any,
        exception: BaseException | None,
        **_kwargs: Any,
    ) -> None:
        self.latencies[name].append(response_time)
        status = getattr(response, "status_code", 0) if response is not None else 0
        key = str(status) if status else "no answer"
        self.statuses[name][key] += 1
        if exception is not None:
            self.failures[name] += 1
            if len(self.failure_samples[name]) < 5:
                self.failure_samples[name].append(f"{key}: {exception!s}"[:300])

    def dump(self) -> None:
        for kind, slug, what in self.in_flight:
            if kind == "events":
                self.events_unknown[slug] |= what
            else:
                self.answer_unknown[slug].append(what)
        data = {
            "started": self.started,
            "stopped": self.stopped,
            "requests": {
                name: {
                    "latencies_ms": latencies,
                    "statuses": dict(self.statuses[name]),
                    "failures": self.failures[name],
                    "failure_samples": self.failure_samples[name],
                }
                for name, latencies in self.latencies.items()
            },
            "invitations_left": len(self.invitations),
            "invitations_exhausted": self.invitations_exhausted,
            "answered": {slug: list(a.items()) for slug, a in self.answered.items()},
            "answer_rejected": self.answer_rejected,
            "answer_unknown": self.answer_unknown,
            "events_accepted": {s: sorted(ids) for s, ids in self.events_accepted.items()},
            "events_unknown": {s: sorted(ids) for s, ids in self.events_unknown.items()},
            "events_created_reported": dict(self.events_created_reported),
            "batches": dict(self.batches),
            "idempotency_violations": self.idempotency_violations,
        }
        RESULTS.write_text(json.dumps(data))


RECORD = Record()


@events.request.add_listener
def _on_request(**kwargs: Any) -> None:
    RECORD.on_request(**kwargs)


def _progress(environment: Environment) -> None:
    while True:
        gevent.sleep(15)
        total = environment.stats.total
        elapsed = time.monotonic() - RECORD.started
        sys.stdout.write(
            f"[loadtest] {elapsed:5.0f}s  {total.num_requests} requests "
            f"({total.num_requests / max(elapsed, 1):.1f}/s), {total.num_failures} errors, "
            f"{len(environment.runner.user_greenlets) if environment.runner else 0} users\n"
        )
        sys.stdout.flush()


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    RECORD.started = time.monotonic()
    gevent.spawn(_progress, environment)


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    RECORD.stopped = time.monotonic()
    RECORD.dump()


class SurveyRespondent(HttpUser):
    """A customer answering an NPS email: open the link with a score, submit, thanks."""

    weight = 3
    wait_time = between(*WAIT)

    @task
    def answer(self) -> None:
        if not RECORD.invitations:
            RECORD.invitations_exhausted = True
            raise StopUser
        org_index, invitation = RECORD.invitations.popleft()
        slug = ORGANIZATIONS[org_index]["slug"]
        path = invitation["path"]
        score = RNG.randint(0, 10)
        with self.client.get(
            f"{path}?score={score}",
            name="survey: open link",
            catch_response=True,
            allow_redirects=False,
            timeout=TIMEOUT,
        ) as page:
            found = CSRF_FIELD.search(page.text or "") if page.status_code == 200 else None
            if found is None:
                page.failure(f"answer page: {page.status_code}, no CSRF token")
                return  # a GET never writes: the invitation stays unanswered
        csrf = found.group(1)
        with (
            RECORD.sending("answer", slug, invitation["id"]),
            self.client.post(
                path,
                data={"csrfmiddlewaretoken": csrf, "score": str(score), "automatic": "0"},
                headers={"Referer": f"{self.host}{path}"},
                name="survey: submit answer",
                catch_response=True,
                allow_redirects=False,
                timeout=TIMEOUT,
            ) as answer,
        ):
            location = urlsplit(answer.headers.get("Location", "")).path
            if answer.status_code == 302 and location == f"{path}thanks/":
                RECORD.answered[slug][invitation["id"]] = score
                answer.success()
            else:
                if answer.status_code:
                    RECORD.answer_rejected[slug].append(invitation["id"])
                else:
                    RECORD.answer_unknown[slug].append(invitation["id"])
                answer.failure(f"answer: {answer.status_code} to {location or '-'}")
                return
        # The redirect, followed as a browser would.
        with self.client.get(
            location, name="survey: thanks page", catch_response=True, timeout=TIMEOUT
        ) as thanks:
            if thanks.status_code != 200 or thanks.history:
                thanks.failure(f"thanks page: {thanks.status_code}")


class ApiClient(HttpUser):
    """An organization's system pushing usage events in batches, retrying some."""

    weight = 2
    wait_time = between(*WAIT)
    counter = 0

    def on_start(self) -> None:
        ApiClient.counter += 1
        self.number = ApiClient.counter
        self.organization = ORGANIZATIONS[self.number % len(ORGANIZATIONS)]
        self.slug = self.organization["slug"]
        self.headers = {"Authorization": f"Bearer {self.organization['api_key']}"}
        self.sequence = 0
        self.sent: list[list[dict[str, Any]]] = []  # accepted batches, for retries

    def _events(self, count: int) -> list[dict[str, Any]]:
        now = datetime.now(UTC)  # clock-ok: the sender's own clock, outside the application
        batch = []
        for _ in range(count):
            self.sequence += 1
            event_id = f"{PLAN['run_id']}-{self.number}-{self.sequence}"
            account = RNG.choice(self.organization["accounts"])
            event: dict[str, Any] = {
                "id": event_id,
                "account_external_id": account["external_id"],
                "event": RNG.choice(FEATURES),
                # Over the last three days, so the rollups of several days change.
                "occurred_at": (now - timedelta(seconds=RNG.randint(0, 3 * 86_400))).isoformat(),
                "properties": {"loadtest_id": event_id},
            }
            if account["contacts"] and RNG.random() < 0.5:
                event["contact_email"] = RNG.choice(account["contacts"])
            if RNG.random() < 0.3:
                event["quantity"] = RNG.randint(1, 20)
            batch.append(event)
        return batch

    def _post(
        self, batch: list[dict[str, Any]], name: str, new: int, client: HttpSession | None = None
    ) -> int | None:
        """POST the batch; the number of events the server says it created, or None."""
        ids = {e["id"] for e in batch}
        RECORD.batches[name] += 1
        with (
            RECORD.sending("events", self.slug, ids),
            (client or self.client).post(
                "/api/v1/events/batch/",
                json={"events": batch},
                headers=self.headers,
                name=name,
                catch_response=True,
                allow_redirects=False,
                timeout=TIMEOUT,
            ) as response,
        ):
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
                if not response.status_code:
                    RECORD.events_unknown[self.slug] |= ids
                return None
            body = response.json()
            RECORD.events_accepted[self.slug] |= ids
            created = int(body["created"])
            RECORD.events_created_reported[self.slug] += created
            if body["received"] != len(batch) or body["created"] + body["duplicates"] != len(batch):
                response.failure(f"inconsistent answer {body}")
            elif new >= 0 and created != new:
                # new < 0: the caller checks (concurrent retries share their new events).
                RECORD.idempotency_violations.append(
                    f"{name}: {created} created of {len(batch)} ({new} new)"
                )
                response.failure(f"created {created}, expected {new}")
            return created

    @task(8)
    def new_batch(self) -> None:
        batch = self._events(BATCH_SIZE)
        if self._post(batch, "api: events batch", new=len(batch)) is not None:
            self.sent.append(batch)

    @task(1)
    def retry(self) -> None:
        """The same batch again, as a client does when it missed the first answer."""
        if self.sent:
            self._post(RNG.choice(self.sent), "api: events retry (same batch)", new=0)

    @task(1)
    def overlap(self) -> None:
        """Half events already sent, half new: only the new ones are created."""
        if not self.sent:
            return
        old = RNG.sample(RNG.choice(self.sent), BATCH_SIZE // 2)
        fresh = self._events(BATCH_SIZE - len(old))
        batch = old + fresh
        RNG.shuffle(batch)
        if self._post(batch, "api: events retry (overlapping)", new=len(fresh)) is not None:
            self.sent.append(fresh)

    @task(1)
    def concurrent_retry(self) -> None:
        """A new batch sent twice at the same moment (a client timing out and retrying
        while the first request still runs): the two create it once between them."""
        batch = self._events(BATCH_SIZE)
        twin = HttpSession(
            base_url=self.host, request_event=self.environment.events.request, user=self
        )
        name = "api: events retry (concurrent)"
        jobs = [
            gevent.spawn(self._post, batch, name, -1),
            gevent.spawn(self._post, batch, name, -1, twin),
        ]
        gevent.joinall(jobs)
        created = [job.value for job in jobs]
        if None not in created:
            if sum(created) != len(batch):
                RECORD.idempotency_violations.append(
                    f"{name}: {created} created of {len(batch)} by two identical requests"
                )
            self.sent.append(batch)


class Manager(HttpUser):
    """A CS manager signed in, moving between the dashboards."""

    weight = 2
    wait_time = between(*WAIT)
    counter = 0

    def on_start(self) -> None:
        Manager.counter += 1
        self.organization = ORGANIZATIONS[Manager.counter % len(ORGANIZATIONS)]
        self.base = f"/o/{self.organization['slug']}/"
        with self.client.get(
            "/accounts/login/",
            name="dashboard: sign-in page",
            catch_response=True,
            timeout=TIMEOUT,
        ) as page:
            found = CSRF_FIELD.search(page.text or "")
            if page.status_code != 200 or found is None:
                page.failure(f"login page: {page.status_code}")
                raise StopUser
        with self.client.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": found.group(1),
                "username": self.organization["manager_email"],
                "password": self.organization["manager_password"],
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="dashboard: sign in",
            catch_response=True,
            allow_redirects=False,
            timeout=TIMEOUT,
        ) as signed:
            if signed.status_code != 302:
                signed.failure(f"sign in: {signed.status_code}")
                raise StopUser

    def _page(self, path: str, name: str) -> None:
        with self.client.get(
            self.base + path,
            name=f"dashboard: {name}",
            catch_response=True,
            allow_redirects=False,
            timeout=TIMEOUT,
        ) as page:
            if page.status_code != 200:
                where = page.headers.get("Location", "")
                page.failure(f"{name}: {page.status_code} {where}".strip())

    @task(3)
    def home(self) -> None:
        self._page("", "home")

    @task(2)
    def accounts(self) -> None:
        self._page("accounts/", "accounts list")

    @task(3)
    def account(self) -> None:
        account = RNG.choice(self.organization["accounts"])
        self._page(f"accounts/{account['id']}/", "account page")

    @task(1)
    def revenue(self) -> None:
        self._page("revenue/", "revenue")

    @task(1)
    def executive(self) -> None:
        self._page("executive/", "executive")
