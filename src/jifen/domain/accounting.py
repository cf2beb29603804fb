"""Accounting maths for points (IFRS 15): value in fen, breakage rates, liability, journal days.

Everything here is pure and exact: amounts are `Fraction`s of a fen until the one place each is
rounded, and the rounding of a series is made so that it never drifts (a carry, or the largest
remainder against a total that is itself rounded once). See docs/accounting.md for the method.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

BPS = 10_000
"""Basis points in one: a breakage rate of 2,500 bps is 25%."""


@dataclass(frozen=True, slots=True)
class GLAccount:
    """An account of the general ledger, as a code and a name a GL import can match."""

    code: str
    name: str


CONTRACT_LIABILITY = GLAccount("2401", "Contract liability – loyalty points")
BREAKAGE_IN_ADVANCE = GLAccount("2402", "Contract liability – breakage recognised in advance")
REVENUE = GLAccount("6001", "Revenue")
BREAKAGE_REVENUE = GLAccount("6051", "Other revenue – loyalty breakage")

POOL_ACCOUNTS = ("member:available", "program:held")
"""Points members still hold: their spendable balances and points held by open redemptions."""

FLOWS = ("issued", "redeemed", "expired", "forfeited", "adjusted")


def round_half_up(amount: Fraction) -> int:
    """The nearest integer; halves go up (−2.5 → −2, 2.5 → 3), as SPEC §2 asks."""
    return math.floor(amount + Fraction(1, 2))


def fen_per_point(points_per_yuan: int) -> Fraction:
    """The redemption value of one point in fen: 100 points = ¥1 makes it exactly 1 fen."""
    return Fraction(100, points_per_yuan)


def face_values(flows: dict[str, int], *, points_per_yuan: int) -> dict[str, int]:
    """Each flow of points at redemption value in fen, half up."""
    price = fen_per_point(points_per_yuan)
    return {name: round_half_up(points * price) for name, points in flows.items()}


def rate_bps(numerator: int, denominator: int) -> int:
    """A share as basis points, half up, kept within 0–10,000; 0 when there is nothing to divide."""
    if denominator <= 0:
        return 0
    return min(BPS, max(0, round_half_up(Fraction(numerator * BPS, denominator))))


def flow_of(account: str) -> str:
    """The flow a system account's entries stand for, seen from the points members hold.

    `member:pending` belongs with `program:issued`: a pending item leaves `program:issued` and
    reaches members only when confirmed, so the pair nets to zero until then.
    """
    if account in ("program:issued", "member:pending") or account.startswith("partner:"):
        return "issued"
    if account == "program:redeemed" or account.startswith("charity:"):
        return "redeemed"
    if account == "program:expired":
        return "expired"
    if account == "program:forfeited":
        return "forfeited"
    return "adjusted"


@dataclass(frozen=True, slots=True)
class Liability:
    """Outstanding points valued at redemption value, less the share expected never to be used."""

    outstanding: int
    value_fen: int
    rate_bps: int
    expected_breakage_fen: int
    liability_fen: int


def liability_fen_exact(outstanding: int, *, points_per_yuan: int, bps: int) -> Fraction:
    """The liability before rounding: value × (1 − breakage)."""
    return outstanding * fen_per_point(points_per_yuan) * Fraction(BPS - bps, BPS)


def measure_liability(outstanding: int, *, points_per_yuan: int, bps: int) -> Liability:
    """The liability for `outstanding` points at a breakage rate of `bps`, each figure half up."""
    value = round_half_up(outstanding * fen_per_point(points_per_yuan))
    liability = round_half_up(
        liability_fen_exact(outstanding, points_per_yuan=points_per_yuan, bps=bps)
    )
    return Liability(outstanding, value, bps, value - liability, liability)


def apportion(total: int, parts: Sequence[Fraction]) -> list[int]:
    """Integers that sum to `total`, each as near its exact part as the largest remainder allows.

    Each part is floored; the difference to `total` goes one unit at a time to the parts with the
    largest fractional remainders (or is taken from those with the smallest when negative).
    """
    floors = [math.floor(part) for part in parts]
    left = total - sum(floors)
    if not parts:
        return []
    order = sorted(range(len(parts)), key=lambda i: (parts[i] - floors[i], -i), reverse=True)
    if left < 0:
        order = order[::-1]
    step = 1 if left >= 0 else -1
    for n in range(abs(left)):
        floors[order[n % len(order)]] += step
    return floors


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One double entry: `amount_fen` (positive) debited to one account and credited to another."""

    debit: GLAccount
    credit: GLAccount
    amount_fen: int
    description: str
    points: int


