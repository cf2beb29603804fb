"""Set-based SQL for accounting: cohorts of lots, points held, daily flows, breakage estimates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, extract, func, insert, literal, or_, select
from sqlalchemy.exc import IntegrityError

from jifen.domain.accounting import POOL_ACCOUNTS, BreakageFigures, Cohort
from jifen.storage.tables import breakage_estimates, ledger_entries, ledger_transactions, lots

USED = ("program:redeemed", "program:held")
BROKEN = ("program:expired", "program:forfeited")


@dataclass(frozen=True, slots=True)
class StoredEstimate:
    """A stored breakage estimate: one version, never updated."""

    version: int
    key: str
    as_of: date
    method: str
    rate_bps: int
    numerator: int
    denominator: int
    inputs: dict[str, Any]


class EstimateTaken(Exception):
    """Another writer stored an estimate under the same version or key first."""


class AccountingRepository:
    """Queries for the accounting use cases; `until` is an exclusive instant."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def cohorts(self, *, kinds: Sequence[str], as_of: date, until: datetime) -> list[Cohort]:
        """Lots of `kinds` by month of credit, as the ledger stood just before `until`."""
        p = _per_lot(kinds=kinds, as_of=as_of, until=until).c
        live = and_(p.held > 0, or_(p.expires_on.is_(None), p.expires_on > as_of))
        lapsed = and_(p.held > 0, p.expires_on <= as_of)
        query = (
            select(
                p.year,
                p.month,
                func.count(),
                func.sum(case((live, 1), else_=0)),
                func.sum(p.used),
                func.sum(p.broken) + func.sum(case((lapsed, p.held), else_=0)),
            )
            .group_by(p.year, p.month)
            .order_by(p.year, p.month)
        )
        return [
            Cohort(date(int(y), int(m), 1), int(n), int(live_lots), int(u), int(b))
            for y, m, n, live_lots, u, b in self.connection.execute(query)
        ]

    def points_held(self, *, kinds: Sequence[str], until: datetime) -> int:
        """Points of `kinds` members hold (spendable or held by redemptions) just before `until`."""
        e, t = ledger_entries.c, ledger_transactions.c
        query = (
            select(func.coalesce(func.sum(e.points), 0))
            .select_from(ledger_entries.join(ledger_transactions, t.id == e.transaction_id))
            .where(
                and_(e.account.in_(POOL_ACCOUNTS), e.kind.in_(list(kinds)), t.occurred_at < until)
            )
        )
        return int(self.connection.execute(query).scalar_one())

    def daily_flows(
        self, *, kinds: Sequence[str], bounds: Sequence[datetime]
    ) -> dict[tuple[int, str], int]:
        """Net points per day and system account: `(day index, account) -> points`.

        Day `i` runs from `bounds[i]` to `bounds[i + 1]`; entries on the accounts members hold
        are left out, so what remains is what flowed in and out of their hands.
        """
        e, t = ledger_entries.c, ledger_transactions.c
        day = _bucket(t.occurred_at, bounds, 0, len(bounds) - 1).label("day")
        query = (
            select(day, e.account, func.sum(e.points))
            .select_from(ledger_entries.join(ledger_transactions, t.id == e.transaction_id))
            .where(
                and_(
                    e.account.not_in(POOL_ACCOUNTS),
                    e.kind.in_(list(kinds)),
                    t.occurred_at >= bounds[0],
                    t.occurred_at < bounds[-1],
                )
            )
            .group_by(day, e.account)
        )
        return {(int(i), str(a)): int(n) for i, a, n in self.connection.execute(query)}

    def estimate_by_key(self, key: str) -> StoredEstimate | None:
        """The estimate stored under `key`, if any."""
        query = select(breakage_estimates).where(breakage_estimates.c.key == key)
        row = self.connection.execute(query).mappings().first()
        return _estimate(row) if row else None

    def estimates(self, *, through: date | None = None) -> list[StoredEstimate]:
        """Every estimate (with `as_of` on or before `through`), oldest version first."""
        b = breakage_estimates.c
        query = select(breakage_estimates).order_by(b.version)
        if through is not None:
            query = query.where(b.as_of <= through)
        return [_estimate(row) for row in self.connection.execute(query).mappings()]

    def add_estimate(
        self,
        *,
        key: str,
        as_of: date,
        figures: BreakageFigures,
        inputs: dict[str, Any],
    ) -> StoredEstimate:
        """Store the next version; `EstimateTaken` if another writer got there first."""
        b = breakage_estimates.c
        version = int(
            self.connection.execute(select(func.coalesce(func.max(b.version), 0))).scalar_one()
        )
        estimate = StoredEstimate(
            version=version + 1,
            key=key,
            as_of=as_of,
            method=figures.method,
            rate_bps=figures.rate_bps,
            numerator=figures.numerator,
            denominator=figures.denominator,
            inputs=inputs,
        )
        try:
            with self.connection.begin_nested():
                self.connection.execute(insert(breakage_estimates).values(**asdict(estimate)))
        except IntegrityError as error:
            raise EstimateTaken from error
        return estimate


def _per_lot(*, kinds: Sequence[str], as_of: date, until: datetime) -> Any:
    """Per lot credited by `as_of`: month of credit, expiry, points left, used and broken.

    A lot's legs are told apart by the system account on the other side of their transaction
    (its one entry without a member): redemptions and holds are used, expiry and forfeiture broken.
    """
    e, t, lo = ledger_entries.c, ledger_transactions.c, lots.c
    counter = (
        select(e.transaction_id, func.min(e.account).label("account"))
        .where(e.member_id.is_(None))
        .group_by(e.transaction_id)
        .subquery()
    )
    # Points that come back from `program:redeemed` (a cancelled ticket's new lot) count as a
    # negative use, so a cohort's `used` is net of refunds as `program:redeemed` is.
    used = or_(counter.c.account.in_(USED), counter.c.account.like("charity:%"))
    broken = counter.c.account.in_(BROKEN)
    return (
        select(
            extract("year", lo.credited_on).label("year"),
            extract("month", lo.credited_on).label("month"),
            lo.expires_on,
            func.sum(e.points).label("held"),
            func.sum(case((used, -e.points), else_=0)).label("used"),
            func.sum(case((broken, -e.points), else_=0)).label("broken"),
        )
        .select_from(
            lots.join(ledger_entries, e.lot_id == lo.id)
            .join(ledger_transactions, t.id == e.transaction_id)
            .outerjoin(counter, counter.c.transaction_id == t.id)
        )
        .where(and_(lo.kind.in_(list(kinds)), lo.credited_on <= as_of, t.occurred_at < until))
        .group_by(lo.id, lo.credited_on, lo.expires_on)
        .subquery()
    )


def _bucket(column: Any, bounds: Sequence[datetime], low: int, high: int) -> Any:
    """The index `i` in `low..high-1` with `bounds[i] <= column < bounds[i + 1]`.

    A balanced tree of CASEs: about log2(days) comparisons per row, not one per day.
    """
    if high - low == 1:
        return literal(low)
    middle = (low + high) // 2
    return case(
        (column < bounds[middle], _bucket(column, bounds, low, middle)),
        else_=_bucket(column, bounds, middle, high),
    )


def _estimate(row: Any) -> StoredEstimate:
    return StoredEstimate(
        int(row["version"]),
        row["key"],
        row["as_of"],
        row["method"],
        int(row["rate_bps"]),
        int(row["numerator"]),
        int(row["denominator"]),
        dict(row["inputs"]),
    )
