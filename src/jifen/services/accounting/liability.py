"""The points liability on a day: outstanding points at redemption value, less expected breakage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from jifen.domain.accounting import Liability, measure_liability
from jifen.programs.schema import Program
from jifen.services.accounting.estimate import in_force
from jifen.services.accounting.periods import check_day, end_of_day, spendable_kinds
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.accounting_repository import AccountingRepository, StoredEstimate


@dataclass(frozen=True, slots=True)
class LiabilityReport:
    """The liability at the end of `as_of` and the breakage estimate it used (None: rate 0)."""

    as_of: date
    kinds: tuple[str, ...]
    points_per_yuan: int
    figures: Liability
    estimate: StoredEstimate | None


def liability(uow: UnitOfWork, *, program: Program, as_of: date) -> LiabilityReport:
    """Value the points members hold at the end of `as_of` (program-local) as IFRS 15 asks.

    Outstanding = spendable points in members' balances plus points held by open redemptions
    (tier-only kinds never count). Value = outstanding ÷ points per yuan × 100 fen. Liability
    = value × (1 − rate of the estimate in force on `as_of`), rounded half up to the fen.
    """
    check_day(as_of)
    kinds = spendable_kinds(program)
    with uow:
        repo = uow.accounting
        held = repo.points_held(kinds=kinds, until=end_of_day(program, as_of))
        figures, used = value_points(repo, program=program, as_of=as_of, points=held)
    return LiabilityReport(as_of, tuple(kinds), program.redemption.points_per_yuan, figures, used)


def value_points(
    repo: AccountingRepository, *, program: Program, as_of: date, points: int
) -> tuple[Liability, StoredEstimate | None]:
    """`points` members hold at the end of `as_of`, valued with the estimate in force that day.

    The one valuation of the balance sheet: the liability report and the summary report's
    `liability_fen` both come from here, so they agree to the fen.
    """
    used = in_force(repo.estimates(through=as_of), as_of)
    figures = measure_liability(
        points,
        points_per_yuan=program.redemption.points_per_yuan,
        bps=used.rate_bps if used else 0,
    )
    return figures, used
