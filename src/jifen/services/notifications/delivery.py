"""The dispatcher: fan the outbox out to endpoints, send what is due, retry, dead-letter, replay.

`deliver_due` is one pass at a given `now`. A delivery is claimed (its try counted and leased)
and committed before it is sent, the HTTP call is made outside any transaction, and its outcome
is written after: a dispatcher that dies mid-send leaves the delivery to be tried again when the
lease ends, so receivers may see a notification twice and dedupe by `X-Jifen-Delivery`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jifen.domain.errors import JifenError, NotFound
from jifen.domain.webhooks import RetryPolicy, is_accepted, next_attempt, sign
from jifen.services import audit
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.crypto import IdentityVault
from jifen.storage.notification_repository import (
    Delivery,
    NotificationRepository,
    Outcome,
    Outgoing,
)

Send = Callable[[str, bytes, Mapping[str, str]], int]
"""Post `body` with `headers` to a URL and return the HTTP status; raise when no answer came."""

BATCH = 50
WORKERS = 8
LEASE = timedelta(minutes=10)
"""How long a claimed delivery is left to its dispatcher; longer than a batch of sends takes."""


class DeliveryNotDead(JifenError):
    """Only a dead delivery can be replayed."""

    code = "delivery_not_dead"
    status = 409


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one pass did: deliveries created, accepted, to be retried, and given up (dead)."""

    fanned_out: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def body_of(outgoing: Outgoing) -> bytes:
    """The JSON a receiver gets: the notification's id, topic, time and data (canonical form)."""
    document = {
        "id": outgoing.notification_id,
        "topic": outgoing.topic,
        "occurred_at": outgoing.occurred_at.isoformat(),
        "data": outgoing.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def headers_of(outgoing: Outgoing, *, secret: str, body: bytes, now: datetime) -> dict[str, str]:
    """The headers of a try at `now`, signed with the endpoint's secret."""
    timestamp = str(int(now.timestamp()))
    return {
        "Content-Type": "application/json",
        "User-Agent": "jifen-webhooks/1",
        "X-Jifen-Event": outgoing.topic,
        "X-Jifen-Delivery": str(outgoing.notification_id),
        "X-Jifen-Timestamp": timestamp,
        "X-Jifen-Signature": sign(secret, timestamp, body),
    }


def fan_out(uow: UnitOfWork, *, now: datetime, limit: int = 500) -> int:
    """Give each new notification a delivery due at `now` per active endpoint taking its topic.

    Endpoints registered later see only later notifications. Returns the deliveries created.
    """
    created = 0
    while True:
        with uow:
            repository = uow.notifications
            fresh = repository.unfanned(limit)
            endpoints = repository.endpoints(active_only=True)
            rows = [
                {
                    "notification_id": n,
                    "endpoint_id": e.id,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for n, topic in fresh
                for e in endpoints
                if topic in e.topics
            ]
            repository.add_deliveries(rows, [n for n, _t in fresh])
            uow.commit()
        created += len(rows)
        if len(fresh) < limit:
            return created


def deliver_due(
    uow: UnitOfWork,
    *,
    vault: IdentityVault,
    now: datetime,
    send: Send,
    policy: RetryPolicy | None = None,
    batch: int = BATCH,
    workers: int = WORKERS,
) -> DeliveryReport:
    """One pass: fan out, then send every delivery due at `now`, a batch at a time.

    A batch is sent by up to `workers` threads (sends wait on the network, not the CPU). 2xx
    marks a delivery delivered; anything else (another status, a timeout, a refused connection)
    schedules the next try by the policy's backoff, or marks it dead after the policy's last try.
    One failing endpoint never stops the others.
    """
    policy = policy or RetryPolicy()
    fanned = fan_out(uow, now=now)
    counts = {"delivered": 0, "retrying": 0, "dead": 0}
    errors: list[str] = []
    post = functools.partial(_send, vault=vault, now=now, send=send)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jifen-webhook") as pool:
        while True:
            with uow:
                claimed = uow.notifications.claim_due(now=now, lease_until=now + LEASE, limit=batch)
                uow.commit()
            answers = pool.map(post, claimed)
            tried = [(o, *answer) for o, answer in zip(claimed, answers, strict=True)]
            for (outgoing, _status, error), outcome in zip(
                tried, _record(uow, tried, now=now, policy=policy), strict=True
            ):
                counts[outcome] += 1
                if error is not None:
                    errors.append(f"delivery {outgoing.delivery_id}: {error}")
            if len(claimed) < batch:
                return DeliveryReport(fanned, errors=errors, **counts)


def _send(
    outgoing: Outgoing, *, vault: IdentityVault, now: datetime, send: Send
) -> tuple[int | None, str | None]:
    """Post one delivery: `(HTTP status or None, error or None)`."""
    body = body_of(outgoing)
    status: int | None = None
    try:
        secret = vault.decrypt(outgoing.secret_enc)
        status = send(outgoing.url, body, headers_of(outgoing, secret=secret, body=body, now=now))
    except Exception as failure:  # noqa: BLE001 - any failure of one send is that delivery's
        return status, f"{type(failure).__name__}: {failure}"
    return status, None if is_accepted(status) else f"HTTP {status}"


def _record(
    uow: UnitOfWork,
    tried: list[tuple[Outgoing, int | None, str | None]],
    *,
    now: datetime,
    policy: RetryPolicy,
) -> list[str]:
    """Write a batch's outcomes in one transaction: delivered, retrying or dead for each."""
    outcomes: list[Outcome] = []
    for outgoing, status, error in tried:
        if error is None:
            outcomes.append(Outcome(outgoing.delivery_id, "delivered", now, status, None, now))
            continue
        retry_at = next_attempt(
            policy, delivery_id=outgoing.delivery_id, attempts=outgoing.attempts, failed_at=now
        )
        state = "pending" if retry_at else "dead"
        outcomes.append(Outcome(outgoing.delivery_id, state, retry_at or now, status, error, None))
    with uow:
        uow.notifications.record_outcomes(outcomes)
        uow.commit()
    return [
        "delivered" if o.error is None else "retrying" if o.status == "pending" else "dead"
        for o in outcomes
    ]


def deliveries(
    uow: UnitOfWork, *, status: str | None = None, endpoint_id: int | None = None, limit: int = 100
) -> list[Delivery]:
    """Deliveries in id order, optionally only those of one status or endpoint."""
    with uow:
        return uow.notifications.deliveries(status=status, endpoint_id=endpoint_id, limit=limit)


def get_delivery(uow: UnitOfWork, *, delivery_id: int) -> Delivery:
    """One delivery; `NotFound` when there is none with this id."""
    with uow:
        found = uow.notifications.get_delivery(delivery_id)
    if found is None:
        raise NotFound(f"No delivery {delivery_id}.", delivery_id=delivery_id)
    return found


def replay(
    uow: UnitOfWork,
    *,
    now: datetime,
    actor: str,
    delivery_id: int | None = None,
    endpoint_id: int | None = None,
) -> int:
    """Put dead deliveries back to pending, due at `now` with every try again; returns how many.

    One delivery (`DeliveryNotDead` unless it is dead, `NotFound` if unknown), an endpoint's dead
    deliveries, or every dead delivery when neither is given.
    """
    with uow:
        repository = uow.notifications
        if delivery_id is not None:
            _require_dead(repository, delivery_id)
        replayed = repository.replay(now=now, delivery_id=delivery_id, endpoint_id=endpoint_id)
        subject = (
            f"delivery:{delivery_id}"
            if delivery_id is not None
            else f"webhook:{endpoint_id}"
            if endpoint_id is not None
            else "webhooks"
        )
        details: dict[str, Any] = {"replayed": replayed}
        audit.record(
            uow, at=now, actor=actor, action="webhook.replayed", subject=subject, details=details
        )
        uow.commit()
    return replayed


def _require_dead(repository: NotificationRepository, delivery_id: int) -> None:
    found = repository.get_delivery(delivery_id)
    if found is None:
        raise NotFound(f"No delivery {delivery_id}.", delivery_id=delivery_id)
    if found.status != "dead":
        raise DeliveryNotDead(
            f"Delivery {delivery_id} is {found.status}; only a dead delivery can be replayed.",
            delivery_id=delivery_id,
            status=found.status,
        )
