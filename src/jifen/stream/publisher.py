"""Publishing events to the stream: routed by rider, de-duplicated by event id (`Nats-Msg-Id`).

Each event carries when it reached Jifen (`Jifen-Received-At`): the consumer applies it as of that
moment, not as of when it happens to be consumed, so a backlog changes no outcome.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NotFoundError

from jifen.services.bulk import chunked
from jifen.services.event_files import UNREADABLE, FileRecord, RejectsWriter, read_events
from jifen.services.events import EventResult, parse_or_refuse
from jifen.stream.routing import Router, dead_subject_for, subject_for
from jifen.stream.streams import StreamNames, connect, ensure_streams

log = logging.getLogger(__name__)

RECEIVED_AT = "Jifen-Received-At"
WINDOW = 1000  # publishes waiting for their acknowledgement at once
ATTEMPTS = 30  # a node restarting takes a few seconds: retry, de-duplication makes it safe


@dataclass(frozen=True, slots=True)
class Published:
    """What the stream said of each event: taken, or a duplicate of one taken before."""

    taken: int
    duplicate: int


class EventPublisher:
    """Puts events on the stream from asyncio code; `connect` it first."""

    def __init__(self, names: StreamNames) -> None:
        self.names = names
        self.router = Router(names.partitions)
        self.client: Client | None = None
        self.js: JetStreamContext | None = None

    async def connect(self) -> None:
        """Connect, and create the streams if they do not exist yet."""
        self.client, self.js = await connect(self.names)
        await ensure_streams(self.js, self.names)

    def _js(self) -> JetStreamContext:
        if self.js is None:
            msg = "connect the publisher first"
            raise RuntimeError(msg)
        return self.js

    async def close(self) -> None:
        """Wait for what is in flight and disconnect."""
        if self.client is not None:
            await self.client.drain()

    async def publish(
        self,
        raw_events: Iterable[dict[str, Any]],
        *,
        received_at: datetime,
        progress: Callable[[int], None] | None = None,
    ) -> list[bool]:
        """Publish valid events in order; for each, whether the stream had it already."""
        self._js()  # fail at once, not at the first window
        headers_at = received_at.isoformat()
        duplicates: list[bool] = []
        window: list[tuple[str, bytes, dict[str, str]]] = []
        for raw in raw_events:
            subject = subject_for(self.names.subject, self.router.partition(raw))
            body = json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            window.append((subject, body, {"Nats-Msg-Id": raw["id"], RECEIVED_AT: headers_at}))
            if len(window) == WINDOW:
                duplicates += await self._send(window)
                if progress is not None:
                    progress(len(window))
                window = []
        if window:
            duplicates += await self._send(window)
            if progress is not None:
                progress(len(window))
        return duplicates

    async def _send(self, messages: Sequence[tuple[str, bytes, dict[str, str]]]) -> list[bool]:
        """Publish a window of messages, resending those not acknowledged, until all are."""
        js = self._js()
        acks: list[PubAck | None] = [None] * len(messages)
        for attempt in range(ATTEMPTS):
            missing = [i for i, ack in enumerate(acks) if ack is None]
            if not missing:
                break
            if attempt:
                log.warning("%d events not acknowledged; sending them again", len(missing))
                await asyncio.sleep(min(0.2 * attempt, 2.0))
            futures = []
            for i in missing:
                subject, body, headers = messages[i]
                try:
                    futures.append((i, await js.publish_async(subject, body, headers=headers)))
                except Exception:  # noqa: BLE001 - disconnected: the next attempt resends it
                    break
            for i, future in futures:
                try:
                    acks[i] = await asyncio.wait_for(future, timeout=10)
                except Exception:  # noqa: BLE001, S112 - not acknowledged: resent next attempt
                    continue
        if any(ack is None for ack in acks):
            msg = f"the stream did not take {acks.count(None)} events after {ATTEMPTS} attempts"
            raise ConnectionError(msg)
        return [bool(ack.duplicate) for ack in acks if ack is not None]

    async def dead_letter(self, event_id: str) -> dict[str, Any] | None:
        """The dead letter of an event (what failed and why), or None."""
        js = self._js()
        subject = dead_subject_for(self.names.subject, event_id)
        try:
            message = await js.get_last_msg(self.names.dead_stream, subject)
        except NotFoundError:
            return None
        letter: dict[str, Any] = json.loads(message.data or b"{}")
        return letter if letter.get("event", {}).get("id") == event_id else None


class BlockingPublisher:
    """An `EventPublisher` for threads (the API's routes): its own event loop on its own thread."""

    def __init__(self, names: StreamNames) -> None:
        self.inner = EventPublisher(names)
        self.loop = asyncio.new_event_loop()
        self.connected = threading.Lock()
        self.ready = False
        thread = threading.Thread(target=self.loop.run_forever, name="jifen-stream", daemon=True)
        thread.start()

    def publish(self, raw_events: Sequence[dict[str, Any]], *, received_at: datetime) -> list[bool]:
        """Publish events in order; for each, whether the stream had it already."""
        return self._run(self.inner.publish(raw_events, received_at=received_at))

    def dead_letter(self, event_id: str) -> dict[str, Any] | None:
        """The dead letter of an event, or None."""
        return self._run(self.inner.dead_letter(event_id))

    def _run(self, work: Any) -> Any:
        with self.connected:
            if not self.ready:
                asyncio.run_coroutine_threadsafe(self.inner.connect(), self.loop).result(30)
                self.ready = True
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(60)


@dataclass(frozen=True, slots=True)
class FilePublished:
    """A file put on the stream: events taken, already there, and refused before publishing."""

    taken: int
    duplicate: int
    rejected: int
    rejects_path: Path | None


async def publish_file(
    names: StreamNames,
    *,
    path: Path,
    rejects_path: Path,
    received_at: datetime,
    progress: Callable[[int], None] | None = None,
) -> FilePublished:
    """Publish every valid event of `path` (JSON Lines or CSV, as `jifen import` reads them).

    An event that is not even well-formed (`invalid_event`) goes to `rejects_path`, as an import
    would put it, and is not published; whatever else the rules make of an event is decided when
    it is consumed (a refusal then goes to the dead letters).
    """
    publisher = EventPublisher(names)
    await publisher.connect()
    counts = {"taken": 0, "duplicate": 0}
    rejects_path.unlink(missing_ok=True)
    try:
        with RejectsWriter(rejects_path) as rejects:
            for chunk in chunked(read_events(path), WINDOW):
                valid = []
                for record in chunk:
                    refused = _refusal(record)
                    if refused is None:
                        valid.append(record.event)
                    else:
                        rejects.write(record.line, record.event, *refused)
                duplicates = await publisher.publish(valid, received_at=received_at)  # type: ignore[arg-type]
                counts["duplicate"] += sum(duplicates)
                counts["taken"] += len(duplicates) - sum(duplicates)
                if progress is not None:
                    progress(chunk[-1].line)
            written = rejects.path if rejects.count else None
            rejected = rejects.count
    finally:
        await publisher.close()
    return FilePublished(counts["taken"], counts["duplicate"], rejected, written)


def _refusal(record: FileRecord) -> tuple[str, str] | None:
    """Why a record cannot be published (code, reason), or None."""
    if record.event is None:
        return UNREADABLE, record.error or "unreadable"
    parsed = parse_or_refuse(record.event)
    if isinstance(parsed, EventResult) and parsed.error is not None:
        return parsed.error["code"], parsed.error["message"]
    return None
