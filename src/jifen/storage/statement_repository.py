"""SQL behind what a member sees: statement, expiring points, qualifying points, unlocks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select, update

from jifen.domain.ledger import MEMBER_ACCOUNTS
from jifen.storage.tables import balances, ledger_entries, ledger_transactions, lots, members


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One movement on a member's accounts."""

    entry_id: int
    at: datetime
    account: str
    kind: str
    points: int
    type: str
    transaction_id: int
    memo: dict[str, Any]


class StatementRepository:
    """Per-member reads for statements and the member summary."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def statement(self, member_id: int, *, before: int | None, limit: int) -> list[StatementLine]:
        """The member's entries, newest first, with ids below `before` when given."""
        e, t = ledger_entries.c, ledger_transactions.c
        conditions = [e.member_id == member_id, e.account.in_(sorted(MEMBER_ACCOUNTS))]
        if before is not None:
            conditions.append(e.id < before)
        query = (
            select(e.id, t.occurred_at, e.account, e.kind, e.points, t.type, t.id, t.memo)
            .select_from(ledger_entries.join(ledger_transactions, e.transaction_id == t.id))
            .where(and_(*conditions))
            .order_by(e.id.desc())
            .limit(limit)
        )
        return [StatementLine(*row) for row in self.connection.execute(query)]

    def qualifying_points(
        self, member_id: int, *, kinds: Sequence[str], since: date, until: date
    ) -> int:
        """Tier points credited to the member from `since` to `until`, both included."""
        l_ = lots.c
        query = select(func.coalesce(func.sum(l_.remaining), 0)).where(
            and_(
                l_.member_id == member_id,
                l_.kind.in_(list(kinds)),
                l_.credited_on >= since,
                l_.credited_on <= until,
            )
        )
        return int(self.connection.execute(query).scalar_one())

    def unlock_redemptions(
        self, unlocks: Sequence[tuple[int, date, int]], *, kinds: Sequence[str]
    ) -> None:
        """Open redemption on `day` for each `(member, day, threshold)` that has reached it.

        A member is unlocked when their spendable balance of `kinds` has reached `threshold` and
        no day is set yet. One statement for them all (sent as one batch on PostgreSQL).
        """
        if not unlocks:
            return
        b, m = balances.c, members.c
        codes = {f"unlock_kind_{i}": kind for i, kind in enumerate(sorted(kinds))}
        spendable = (
            select(func.coalesce(func.sum(b.available), 0))
            .where(and_(b.member_id == m.id, b.kind.in_([bindparam(name) for name in codes])))
            .scalar_subquery()
        )
        statement = (
            update(members)
            .where(
                and_(
                    m.id == bindparam("unlock_member"),
                    m.redemption_unlocked_on.is_(None),
                    spendable >= bindparam("unlock_threshold"),
                )
            )
            .values(redemption_unlocked_on=bindparam("unlock_on"))
        )
        rows = [
            {"unlock_member": member_id, "unlock_on": on, "unlock_threshold": threshold, **codes}
            for member_id, on, threshold in unlocks
        ]
        self.connection.execute(statement, rows if len(rows) > 1 else rows[0])

    def spendable(self, member_id: int, kinds: Sequence[str]) -> int:
        """The member's available points of these kinds, as stored."""
        b = balances.c
        query = select(func.coalesce(func.sum(b.available), 0)).where(
            and_(b.member_id == member_id, b.kind.in_(list(kinds)))
        )
        return int(self.connection.execute(query).scalar_one())

    def unlocked_on(self, member_id: int) -> date | None:
        """The day the member could first redeem, if they can."""
        query = select(members.c.redemption_unlocked_on).where(members.c.id == member_id)
        return self.connection.execute(query).scalar_one_or_none()
