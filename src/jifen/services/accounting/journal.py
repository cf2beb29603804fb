"""The daily accounting journal: points issued, redeemed, expired, and the double entries in fen."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from jifen.domain.accounting import (
    FLOWS,
    Carry,
    DayFigures,
    JournalDay,
    breakage_exact,
    closing_points,
    flow_of,
    journal_day,
)
from jifen.programs.schema import Program
from jifen.services.accounting.estimate import in_force
from jifen.services.accounting.periods import check_period, day_start, spendable_kinds
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.accounting_repository import StoredEstimate

INFLOWS = frozenset({"issued", "adjusted"})
CSV_HEADER = (
    "date",
    "entry",
    "account_code",
    "account_name",
    "debit_fen",
    "credit_fen",
    "description",
    "points",
    "estimate_version",
    "breakage_bps",
)


@dataclass(frozen=True, slots=True)
class Journal:
    """Journal days from `start` to `end`, with the estimate version used on each day."""

    start: date
    end: date
    points_per_yuan: int
    days: tuple[JournalDay, ...]
    versions: tuple[int | None, ...]


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _flows(raw: dict[tuple[int, str], int], count: int) -> list[dict[str, int]]:
    """Per day, points by flow, each counted the way members see it (all positive normally)."""
    flows = [dict.fromkeys(FLOWS, 0) for _ in range(count)]
    for (index, account), points in raw.items():
        flow = flow_of(account)
        flows[index][flow] += -points if flow in INFLOWS else points
    return flows


def journal(uow: UnitOfWork, *, program: Program, start: date, end: date) -> Journal:
    """The journal for program-local days `start`..`end` (both included).

    Breakage is rounded with a carry that starts again on the first of each month, so a day's
    lines are the same whichever period they are exported in, and a month's breakage is its
    exact total rounded once.
    """
    check_period(start, end)
    first = start.replace(day=1)
    days = _days(first, end)
    kinds = spendable_kinds(program)
    with uow:
        repo = uow.accounting
        opening = repo.points_held(kinds=kinds, until=day_start(program, first))
        bounds = [day_start(program, d) for d in [*days, end + timedelta(days=1)]]
        flows = _flows(repo.daily_flows(kinds=kinds, bounds=bounds), len(days))
        estimates = repo.estimates(through=end)
    ppy = program.redemption.points_per_yuan
    carry, held, out, versions = Carry(), opening, [], []
    previous = in_force(estimates, first - timedelta(days=1))
    for day, day_flows in zip(days, flows, strict=True):
        used = in_force(estimates, day)
        if day.day == 1:
            carry = Carry()  # breakage rounds per calendar month, whatever the period asked
        figures = DayFigures(day, day_flows, held, _bps(previous), _bps(used))
        breakage = carry.add(
            breakage_exact(day_flows["redeemed"], points_per_yuan=ppy, bps=_bps(used))
        )
        if day >= start:
            out.append(journal_day(figures, points_per_yuan=ppy, breakage_fen=breakage))
            versions.append(used.version if used else None)
        held, previous = closing_points(figures), used
    return Journal(start, end, ppy, tuple(out), tuple(versions))


def _bps(estimate: StoredEstimate | None) -> int:
    return estimate.rate_bps if estimate else 0


def journal_csv(journal: Journal) -> str:
    """The journal as CSV for a general ledger: one row per debit and per credit, in fen."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for day, version in zip(journal.days, journal.versions, strict=True):
        for n, li in enumerate(day.lines, start=1):
            entry = f"JF-{day.day:%Y%m%d}-{n:02d}"
            common = (li.description, li.points, version or "", day.bps)
            writer.writerow(
                (day.day, entry, li.debit.code, li.debit.name, li.amount_fen, 0, *common)
            )
            writer.writerow(
                (day.day, entry, li.credit.code, li.credit.name, 0, li.amount_fen, *common)
            )
    return buffer.getvalue()
