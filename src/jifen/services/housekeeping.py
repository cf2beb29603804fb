"""The daily job's housekeeping: tickets nobody travelled on are voided, stale holds released.

A ticket bought and never travelled can still be confirmed by its travel or a claim (补登) up
to `claims.window_days` after its departure date; from the day after, nothing can, so its pending
points are voided (reason `not_travelled`), what they took of rule budgets is given back, and the
ticket marked `not_travelled`: a travel or claim arriving later is a `ticket_conflict`. A
redemption still held once its train has left can no longer be committed (`departure_passed`), so
it is released as a member's release is: its points go back into the lots they came from (reason
`departure_passed`).

Both steps take the job's `as_of`, a business date the operator names (`run --as-of`), not the
clock's instant: see `daily.run_daily`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jifen.programs.schema import Program
from jifen.services import ledger, redemption
from jifen.services.events.promises import budgeted_rules, given_back
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.housekeeping_repository import NOT_TRAVELLED, not_travelled_key

CHUNK = 500
PAGE = 100 * CHUNK  # due tickets read per query; each page is voided a chunk per transaction
DEPARTURE_PASSED = "departure_passed"
Progress = Callable[[str, int], None]


def _start_of(program: Program, day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(program.timezone))


def void_no_shows(
    uow: UnitOfWork, program: Program, as_of: date, progress: Progress
) -> dict[str, Any]:
    """Void the pending points of tickets no claim can confirm any more, a chunk at a time."""
    at = _start_of(program, as_of)
    departed_before = _start_of(program, as_of - timedelta(days=program.claims.window_days))

    def memo(ticket_id: str) -> dict[str, Any]:
        return {
            "job": "daily",
            "as_of": str(as_of),
            "reason": NOT_TRAVELLED,
            "ticket_id": ticket_id,
        }

    budgeted = budgeted_rules(program)
    voided = points = 0
    after = ""
    while True:
        with uow:
            page = uow.housekeeping.no_shows(
                departed_before=departed_before, after_id=after, limit=PAGE
            )
        for start in range(0, len(page), CHUNK):
            chunk = page[start : start + CHUNK]
            with uow:
                if budgeted:  # budget rows are locked before balance rows, as events lock them
                    uow.events.spent_budgets(budgeted, lock=True)
                repository = uow.housekeeping
                uow.ledger.lock_balances(sorted(repository.open_pending_owners(chunk)))
                done, items = repository.mark_no_shows(chunk, departed_before=departed_before)
                posted = ledger.post(
                    uow,
                    [
                        ledger.void_item(
                            item,
                            key=not_travelled_key(item.id),
                            at=at,
                            memo=memo(str(item.reference)),
                        )
                        for item in items
                    ],
                )
                amount = sum(
                    i.points for i, w in zip(items, posted, strict=True) if w and not w.replayed
                )
                if budgeted and done:  # what a no-show was promised goes back to the budgets
                    uow.events.spend_budgets(given_back(program, repository.tickets_data(done)))
                uow.commit()
            voided += len(done)
            points += amount
            progress("no_shows", len(chunk))
        if len(page) < PAGE:
            return {"tickets_not_travelled": voided, "points_voided": points}
        after = page[-1]


def release_stale_holds(
    uow: UnitOfWork, program: Program, as_of: date, progress: Progress
) -> dict[str, Any]:
    """Release every hold whose train has left, each as a member's release, in its own transaction.

    Holds are few (most are committed or released within minutes), so each goes through
    `redemption.release`: the same keys and rows, the redemption's row locked against a
    concurrent commit or release (one that got there first is skipped).
    """
    at = _start_of(program, as_of)
    released = points = 0
    after = ""
    while True:
        with uow:
            page = uow.housekeeping.stale_holds(departed_by=at, after_id=after, limit=CHUNK)
        for redemption_id in page:
            try:
                result = redemption.release(
                    uow,
                    program=program,
                    redemption_id=redemption_id,
                    key=f"daily:{as_of}",
                    now=at,
                    reason=DEPARTURE_PASSED,
                )
            except redemption.InvalidRedemptionState:
                continue  # committed or released since the page was read
            released += 1
            points += result["points_returned"]
        progress("stale_holds", len(page))
        if len(page) < CHUNK:
            return {"holds_released": released, "points_released": points}
        after = page[-1]
