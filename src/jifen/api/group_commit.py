"""Group commit: one-event requests of a worker applied together, in one transaction.

Each `POST /v1/events` with one event hands it to the worker's `EventCommitter` and waits. The
committer's thread takes the first waiting event, lets `window` seconds pass for others to
arrive (while it applies a batch, the next one gathers too), takes up to `most` of those waiting,
and applies them as one batch through the bulk path
(`services.events.batch.apply_batch`, which goes through the ledger's one door): one transaction,
one commit, a handful of statements for the lot. Each caller gets its own event's result, as if
applied alone and in arrival order; an event that is refused is refused alone, and a batch the
bulk path cannot take is applied one event at a time. A caller is answered only after the
commit, so a crash loses nothing that was answered. The server's event loop never waits on the
database: the route runs in FastAPI's thread pool and waits there.
"""

from __future__ import annotations

import logging
import queue
import select
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic
from typing import Any

from sqlalchemy import Engine

from jifen.programs.schema import Program
from jifen.services.events import EventResult
from jifen.services.events.batch import apply_batch
from jifen.storage.crypto import IdentityVault
from jifen.storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

Observe = Callable[[int, Sequence[float]], None]
"""Told each batch's size and how long each of its events waited, in seconds (metrics)."""


@dataclass(slots=True)
class _Waiting:
    raw: Any
    program: Program
    received_at: datetime
    tolerance: timedelta
    since: float = field(default_factory=monotonic)
    result: Future[EventResult] = field(default_factory=Future)


class EventCommitter:
    """Applies one worker's single events in batches, on a thread of its own."""

    def __init__(
        self,
        engine: Engine,
        vault: IdentityVault,
        *,
        window: float,
        most: int,
        observe: Observe | None = None,
    ) -> None:
        self.engine, self.vault = engine, vault
        self.window, self.most = window, most
        self.observe = observe or (lambda _size, _waits: None)
        self.waiting: queue.SimpleQueue[_Waiting] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.started = threading.Lock()

    def apply(
        self, raw: Any, *, program: Program, received_at: datetime, tolerance: timedelta
    ) -> EventResult:
        """Apply one event with the others waiting; its result once their batch is committed."""
        self._start()
        waiting = _Waiting(raw, program, received_at, tolerance)
        self.waiting.put(waiting)
        return waiting.result.result()

    def _start(self) -> None:
        if self.thread is not None:
            return
        with self.started:
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._run, name="jifen-group-commit", daemon=True
                )
                self.thread.start()

    def _run(self) -> None:
        while True:
            batch = self._gather()
            for group in _groups(batch):
                self._apply(group)

    def _gather(self) -> list[_Waiting]:
        """The first waiting event, and those that arrive within the window after it."""
        batch = [self.waiting.get()]
        if self.window:
            # A relative sleep: a wait until a deadline on the monotonic clock would misread a
            # shifted clock (libfaketime in the guide's tests) and never wake.
            select.select([], [], [], self.window)
        while len(batch) < self.most:
            try:
                batch.append(self.waiting.get_nowait())
            except queue.Empty:
                break
        return batch

    def _apply(self, group: list[_Waiting]) -> None:
        first = group[0]
        now = monotonic()
        try:
            results = apply_batch(
                SqlUnitOfWork(self.engine),
                program=first.program,
                vault=self.vault,
                raw_events=[w.raw for w in group],
                received_at=max(w.received_at for w in group),
                future_tolerance=first.tolerance,
            )
        except BaseException as error:
            log.exception("a batch of %d events failed", len(group))
            for w in group:
                w.result.set_exception(error)
            return
        for w, result in zip(group, results, strict=True):
            w.result.set_result(result)
        with suppress(Exception):  # a metric that fails must not stop the committer
            self.observe(len(group), [now - w.since for w in group])


def _groups(batch: list[_Waiting]) -> list[list[_Waiting]]:
    """The batch split where the program or tolerance changes (a new version mid-batch)."""
    groups: list[list[_Waiting]] = []
    for w in batch:
        last = groups[-1][-1] if groups else None
        if last is not None and last.program is w.program and last.tolerance == w.tolerance:
            groups[-1].append(w)
        else:
            groups.append([w])
    return groups
