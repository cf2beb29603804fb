"""Set-based queries that audit the ledger's invariants on a live database (SPEC §2, 1–3)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select, Subquery, and_, case, func, literal, or_, select

from jifen.domain.ledger import MEMBER_AVAILABLE, MEMBER_PENDING, account_name
from jifen.storage.tables import balances, ledger_entries, ledger_transactions, lots, pending_points


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant: what was expected of a subject and what the database holds."""

    invariant: int
    check: str
    subject: str
    expected: int
    actual: int


def _coalesce(value: int | None) -> int:
    return 0 if value is None else int(value)


class LedgerAudit:
    """Runs each check as one query; yields at most `limit` violations per check."""

    def __init__(self, connection: Connection, *, limit: int = 20) -> None:
        self.connection = connection
        self.limit = limit

    def _rows(self, query: Select[*tuple[Any, ...]]) -> list[Row[*tuple[Any, ...]]]:
        return list(self.connection.execute(query.limit(self.limit)))

    def counts(self) -> dict[str, int]:
        """How much was audited: transactions, entries, lots and member balances."""
        tables = {
            "transactions": ledger_transactions,
            "entries": ledger_entries,
            "lots": lots,
            "balances": balances,
        }
        return {
            name: self.connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in tables.items()
        }

    def violations(self) -> Iterator[Violation]:
        """Every violation found, check by check."""
        yield from self.unbalanced_transactions()
        yield from self.short_transactions()
        yield from self.unbalanced_kinds()
        yield from self.negative_balances()
        yield from self.balances_against_entries()
        yield from self.balances_against_lots()
        yield from self.lots_against_entries()
        yield from self.pending_against_items()

    def unbalanced_transactions(self) -> Iterator[Violation]:
        """Invariant 1: each transaction sums to zero for each point kind."""
        e = ledger_entries.c
        total = func.sum(e.points)
        query = (
            select(e.transaction_id, e.kind, total)
            .group_by(e.transaction_id, e.kind)
            .having(total != 0)
            .order_by(e.transaction_id)
        )
        for tx, kind, points in self._rows(query):
            yield Violation(1, "transaction sums to zero", f"transaction {tx} ({kind})", 0, points)

    def short_transactions(self) -> Iterator[Violation]:
        """Invariant 1: each transaction has at least two entries."""
        t, e = ledger_transactions.c, ledger_entries.c
        count = func.count(e.id)
        query = (
            select(t.id, count)
            .select_from(ledger_transactions.outerjoin(ledger_entries, e.transaction_id == t.id))
            .group_by(t.id)
            .having(count < 2)
            .order_by(t.id)
        )
        for tx, entries in self._rows(query):
            yield Violation(
                1, "transaction has two or more entries", f"transaction {tx}", 2, entries
            )

    def unbalanced_kinds(self) -> Iterator[Violation]:
        """Invariant 1: the sum over all accounts is zero, for each point kind."""
        e = ledger_entries.c
        total = func.sum(e.points)
        query = select(e.kind, total).group_by(e.kind).having(total != 0).order_by(e.kind)
        for kind, points in self._rows(query):
            yield Violation(1, "all accounts sum to zero", f"point kind {kind}", 0, points)

    def _entry_sums(self) -> Select[int, str, int, int]:
        e = ledger_entries.c
        return (
            select(
                e.member_id,
                e.kind,
                func.sum(case((e.account == MEMBER_AVAILABLE, e.points), else_=0)).label(
                    "available"
                ),
                func.sum(case((e.account == MEMBER_PENDING, e.points), else_=0)).label("pending"),
            )
            .where(e.member_id.is_not(None))
            .group_by(e.member_id, e.kind)
        )

    def negative_balances(self) -> Iterator[Violation]:
        """Invariant 2: no member balance, stored or summed from entries, is negative."""
        sums = self._entry_sums().subquery()
        b = balances.c
        stored = select(b.member_id, b.kind, literal("stored"), b.available, b.pending).where(
            or_(b.available < 0, b.pending < 0)
        )
        summed = select(
            sums.c.member_id, sums.c.kind, literal("entries"), sums.c.available, sums.c.pending
        ).where(or_(sums.c.available < 0, sums.c.pending < 0))
        for query in (stored, summed):
            for member, kind, source, available, pending in self._rows(query):
                name = account_name(MEMBER_AVAILABLE, member)
                yield Violation(
                    2,
                    f"balance not negative ({source})",
                    f"{name} ({kind})",
                    0,
                    min(available, pending),
                )

    def balances_against_entries(self) -> Iterator[Violation]:
        """Invariant 3: each stored balance equals the sum of its account's entries."""
        sums = self._entry_sums().subquery()
        b = balances.c
        joined = balances.join(
            sums, and_(b.member_id == sums.c.member_id, b.kind == sums.c.kind), full=True
        )
        member = func.coalesce(b.member_id, sums.c.member_id)
        kind = func.coalesce(b.kind, sums.c.kind)
        stored_a, summed_a = func.coalesce(b.available, 0), func.coalesce(sums.c.available, 0)
        stored_p, summed_p = func.coalesce(b.pending, 0), func.coalesce(sums.c.pending, 0)
        query = (
            select(member, kind, stored_a, summed_a, stored_p, summed_p)
            .select_from(joined)
            .where(or_(stored_a != summed_a, stored_p != summed_p))
        )
        for m, k, s_a, e_a, s_p, e_p in self._rows(query):
            if s_a != e_a:
                subject = f"{account_name(MEMBER_AVAILABLE, m)} ({k})"
                yield Violation(3, "stored balance = sum of entries", subject, e_a, s_a)
            if s_p != e_p:
                subject = f"{account_name(MEMBER_PENDING, m)} ({k})"
                yield Violation(3, "stored balance = sum of entries", subject, e_p, s_p)

    def _against_balances(
        self, sums: Subquery, stored_column: str
    ) -> Iterator[tuple[int, str, int, int]]:
        """Member balances whose `stored_column` differs from `sums.total` (per member and kind).

        A full join, so a balance with nothing behind it, or something with no balance row, shows.
        """
        b = balances.c
        joined = balances.join(
            sums, and_(b.member_id == sums.c.member_id, b.kind == sums.c.kind), full=True
        )
        stored = func.coalesce(b[stored_column], 0)
        behind = func.coalesce(sums.c.total, 0)
        query = (
            select(
                func.coalesce(b.member_id, sums.c.member_id),
                func.coalesce(b.kind, sums.c.kind),
                stored,
                behind,
            )
            .select_from(joined)
            .where(stored != behind)
        )
        yield from self._rows(query)

    def balances_against_lots(self) -> Iterator[Violation]:
        """Invariant 3: each available balance equals the sum of its open lots."""
        l_ = lots.c
        sums = (
            select(l_.member_id, l_.kind, func.sum(l_.remaining).label("total"))
            .group_by(l_.member_id, l_.kind)
            .subquery()
        )
        for member, kind, available, remaining in self._against_balances(sums, "available"):
            subject = f"{account_name(MEMBER_AVAILABLE, member)} ({kind})"
            yield Violation(3, "balance = sum of open lots", subject, remaining, available)

    def lots_against_entries(self) -> Iterator[Violation]:
        """Invariant 3: each lot's remaining points equal the entries that touched it."""
        e, l_ = ledger_entries.c, lots.c
        sums = (
            select(e.lot_id, func.sum(e.points).label("points"))
            .where(and_(e.lot_id.is_not(None), e.account == MEMBER_AVAILABLE))
            .group_by(e.lot_id)
            .subquery()
        )
        summed = func.coalesce(sums.c.points, 0)
        query = (
            select(l_.id, l_.remaining, summed)
            .select_from(lots.outerjoin(sums, sums.c.lot_id == l_.id))
            .where(l_.remaining != summed)
            .order_by(l_.id)
        )
        for lot, remaining, points in self._rows(query):
            yield Violation(
                3, "lot = sum of its entries", f"lot {lot}", _coalesce(points), remaining
            )

    def pending_against_items(self) -> Iterator[Violation]:
        """Invariant 3: each pending balance equals the open pending items behind it."""
        p = pending_points.c
        sums = (
            select(p.member_id, p.kind, func.sum(p.points).label("total"))
            .where(p.status == "open")
            .group_by(p.member_id, p.kind)
            .subquery()
        )
        for member, kind, pending, items in self._against_balances(sums, "pending"):
            subject = f"{account_name(MEMBER_PENDING, member)} ({kind})"
            yield Violation(3, "pending balance = open pending items", subject, items, pending)
