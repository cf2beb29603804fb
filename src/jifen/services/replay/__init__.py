"""Replay: rebuild a program from its journal on an empty database, and compare the two books.

`replay` reads the source's journal in order and runs each command again through the same use
cases, on the target, at the instant it was first applied (time is an input: the recorded one
is passed back, never the clock). Consecutive events received at the same instant go through
the bulk path together, as a batch of events first did. Member and beneficiary ids are the
target's own: each enrolment tells which id the source's member has there, and later commands
are given the target's id (`commands.py`). `compare` then reads both databases' books by natural
key (SPEC §2 invariant 5) and lists every difference (`books.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from jifen.services import journal
from jifen.services.events.batch import BATCH_SIZE, apply_batch
from jifen.services.replay.books import Difference, compare
from jifen.services.replay.commands import HANDLERS, Replaying, member_ids
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.crypto import IdentityVault
from jifen.storage.journal_repository import Recorded

PAGE = 1000
REPLAYED_TOLERANCE = timedelta(days=36500)  # an event accepted once is not refused as "future"

__all__ = ["Difference", "ReplayReport", "compare", "journal_size", "replay"]


@dataclass(frozen=True, slots=True)
class Refused:
    """A command that did not apply again as it first did: where it was and what happened."""

    seq: int
    command: str
    problem: str


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """How many journal entries were replayed, and those that did not apply again."""

    replayed: int
    refused: list[Refused]


def replay(
    source: UnitOfWork,
    target: UnitOfWork,
    *,
    vault: IdentityVault,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Run the source's journal again on `target`, in order; what did not apply is reported."""
    ctx = Replaying(target, vault)
    done = 0
    refused: list[Refused] = []
    for group in _groups(_entries(source)):
        first = group[0]
        try:
            if first.entry.command == "event":
                refused.extend(_events(ctx, group))
            else:
                HANDLERS[first.entry.command](ctx, first.entry.args, first.entry.at)
        except Exception as error:  # noqa: BLE001 - one command's failure is reported, not fatal
            refused.append(Refused(first.seq, first.entry.command, repr(error)))
        done += len(group)
        if progress:
            progress(len(group))
    return ReplayReport(done, refused)


def journal_size(uow: UnitOfWork) -> int:
    """How many entries a database's journal holds."""
    with uow:
        return uow.journal.count()


def _entries(source: UnitOfWork) -> Iterator[Recorded]:
    after = 0
    while True:
        with source:
            page = source.journal.read(after=after, limit=PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].seq


def _groups(entries: Iterator[Recorded]) -> Iterator[list[Recorded]]:
    """Entries one by one, except consecutive events received at one instant, batched."""
    group: list[Recorded] = []
    for item in entries:
        if group and (
            item.entry.command != "event"
            or group[0].entry.at != item.entry.at
            or len(group) == BATCH_SIZE
        ):
            yield group
            group = []
        if item.entry.command != "event":
            yield [item]
        else:
            group.append(item)
    if group:
        yield group


def _events(ctx: Replaying, group: list[Recorded]) -> list[Refused]:
    raw = [member_ids(ctx, journal.unseal(r.entry.args["event"], ctx.vault)) for r in group]
    at = ctx.local(group[0].entry.at)
    results = apply_batch(
        ctx.uow,
        program=ctx.active(),
        vault=ctx.vault,
        raw_events=raw,
        received_at=at,
        future_tolerance=REPLAYED_TOLERANCE,
    )
    return [
        Refused(r.seq, "event", f"{result.status}: {result.error or result.outcome}")
        for r, result in zip(group, results, strict=True)
        if result.status != "applied"
    ]