def line(
    debit: GLAccount, credit: GLAccount, amount: int, description: str, points: int
) -> list[JournalLine]:
    """The line, turned round when the amount is negative; no line for zero."""
    if amount == 0:
        return []
    if amount < 0:
        return [JournalLine(credit, debit, -amount, f"{description} (reversed)", points)]
    return [JournalLine(debit, credit, amount, description, points)]


@dataclass(frozen=True, slots=True)
class DayFigures:
    """What one day needs: its flows in points, the points held before it and the rates in force."""

    day: date
    flows: dict[str, int]
    opening_points: int
    opening_bps: int
    bps: int


@dataclass(frozen=True, slots=True)
class JournalDay:
    """A day of the journal: the flows, the liability before and after, and balanced lines."""

    day: date
    flows: dict[str, int]
    closing_points: int
    bps: int
    opening_liability_fen: int
    closing_liability_fen: int
    lines: tuple[JournalLine, ...]

    @property
    def debits_fen(self) -> int:
        """The day's debits (equal to its credits, as every line is one double entry)."""
        return sum(li.amount_fen for li in self.lines)


def closing_points(figures: DayFigures) -> int:
    """The points members hold at the end of the day."""
    f = figures.flows
    inflow = f.get("issued", 0) + f.get("adjusted", 0)
    outflow = f.get("redeemed", 0) + f.get("expired", 0) + f.get("forfeited", 0)
    return figures.opening_points + inflow - outflow


MOVES = (
    ("issued", 1, REVENUE, CONTRACT_LIABILITY, "Points issued"),
    ("adjusted", 1, REVENUE, CONTRACT_LIABILITY, "Points adjusted"),
    ("redeemed", -1, CONTRACT_LIABILITY, REVENUE, "Points redeemed"),
    ("expired", -1, CONTRACT_LIABILITY, BREAKAGE_IN_ADVANCE, "Points expired"),
    ("forfeited", -1, CONTRACT_LIABILITY, BREAKAGE_IN_ADVANCE, "Points forfeited"),
)
"""Each flow's line: the sign it moves 2401 by, the debit, the credit, the description."""


def _lapse(credit: GLAccount, bps: int) -> GLAccount:
    """Where lapsed points go: 2402, or straight to breakage revenue at a rate of 0.

    With no breakage expected nothing was recognised in advance, so a lapse is revenue when it
    happens (IFRS 15 B46: when the chance of the rights being exercised becomes remote).
    """
    return BREAKAGE_REVENUE if credit == BREAKAGE_IN_ADVANCE and bps == 0 else credit


def journal_day(figures: DayFigures, *, points_per_yuan: int, breakage_fen: int) -> JournalDay:
    """The day's lines: every movement of 2401 split so the account closes at the liability.

    2401 closes at round(points held × value × (1 − rate)); its movement for the day is shared
    between the flows (and a remeasurement when the rate changed) by the largest remainder, so
    2401 always equals the liability report. `breakage_fen` is the breakage recognised in
    proportion to the day's redemptions, already rounded by the caller's carry.
    """
    held, f = closing_points(figures), figures.flows
    price = fen_per_point(points_per_yuan)
    per_point = price * Fraction(BPS - figures.bps, BPS)
    before = figures.opening_points * price * Fraction(BPS - figures.opening_bps, BPS)
    opening, closing = round_half_up(before), round_half_up(held * per_point)
    exact = [sign * f.get(flow, 0) * per_point for flow, sign, *_ in MOVES]
    exact.append(figures.opening_points * per_point - before)
    *moved, remeasured = apportion(closing - opening, exact)
    lines = [
        li
        for (flow, sign, debit, credit, why), amount in zip(MOVES, moved, strict=True)
        for li in line(debit, _lapse(credit, figures.bps), sign * amount, why, f.get(flow, 0))
    ]
    redeemed = f.get("redeemed", 0)
    why = "Breakage recognised with redemptions"
    lines += line(BREAKAGE_IN_ADVANCE, BREAKAGE_REVENUE, breakage_fen, why, redeemed)
    why = f"Breakage estimate changed ({figures.opening_bps} → {figures.bps} bps)"
    lines += line(BREAKAGE_REVENUE, CONTRACT_LIABILITY, remeasured, why, figures.opening_points)
    return JournalDay(figures.day, dict(f), held, figures.bps, opening, closing, tuple(lines))


