"""Breakage estimates: computed from the ledger's history, stored as new versions, never updated."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from jifen.domain.accounting import BreakageFigures, Cohort, estimate_breakage
from jifen.domain.errors import IdempotencyConflict, JifenError
from jifen.programs.schema import Program
from jifen.services.accounting.periods import check_day, end_of_day, spendable_kinds
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.accounting_repository import (
    EstimateTaken,
    StoredEstimate,
)

LOOKBACK_MONTHS = 36
"""Closed cohorts credited in the 36 months before the estimate's month count."""
MIN_POINTS = 10_000
"""Below this many settled points in closed cohorts, the estimate falls back to all history."""


class EstimateBusy(JifenError):
    """Other estimates kept taking the next version; try again."""

    code = "estimate_busy"
    status = 409

    def __init__(self, key: str) -> None:
        super().__init__(f"Could not store the estimate {key!r}; try again.", key=key)


def _inputs(figures: BreakageFigures, kinds: list[str]) -> dict[str, Any]:
    return {
        "kinds": kinds,
        "lookback_months": LOOKBACK_MONTHS,
        "min_points": MIN_POINTS,
        "cohorts": [_cohort(c) for c in figures.cohorts],
    }


def _cohort(c: Cohort) -> dict[str, Any]:
    return {
        "month": f"{c.month:%Y-%m}",
        "lots": c.lots,
        "open_lots": c.open_lots,
        "used": c.used,
        "broken": c.broken,
        "closed": c.closed,
    }


def _same(stored: StoredEstimate, figures: BreakageFigures, as_of: date) -> bool:
    return (stored.as_of, stored.method, stored.numerator, stored.denominator) == (
        as_of,
        figures.method,
        figures.numerator,
        figures.denominator,
    )


def estimate(
    uow: UnitOfWork, *, program: Program, as_of: date, key: str | None = None
) -> StoredEstimate:
    """Estimate breakage from the ledger as it stood at the end of `as_of` and store it.

    Each call that finds new figures stores a new version; the same figures again (or the same
    `key` with the same figures) return the version already stored. A `key` already used for
    other figures is an `IdempotencyConflict`.
    """
    check_day(as_of)
    kinds = spendable_kinds(program)
    with uow:
        repo = uow.accounting
        cohorts = repo.cohorts(kinds=kinds, as_of=as_of, until=end_of_day(program, as_of))
        figures = estimate_breakage(
            cohorts, as_of=as_of, lookback_months=LOOKBACK_MONTHS, min_points=MIN_POINTS
        )
        inputs = _inputs(figures, kinds)
        digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
        key = key or f"{as_of}:{figures.method}:{digest}"
        for _attempt in range(3):
            stored = repo.estimate_by_key(key)
            if stored is not None:
                if not _same(stored, figures, as_of):
                    raise IdempotencyConflict(key)
                return stored
            try:
                stored = repo.add_estimate(key=key, as_of=as_of, figures=figures, inputs=inputs)
            except EstimateTaken:
                continue  # another writer took the next version: read again and retry
            uow.commit()
            return stored
    raise EstimateBusy(key)


def in_force(estimates: list[StoredEstimate], day: date) -> StoredEstimate | None:
    """The estimate that applies on `day`: the latest `as_of` on or before it, newest version."""
    usable = [e for e in estimates if e.as_of <= day]
    return max(usable, key=lambda e: (e.as_of, e.version), default=None)


def current_breakage_estimate(uow: UnitOfWork, *, as_of: date) -> StoredEstimate | None:
    """The stored estimate in force on `as_of` (None before the first estimate: rate 0).

    For reports that value the liability; the version says which estimate was used.
    """
    check_day(as_of)
    with uow:
        return in_force(uow.accounting.estimates(through=as_of), as_of)


def list_estimates(uow: UnitOfWork) -> list[StoredEstimate]:
    """Every stored estimate, oldest version first."""
    with uow:
        return uow.accounting.estimates()
