"""The bulk path's one move: run use cases over a batch's rows held in memory, then write them.

`in_one_batch` loads the rows a batch can touch (`BatchRepository.load`, locking its members'
balance rows), runs the ordinary use cases against a unit of work held in memory
(`storage/staged.py`), and writes what they staged with one statement per table (the ledger's
rows through `LedgerRepository.write_reserved`, the door's storage), in one
transaction. Callers keep a one-at-a-time path for when it raises: a batch that needs something
it did not load, or meets a concurrent writer, is rolled back whole.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import TypeVar

from jifen.services.ports import EventUnitOfWork
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.batch_repository import Wants
from jifen.storage.staged import StagedUnitOfWork

T = TypeVar("T")


def in_one_batch(
    uow: UnitOfWork, wants: Wants, work: Callable[[EventUnitOfWork], list[T]]
) -> list[T]:
    """`work`'s results, its writes committed together; raises (changing nothing) if it can't."""
    with uow, collector_paused():
        staged = uow.batch.load(wants)
        results = work(StagedUnitOfWork(staged))
        uow.ledger.write_reserved(staged.reserved)
        uow.batch.write(staged)
        uow.journal.add_all(staged.journal)
        uow.commit()
    return results


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a batch runs, on again after (if it was on before).

    A batch holds tens of thousands of young objects (rows, undo entries, postings) that live
    until it is written; the collector would walk them again and again for nothing (it took a
    quarter of the bulk path's time). What the batch leaves behind is collected afterwards.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last may be shorter), read as they are needed."""
    remaining = iter(items)
    while chunk := list(islice(remaining, size)):
        yield chunk
