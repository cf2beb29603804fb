"""`POST /v1/events` with `Prefer: respond-async` (through the stream) and `GET /v1/events/{id}`.

The stream tests use the JetStream server every machine here runs at 127.0.0.1:4222, with a stream
of their own; they are skipped where none answers.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from jifen.storage.crypto import IdentityVault
from jifen.stream.consumer import Consumer, batch_applier
from jifen.stream.publisher import BlockingPublisher
from jifen.stream.streams import StreamNames
from tests.conftest import Api
from tests.e2e.api.test_api_contract import activity

SHARED_SERVER = ("127.0.0.1", 4222)
ASYNC = {"Prefer": "respond-async"}


def _server_answers() -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(SHARED_SERVER) == 0


def test_without_a_stream_respond_async_is_answered_at_once(
    api: Api, enrol_member: Callable[..., int]
) -> None:
    member = enrol_member()
    api.post("/v1/clock", {"now": "2025-01-11T09:00:00+08:00"})
    body = {"events": [activity("a-1", member_id=member, points=40)]}
    sent = api.client.post("/v1/events", json=body, headers=api.headers("integrator") | ASYNC)
    assert sent.status_code == 200
    assert sent.json()["results"][0]["status"] == "applied"
    found = api.get("/v1/events/a-1", role="integrator")
    assert found.status_code == 200
    body = found.json()
    assert (body["status"], body["member_id"], body["outcome"]["credited"]["activity"]) == (
        "applied",
        member,
        40,
    )


def test_an_event_never_applied_is_not_found(api: Api) -> None:
    missing = api.get("/v1/events/nothing-like-it", role="integrator")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "event_not_found"


@pytest.mark.skipif(not _server_answers(), reason="no NATS server at 127.0.0.1:4222")
def test_events_sent_async_are_accepted_then_applied_by_a_consumer(
    api: Api,
    engine: Engine,
    vault: IdentityVault,
    enrol_member: Callable[..., int],
) -> None:
    tag = uuid.uuid4().hex[:10]
    names = StreamNames("nats://127.0.0.1:4222", f"T_{tag}", f"t{tag}.events", partitions=2)
    api.client.app.state.jifen.stream = BlockingPublisher(names)
    member = enrol_member()
    api.post("/v1/clock", {"now": "2025-01-11T09:00:00+08:00"})
    events = [
        activity("s-1", member_id=member, points=30),
        activity("s-2", member_id=999_999_999, points=30),  # no such member: refused later
        {"id": "s-3", "type": "activity.completed"},  # malformed: refused now
    ]
    sent = api.client.post(
        "/v1/events", json={"events": events}, headers=api.headers("integrator") | ASYNC
    )
    assert sent.status_code == 202
    assert [r["status"] for r in sent.json()["results"]] == ["accepted", "accepted", "rejected"]
    assert api.get("/v1/events/s-1", role="integrator").status_code == 404  # not applied yet

    consumer = Consumer(names, batch_applier(engine, vault, timedelta(minutes=10)), ack_wait=5)
    tally = asyncio.run(consumer.run(asyncio.Event(), idle_exit=2))

    assert (tally.applied, tally.dead) == (1, 1)
    applied = api.get("/v1/events/s-1", role="integrator").json()
    assert (applied["status"], applied["outcome"]["credited"]["activity"]) == ("applied", 30)
    refused = api.get("/v1/events/s-2", role="integrator").json()
    assert (refused["status"], refused["error"]["code"]) == ("rejected", "rider_not_member")
