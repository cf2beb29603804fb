"""Use case: audit the ledger's invariants on a live database and report what is broken."""

from __future__ import annotations

from dataclasses import dataclass

from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.ledger_audit import Violation


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What was audited and every violation found (at most a page per check)."""

    counts: dict[str, int]
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        """Whether every invariant holds."""
        return not self.violations


def check_ledger(uow: UnitOfWork) -> CheckReport:
    """Check invariants 1–3 of SPEC §2 on the database behind `uow`.

    Zero-sum transactions, no negative balance, and stored balances equal to both their entries
    and their open lots.
    """
    with uow:
        return CheckReport(uow.audit.counts(), tuple(uow.audit.violations()))
