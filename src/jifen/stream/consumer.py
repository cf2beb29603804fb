"""Consumer workers: events pulled from the stream in batches, applied, acked after the commit.

Each partition has one durable pull consumer, and one worker at a time holds its lease
(`leases.py`) and fetches from it, a batch at a time (at most one batch un-acked): a partition's
events are applied in order. A worker that dies leaves its batch un-acked and stops renewing its
leases; after the ack wait another worker takes the partition and JetStream delivers the batch
again, whatever of it was committed coming back a `duplicate` (events are idempotent by id).
(Sharing a consumer without leases would not keep the order: while one worker applies a short
batch, another's fetch gets the events after it.)

An event refused with a stable code (a rider who is no member, a ticket conflict …) would be
refused again: it goes to the dead-letter subject at once, with its error, as `jifen import` puts
it in its rejects file. An event that fails unexpectedly is delivered again after a pause, and
after `max_deliver` deliveries goes to the dead letters too. A batch that cannot be applied at all
(the database is away) is delivered again, never dead-lettered: nothing is wrong with its events.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic, perf_counter
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as FetchTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import Engine

from jifen.services.events import EventResult
from jifen.services.events.batch import apply_batch
from jifen.services.programs import active_program
from jifen.storage.crypto import IdentityVault
from jifen.storage.uow import SqlUnitOfWork
from jifen.stream import metrics
from jifen.stream.leases import Leases
from jifen.stream.publisher import RECEIVED_AT
from jifen.stream.routing import dead_subject_for, subject_for
from jifen.stream.streams import StreamNames, connect, ensure_streams

log = logging.getLogger(__name__)

Apply = Callable[[list[Any], datetime], list[EventResult]]
"""Applies a batch of raw events received at a moment, committed before it returns."""

RETRY_DELAY = 2.0  # seconds before an event that failed unexpectedly is delivered again
FETCH_WAIT = 1.0
UNEXPECTED = "internal_error"


def batch_applier(engine: Engine, vault: IdentityVault, tolerance: timedelta) -> Apply:
    """Applies a batch through the bulk path on the program active at the time."""

    def apply(raw_events: list[Any], received_at: datetime) -> list[EventResult]:
        uow = SqlUnitOfWork(engine)
        return apply_batch(
            uow,
            program=active_program(uow),
            vault=vault,
            raw_events=raw_events,
            received_at=received_at,
            future_tolerance=tolerance,
        )

    return apply


@dataclass
class Tally:
    """What a worker did so far."""

    applied: int = 0
    duplicate: int = 0
    dead: int = 0
    retried: int = 0
    lag: dict[int, int] = field(default_factory=dict)

    def count(self, status: str, n: int = 1) -> None:
        """Count `n` events that ended as `status`."""
        setattr(self, status, getattr(self, status) + n)
        metrics.CONSUMED.labels(status).inc(n)


@dataclass
class Consumer:
    """One worker: a task per partition, batches applied one at a time on one database thread."""

    names: StreamNames
    apply: Apply
    batch: int = 500
    max_deliver: int = 5
    ack_wait: float = 30.0
    retry_delay: float = RETRY_DELAY
    on_dead: Callable[[dict[str, Any]], None] = lambda _letter: None
    tally: Tally = field(default_factory=Tally)
    last_message: float = field(default_factory=monotonic)
    leases: Leases = field(init=False)

    async def run(self, stop: asyncio.Event, *, idle_exit: float | None = None) -> Tally:
        """Consume until `stop` is set (or nothing came for `idle_exit` seconds)."""
        client, js = await connect(self.names)
        await ensure_streams(js, self.names)
        self.leases = Leases(self.names, ttl=self.ack_wait)
        await self.leases.open(js)
        executor = ThreadPoolExecutor(1, thread_name_prefix="jifen-consume")
        try:
            tasks = [
                asyncio.create_task(self._partition(js, executor, p, stop))
                for p in range(self.names.partitions)
            ]
            renewed = 0.0
            while not stop.is_set():
                if idle_exit is not None and monotonic() - self.last_message > idle_exit:
                    stop.set()
                if monotonic() - renewed > self.ack_wait / 3:
                    renewed = monotonic()
                    await _quietly(self.leases.renew())
                await asyncio.sleep(0.2)
            await asyncio.gather(*tasks)
            await self.leases.release_all()
        finally:
            executor.shutdown(wait=True)
            await _quietly(client.flush())  # the last acks out before the connection goes
            await client.close()
        return self.tally

    async def _partition(
        self,
        js: JetStreamContext,
        executor: ThreadPoolExecutor,
        partition: int,
        stop: asyncio.Event,
    ) -> None:
        subscription = None
        while not stop.is_set():
            if not self.leases.holds(partition):
                await asyncio.sleep(0.2)
                continue
            if self.leases.beyond_share():  # between two batches: safe to hand on
                await self.leases.release(partition)
                continue
            try:
                if subscription is None:
                    subscription = await self._subscribe(js, partition)
                messages = await subscription.fetch(self.batch, timeout=FETCH_WAIT)
            except (TimeoutError, FetchTimeout):  # nothing came within the wait
                messages = []
            except Exception as error:  # noqa: BLE001 - a server away: ask again shortly
                log.warning("partition %d: %r; trying again", partition, error)
                await asyncio.sleep(0.5)
                continue
            if not messages:
                self._lag(partition, 0)
                continue
            self.last_message = monotonic()
            self._lag(partition, messages[-1].metadata.num_pending)
            await self._handle(js, executor, partition, messages, stop)
            self.last_message = monotonic()

    async def _subscribe(self, js: JetStreamContext, partition: int) -> Any:
        subject = subject_for(self.names.subject, partition)
        config = ConsumerConfig(
            durable_name=self.names.durable(partition),
            filter_subject=subject,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_ack_pending=self.batch,  # one batch in flight per partition: its order kept
            max_deliver=-1,  # dead letters are ours to send, with the error
        )
        return await js.pull_subscribe(
            subject, durable=config.durable_name, stream=self.names.stream, config=config
        )

    def _lag(self, partition: int, pending: int) -> None:
        self.tally.lag[partition] = pending
        metrics.LAG.labels(str(partition)).set(pending)

    async def _handle(
        self,
        js: JetStreamContext,
        executor: ThreadPoolExecutor,
        partition: int,
        messages: list[Msg],
        stop: asyncio.Event,
    ) -> None:
        readable: list[tuple[Msg, Any]] = []
        for message in messages:
            try:
                readable.append((message, json.loads(message.data)))
            except ValueError as error:
                unreadable = {"code": "unreadable", "message": str(error), "details": {}}
                await self._dead(js, message, None, unreadable)
        if not readable:
            return
        started = perf_counter()
        received_at = max(_received_at(message) for message, _ in readable)
        raws = [raw for _, raw in readable]
        loop = asyncio.get_running_loop()
        while True:
            try:
                results = await loop.run_in_executor(executor, self.apply, raws, received_at)
                break
            except Exception:
                log.exception("partition %d: a batch of %d failed", partition, len(raws))
                self.tally.count("retried", len(readable))
            # Tried again in place, not handed back: the partition's later events must wait for
            # it (a nak would let the next fetch deliver them first). While the lease holds, the
            # batch stays ours; once it lapses, JetStream gives it to the next holder whole.
            await asyncio.sleep(self.retry_delay)
            if stop.is_set() or not self.leases.holds(partition):
                return
            for message, _ in readable:
                await _quietly(message.in_progress())
        metrics.BATCH_SECONDS.set(perf_counter() - started)
        for (message, raw), result in zip(readable, results, strict=True):
            await self._settle(js, message, raw, result)

    async def _settle(
        self, js: JetStreamContext, message: Msg, raw: Any, result: EventResult
    ) -> None:
        """Ack an event that was applied (or was already), retry it, or send it to the dead."""
        if result.status in ("applied", "duplicate"):
            await _quietly(message.ack())
            self.tally.count(result.status)
            return
        error = result.error or {"code": UNEXPECTED, "message": "", "details": {}}
        if error["code"] == UNEXPECTED and message.metadata.num_delivered < self.max_deliver:
            await _quietly(message.nak(delay=self.retry_delay))
            self.tally.count("retried")
            return
        await self._dead(js, message, raw, error)

    async def _dead(
        self, js: JetStreamContext, message: Msg, raw: Any, error: dict[str, Any]
    ) -> None:
        """Publish the event with its error to the dead-letter subject, then ack it."""
        meta = message.metadata
        event_id = raw.get("id") if isinstance(raw, dict) else None
        key = event_id if isinstance(event_id, str) else f"seq:{meta.sequence.stream}"
        letter = {
            "event": raw if raw is not None else message.data.decode("utf-8", "replace"),
            "error": error,
            "deliveries": meta.num_delivered,
            "subject": message.subject,
            "sequence": meta.sequence.stream,
        }
        try:
            await js.publish(
                dead_subject_for(self.names.subject, key),
                json.dumps(letter, ensure_ascii=False, default=str).encode("utf-8"),
                headers={"Nats-Msg-Id": f"dead:{meta.sequence.stream}"},
            )
        except Exception:  # not recorded: leave it un-acked, to come back
            log.exception("a dead letter could not be published; it will come back")
            return
        await _quietly(message.ack())
        self.tally.count("dead")
        metrics.DEAD_LETTERS.labels(str(error.get("code", "unknown"))).inc()
        self.on_dead(letter)


def _received_at(message: Msg) -> datetime:
    """When the event reached Jifen: as the publisher said, else when the stream stored it."""
    header = (message.headers or {}).get(RECEIVED_AT)
    if header:
        try:
            return datetime.fromisoformat(header)
        except ValueError:
            pass
    return message.metadata.timestamp


async def _quietly(acknowledgement: Any) -> None:
    """Send an ack or nak; one lost to a broken connection only means a redelivery."""
    try:
        await acknowledgement
    except Exception as error:  # noqa: BLE001 - the event comes back and is a duplicate then
        log.warning("an acknowledgement was lost: %r", error)
