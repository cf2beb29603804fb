"""Set-based SQL for program reports over a period, straight from the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, distinct, func, select

from jifen.domain.ledger import MEMBER_AVAILABLE, TransactionType
from jifen.storage.tables import ledger_entries, ledger_transactions, members

EARNING = (TransactionType.CREDIT.value, TransactionType.CONFIRM.value)


class ReportRepository:
    """Counts and sums for reports; `since` and `until` bound a half-open period."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def member_counts(self, *, since: datetime, until: datetime) -> tuple[int, int]:
        """Members joined before `until`, and those of them who joined from `since`."""
        m = members.c
        total = func.count(m.id)
        new = func.count(m.id).filter(m.joined_at >= since)
        row = self.connection.execute(select(total, new).where(m.joined_at < until)).one()
        return int(row[0]), int(row[1])

    def earners(self, *, kinds: Sequence[str], since: datetime, until: datetime) -> tuple[int, int]:
        """Members who earned spendable points in the period, and those who earned twice or more."""
        e, t = ledger_entries.c, ledger_transactions.c
        per_member = (
            select(e.member_id, func.count(distinct(t.id)).label("times"))
            .select_from(ledger_entries.join(ledger_transactions, e.transaction_id == t.id))
            .where(
                and_(
                    t.type.in_(EARNING),
                    e.account == MEMBER_AVAILABLE,
                    e.kind.in_(list(kinds)),
                    e.points > 0,
                    t.occurred_at >= since,
                    t.occurred_at < until,
                )
            )
            .group_by(e.member_id)
            .subquery()
        )
        again = func.count(per_member.c.member_id).filter(per_member.c.times > 1)
        row = self.connection.execute(select(func.count(per_member.c.member_id), again)).one()
        return int(row[0]), int(row[1])

    def issued(self, *, kinds: Sequence[str], since: datetime, until: datetime) -> int:
        """Spendable points credited or confirmed into members' lots in the period."""
        e, t = ledger_entries.c, ledger_transactions.c
        query = (
            select(func.coalesce(func.sum(e.points), 0))
            .select_from(ledger_entries.join(ledger_transactions, e.transaction_id == t.id))
            .where(
                and_(
                    t.type.in_(EARNING),
                    e.account == MEMBER_AVAILABLE,
                    e.kind.in_(list(kinds)),
                    t.occurred_at >= since,
                    t.occurred_at < until,
                )
            )
        )
        return int(self.connection.execute(query).scalar_one())

    def account_total(
        self, account: str, *, kinds: Sequence[str], since: datetime | None, until: datetime
    ) -> int:
        """Net points on an account over the period (from the start when `since` is None)."""
        e, t = ledger_entries.c, ledger_transactions.c
        conditions = [e.account == account, e.kind.in_(list(kinds)), t.occurred_at < until]
        if since is not None:
            conditions.append(t.occurred_at >= since)
        query = (
            select(func.coalesce(func.sum(e.points), 0))
            .select_from(ledger_entries.join(ledger_transactions, e.transaction_id == t.id))
            .where(and_(*conditions))
        )
        return int(self.connection.execute(query).scalar_one())

    def tier_counts(self) -> dict[str, int]:
        """Members per current tier."""
        m = members.c
        query = (
            select(m.tier_code, func.count()).where(m.tier_code.is_not(None)).group_by(m.tier_code)
        )
        return {code: int(n) for code, n in self.connection.execute(query)}
