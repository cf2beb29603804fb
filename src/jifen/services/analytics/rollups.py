"""Fold the ledger into the analytics rollups: a set-based, idempotent step of the daily job."""

from __future__ import annotations

from dataclasses import dataclass

from jifen.programs.schema import Program
from jifen.services.analytics.period import rollups, spendable_kinds
from jifen.services.unit_of_work import UnitOfWork

CHUNK = 200_000  # ledger transactions per database transaction


@dataclass(frozen=True, slots=True)
class Refresh:
    """What a refresh folded in: ledger transactions, and the watermark it left."""

    transactions: int
    watermark: int


def refresh_rollups(uow: UnitOfWork, *, program: Program, chunk: int = CHUNK) -> Refresh:
    """Fold every ledger transaction written so far into the rollups, `chunk` ids at a time.

    Safe to run at any time and any number of times: the watermark moves in the same
    transaction as the rows it covers (so a crash loses at most one chunk, and a rerun goes on
    from there), and two refreshes at once queue on the watermark's row. Reports read what lies
    beyond the watermark from the ledger, so they are right before a refresh as after it.
    """
    with uow:
        high = rollups(uow, program).high_water()
        uow.commit()
    kinds = spendable_kinds(program)
    folded = 0
    while True:
        with uow:
            repo = rollups(uow, program)
            after = repo.lock_watermark()
            if after >= high:
                return Refresh(folded, after)
            folded += repo.fold(kinds=kinds, after=after, through=min(after + chunk, high))
            uow.commit()
