"""Webhooks end to end: real HTTP receivers that fail, time out and verify signatures (SPEC §8).

The daily job and a warehouse report put one notification of each topic in the outbox; the
dispatcher posts them to receivers on 127.0.0.1 that answer 500, drop the connection or stall
at first. Each receiver must end up accepting every notification exactly once, and refuse
anything whose body or signature was tampered with.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jifen.domain.webhooks import RetryPolicy, sign, verify_signature
from jifen.services import notifications
from jifen.services.notifications import http_send
from jifen.storage.crypto import IdentityVault
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import Api
from tests.integration.services.test_notifications import ALL_TOPICS, NOW, scenario

STALL_SECONDS = 1.5
TIMEOUT_SECONDS = 0.5  # the sender gives up on a stalled receiver well before it answers
send = functools.partial(http_send, timeout=TIMEOUT_SECONDS)


class Receiver(ThreadingHTTPServer):
    """A webhook receiver: answers the scripted failures first, then verifies and accepts.

    `accepted` counts each notification (by `X-Jifen-Delivery`) answered 2xx; `rejected` counts
    requests refused for their signature. `clock` is the receiver's idea of now.
    """

    daemon_threads = True

    def __init__(self, failures: list[Any]) -> None:
        super().__init__(("127.0.0.1", 0), Hook)
        self.failures = failures
        self.secret = ""
        self.clock = NOW
        self.accepted: Counter[str] = Counter()
        self.topics: dict[str, str] = {}
        self.rejected = 0
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/jifen"


class Hook(BaseHTTPRequestHandler):
    """The handler of `Receiver`."""

    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        receiver = self.server
        with receiver.lock:
            receiver.requests += 1
            failure = receiver.failures.pop(0) if receiver.failures else None
        if failure == "drop":
            return  # no answer at all: the connection closes
        if failure == "stall":
            threading.Event().wait(STALL_SECONDS)  # longer than the sender waits
            return
        if failure is not None:
            self._answer(failure)
            return
        headers = self.headers
        signed = headers["X-Jifen-Timestamp"], body, headers["X-Jifen-Signature"]
        if not verify_signature(receiver.secret, *signed, receiver.clock):
            with receiver.lock:
                receiver.rejected += 1
            self._answer(401)
            return
        with receiver.lock:
            receiver.accepted[headers["X-Jifen-Delivery"]] += 1
            receiver.topics[headers["X-Jifen-Delivery"]] = json.loads(body)["topic"]
        self._answer(204)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    """An SMS gateway that fails its first four requests, and an app gateway that is down."""
    sms = Receiver([500, "drop", "stall", 503])
    app = Receiver([500] * 50)
    threads = [threading.Thread(target=r.serve_forever, daemon=True) for r in (sms, app)]
    for thread in threads:
        thread.start()
    yield sms, app
    for receiver in (sms, app):
        receiver.shutdown()
        receiver.server_close()


def register(api: Api, receiver: Receiver, topics: list[str]) -> int:
    answer = api.post("/v1/webhooks", {"url": receiver.url, "topics": topics})
    assert answer.status_code == 201, answer.json()
    receiver.secret = answer.json()["secret"]
    return int(answer.json()["id"])


def dispatch(
    uow: SqlUnitOfWork, vault: IdentityVault, receivers: tuple[Receiver, ...], at: datetime
):
    for receiver in receivers:
        receiver.clock = at
    return notifications.deliver_due(
        uow, vault=vault, now=at, send=send, policy=RetryPolicy(max_attempts=3)
    )


def test_every_notification_is_accepted_exactly_once_after_failures_and_retries(
    api: Api, uow, railway, vault, *, enrol_member, receivers
):
    sms, app = receivers
    register(api, sms, ALL_TOPICS)
    app_id = register(api, app, ["tier.changed", "order.shipped"])
    scenario(uow, program=railway, vault=vault, member=enrol_member())

    first = dispatch(uow, vault, receivers, NOW)
    assert (first.fanned_out, first.delivered, first.retrying) == (6, 0, 6)
    problems = sorted(error.split(": ", 1)[1] for error in first.errors)
    assert problems[:4] == ["HTTP 500", "HTTP 500", "HTTP 500", "HTTP 503"]  # app 2, SMS 2
    assert "RemoteDisconnected" in problems[4]  # dropped without an answer
    assert "timed out" in problems[5]  # stalled past the sender's timeout
    now, passes = NOW + timedelta(minutes=10), 1
    while notifications.deliveries(uow, status="pending"):
        dispatch(uow, vault, receivers, now)
        now += timedelta(minutes=10)  # past every wait of a third try (at most 60 s)
        passes += 1
        assert passes < 10
    # Four failures in a row then success for the SMS gateway; the app gateway is dead.
    assert sorted(sms.topics.values()) == sorted(ALL_TOPICS)
    assert set(sms.accepted.values()) == {1}
    assert app.accepted == Counter()
    dead = api.get("/v1/webhooks/deliveries", params={"status": "dead"}).json()["deliveries"]
    assert [(d["endpoint_id"], d["attempts"], d["last_status"]) for d in dead] == [
        (app_id, 3, 500),
        (app_id, 3, 500),
    ]

    # The app gateway is back: replay its dead letters from the API at the sandbox's time.
    app.failures.clear()
    assert api.post("/v1/clock", {"now": now.isoformat()}).status_code == 200
    for delivery in dead:
        replayed = api.post(f"/v1/webhooks/deliveries/{delivery['id']}/replay")
        assert replayed.status_code == 200, replayed.json()
        assert (replayed.json()["status"], replayed.json()["attempts"]) == ("pending", 0)
    report = dispatch(uow, vault, receivers, now)
    assert (report.delivered, report.retrying, report.dead) == (2, 0, 0)
    assert sorted(app.topics.values()) == ["order.shipped", "tier.changed"]
    assert set(app.accepted.values()) == {1}
    assert dispatch(uow, vault, receivers, now + timedelta(days=1)).delivered == 0
    assert sms.rejected == app.rejected == 0
    assert set(sms.accepted) >= set(app.accepted)  # the same notification ids for both


def test_the_receiver_rejects_a_tampered_body_or_signature(api: Api, receivers):
    sms, _app = receivers
    register(api, sms, ALL_TOPICS)
    sms.failures.clear()
    body = json.dumps({"id": 1, "topic": "order.shipped", "data": {"points": 10}}).encode()
    timestamp = str(int(NOW.timestamp()))
    good = sign(sms.secret, timestamp, body)

    def post(payload: bytes, signature: str, at: str = timestamp) -> int:
        headers = {
            "X-Jifen-Event": "order.shipped",
            "X-Jifen-Delivery": "1",
            "X-Jifen-Timestamp": at,
            "X-Jifen-Signature": signature,
        }
        return send(sms.url, payload, headers)

    assert post(body.replace(b"10", b"99"), good) == 401  # body changed
    assert post(body, good[:-1] + ("0" if good[-1] != "0" else "1")) == 401  # signature changed
    assert post(body, sign("whsec_guess", timestamp, body)) == 401  # signed with another key
    old = str(int((NOW - timedelta(minutes=6)).timestamp()))
    assert post(body, sign(sms.secret, old, body), at=old) == 401  # replayed too late
    assert (sms.rejected, sms.accepted) == (4, Counter())
    assert post(body, good) == 204
    assert sms.accepted == Counter({"1": 1})


class TestWebhookApi:
    """Registering endpoints and reading deliveries over HTTP (admin only)."""

    def test_the_secret_is_shown_once_and_never_listed(self, api: Api):
        body = {"url": "https://gw.example.com/h", "topics": ["order.shipped", "tier.changed"]}
        created = api.post("/v1/webhooks", body)
        assert created.status_code == 201
        assert created.json()["secret"].startswith("whsec_")
        assert created.json()["topics"] == ["tier.changed", "order.shipped"]
        listed = api.get("/v1/webhooks").json()["endpoints"]
        assert [e["url"] for e in listed] == ["https://gw.example.com/h"]
        assert "secret" not in listed[0]
        again = api.post("/v1/webhooks", body)
        assert (again.status_code, again.json()["error"]["code"]) == (409, "endpoint_exists")

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"url": "https://gw.example.com/h", "topics": ["member.deleted"]}, "unknown_topic"),
            ({"url": "ftp://gw.example.com/h", "topics": ["tier.changed"]}, "invalid_request"),
            ({"url": "https://gw.example.com/h", "topics": []}, "validation_error"),
            ({"url": "https://gw.example.com/h"}, "validation_error"),
        ],
    )
    def test_bad_endpoints_are_refused(self, api: Api, body: dict[str, Any], code: str):
        answer = api.post("/v1/webhooks", body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, code)
        assert api.get("/v1/webhooks").json()["endpoints"] == []

    @pytest.mark.parametrize("role", ["operator", "integrator", "analyst"])
    def test_only_admins_manage_webhooks(self, api: Api, role: str):
        assert api.get("/v1/webhooks", role=role).status_code == 403
        assert api.get("/v1/webhooks/deliveries", role=role).status_code == 403
        body = {"url": "https://gw.example.com/h", "topics": ["tier.changed"]}
        assert api.post("/v1/webhooks", body, role=role).status_code == 403

    def test_replaying_an_unknown_or_live_delivery_is_refused(self, api: Api, uow, vault):
        assert api.post("/v1/webhooks/deliveries/99/replay").json()["error"]["code"] == "not_found"
        body = {"url": "https://gw.example.com/h", "topics": ["order.shipped"]}
        api.post("/v1/webhooks", body)
        from tests.integration.services.test_notifications import seed  # noqa: PLC0415

        seed(uow, 1)
        notifications.fan_out(uow, now=NOW)
        [pending] = api.get("/v1/webhooks/deliveries").json()["deliveries"]
        answer = api.post(f"/v1/webhooks/deliveries/{pending['id']}/replay")
        assert (answer.status_code, answer.json()["error"]["code"]) == (409, "delivery_not_dead")
        dead = api.get("/v1/webhooks/deliveries", params={"status": "dead"}).json()
        assert dead == {"deliveries": []}