def breakage_exact(redeemed: int, *, points_per_yuan: int, bps: int) -> Fraction:
    """Breakage earned by the day's redemptions (IFRS 15 B46, proportional): value × rate.

    Per redeemed point the allocated price is value × (1 − rate); the expected breakage is
    recognised in proportion to redemptions, price × rate ÷ (1 − rate) per point, which is
    value × rate.
    """
    return redeemed * fen_per_point(points_per_yuan) * Fraction(bps, BPS)


@dataclass
class Carry:
    """Rounds a running series so the rounded sum always equals the rounded exact sum."""

    exact: Fraction = Fraction(0)
    rounded: int = 0

    def add(self, amount: Fraction) -> int:
        """The rounded share of `amount`, carrying what rounding left over to the next one."""
        self.exact += amount
        share = round_half_up(self.exact) - self.rounded
        self.rounded += share
        return share


@dataclass(frozen=True, slots=True)
class Cohort:
    """The lots of spendable points credited in one month, as they stood on the estimate's day.

    `used` went to redemptions (and held redemptions), `broken` expired or was forfeited (or is
    past its expiry date and not yet expired by the daily job); `open_lots` can still be spent.
    """

    month: date
    lots: int
    open_lots: int
    used: int
    broken: int

    @property
    def closed(self) -> bool:
        """Every lot of the month is used up or past its expiry: its breakage is final."""
        return self.open_lots == 0 and self.used + self.broken > 0


@dataclass(frozen=True, slots=True)
class BreakageFigures:
    """An estimate before it is stored: method, rate and the figures behind it."""

    method: str
    numerator: int
    denominator: int
    rate_bps: int
    cohorts: tuple[Cohort, ...]


CLOSED_COHORTS = "closed_cohorts"
HISTORY_TO_DATE = "history_to_date"
NO_HISTORY = "no_history"


def estimate_breakage(
    cohorts: Sequence[Cohort], *, as_of: date, lookback_months: int, min_points: int
) -> BreakageFigures:
    """Breakage = broken ÷ (broken + used) over closed monthly cohorts, with two fallbacks.

    Cohorts credited in the `lookback_months` before `as_of`'s month count when closed. With
    fewer than `min_points` settled points among them, every cohort to date is used instead
    (`history_to_date`, which understates breakage while lots are young); with no settled
    points at all, the rate is 0 (`no_history`: the full value is a liability).
    """
    first = date(as_of.year, as_of.month, 1)
    start_index = first.year * 12 + first.month - 1 - lookback_months
    recent = [
        c
        for c in cohorts
        if c.closed and start_index <= c.month.year * 12 + c.month.month - 1 and c.month < first
    ]
    broken, settled = sum(c.broken for c in recent), sum(c.used + c.broken for c in recent)
    if settled >= min_points:
        return BreakageFigures(
            CLOSED_COHORTS, broken, settled, rate_bps(broken, settled), tuple(recent)
        )
    broken = sum(c.broken for c in cohorts)
    settled = broken + sum(c.used for c in cohorts)
    if settled > 0:
        return BreakageFigures(
            HISTORY_TO_DATE, broken, settled, rate_bps(broken, settled), tuple(cohorts)
        )
    return BreakageFigures(NO_HISTORY, 0, 0, 0, tuple(cohorts))
