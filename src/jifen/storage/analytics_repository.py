"""Set-based SQL for the analytics rollups: folding the ledger in, and reading points and activity.

Two rollups hold the ledger up to a watermark (the id of the last ledger transaction folded in):
`analytics_points_daily`, the net points per local day, account and kind; and
`analytics_member_days`, each member's earning transactions and points per local day. Every read
adds the transactions beyond the watermark straight from the ledger, in the same statement as it
reads the watermark, so a report is never stale and never counts a transaction twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Select,
    Subquery,
    Table,
    and_,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from jifen.domain.ledger import MEMBER_AVAILABLE, PROGRAM_ISSUED, TransactionType
from jifen.storage.analytics_months import ActiveMonths, Earners
from jifen.storage.analytics_sql import local_day, month_of
from jifen.storage.tables import (
    analytics_member_days,
    analytics_points_daily,
    analytics_state,
    ledger_entries,
    ledger_transactions,
)

WATERMARK = "rollup_transaction_id"
PAD = timedelta(days=1)
WORK_MEM = "128MB"


def _is_earning() -> ColumnElement[bool]:
    """A confirmed trip, or a credit paid by the program or a partner (not a correction)."""
    t = ledger_transactions.c
    source = ledger_entries.alias("source")
    paid = exists(
        select(literal(1)).where(
            and_(
                source.c.transaction_id == t.id,
                or_(source.c.account == PROGRAM_ISSUED, source.c.account.like("partner:%")),
            )
        )
    )
    return or_(
        t.type == TransactionType.CONFIRM.value,
        and_(t.type == TransactionType.CREDIT.value, paid),
    )


def whole_months(start: date, end: date) -> list[tuple[str, date, date]]:
    """The calendar months wholly inside `start`..`end`: (`YYYY-MM`, first day, last day)."""
    months: list[tuple[str, date, date]] = []
    first = start if start.day == 1 else (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    while True:
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        last = following - timedelta(days=1)
        if last > end:
            return months
        months.append((f"{first:%Y-%m}", first, last))
        first = following


class AnalyticsRepository:
    """The rollups of the ledger and the reads over them; days are local to `zone`."""

    def __init__(self, connection: Connection, zone: ZoneInfo) -> None:
        self.connection = connection
        self.zone = zone
        self.dialect = connection.dialect.name
        self._mark: int | None = None

    # -- folding the ledger in ------------------------------------------------------------------

    def watermark(self) -> int:
        """The id of the last ledger transaction folded in (0: none yet), for this transaction.

        Read once and kept; on PostgreSQL the row is locked FOR SHARE, so no refresh can commit
        new rollups while this transaction reads them beside the ledger beyond the mark (SQLite
        reads one snapshot per transaction anyway).
        """
        if self._mark is None:
            if self.dialect == "postgresql":  # per-member aggregates hash in memory, not on disk
                self.connection.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
            s = analytics_state.c
            query = select(s.value).where(s.name == WATERMARK)
            if self.dialect == "postgresql":
                query = query.with_for_update(read=True)
            self._mark = int(self.connection.execute(query).scalar_one_or_none() or 0)
        return self._mark

    def high_water(self) -> int:
        """The highest ledger transaction id below which no transaction is still being written.

        PostgreSQL hands out ids before commit, so a lower id may still be in flight; a SHARE
        lock waits for the writers in flight and is held only until this transaction ends.
        SQLite has one writer at a time, so the highest id is already safe.
        """
        if self.dialect == "postgresql":
            self.connection.execute(text("LOCK TABLE ledger_transactions IN SHARE MODE"))
        query = select(func.coalesce(func.max(ledger_transactions.c.id), 0))
        return int(self.connection.execute(query).scalar_one())

    def lock_watermark(self) -> int:
        """The watermark, locked until this transaction ends (so refreshes never overlap)."""
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        self.connection.execute(
            dialect.insert(analytics_state)
            .values(name=WATERMARK, value=0)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        s = analytics_state.c
        query = select(s.value).where(s.name == WATERMARK).with_for_update()
        return int(self.connection.execute(query).scalar_one())

    def fold(self, *, kinds: Sequence[str], after: int, through: int) -> int:
        """Add the transactions with ids in (`after`, `through`] to the rollups; how many.

        `after` must be the watermark, locked by `lock_watermark`; the watermark becomes `through`.
        """
        t, e = ledger_transactions.c, ledger_entries.c
        ids = and_(t.id > after, t.id <= through)
        folded = int(self.connection.execute(select(func.count()).where(ids)).scalar_one())
        span = self._span(ids)
        in_batch = and_(ids, e.transaction_id > after, e.transaction_id <= through)
        self._add(analytics_points_daily, self._points_select(in_batch, span))
        earnings = self._earnings_select(in_batch, kinds, span)
        self._add(analytics_member_days, earnings)
        self._add_months(earnings.subquery())
        self._set_watermark(through)
        return folded

    def _add(self, table: Table, query: Select[Any]) -> None:
        """Insert the query's rows, adding their figures to rows already there for the same key."""
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        columns = [c.name for c in table.c]
        statement = dialect.insert(table).from_select(columns, query)
        keys = [c.name for c in table.primary_key]
        sums = {
            name: table.c[name] + statement.excluded[name] for name in columns if name not in keys
        }
        self.connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=sums))

    def _add_months(self, earnings: Subquery) -> None:
        month = month_of(self.dialect, earnings.c.day)
        query = select(earnings.c.member_id, month, func.sum(earnings.c.earnings)).group_by(
            earnings.c.member_id, month
        )
        ActiveMonths(self.connection).add(
            (int(m), str(mo), int(n)) for m, mo, n in self.connection.execute(query)
        )

    def _set_watermark(self, through: int) -> None:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        statement = dialect.insert(analytics_state).values(name=WATERMARK, value=through)
        self.connection.execute(
            statement.on_conflict_do_update(
                index_elements=["name"], set_={"value": statement.excluded.value}
            )
        )

    def _span(self, *conditions: ColumnElement[bool]) -> tuple[datetime, datetime] | None:
        """The times of the transactions in question (SQLite works out local days from it)."""
        if self.dialect == "postgresql":
            return None
        t = ledger_transactions.c
        query = select(func.min(t.occurred_at), func.max(t.occurred_at)).where(and_(*conditions))
        lo, hi = self.connection.execute(query).one()
        return None if lo is None else (lo - PAD, hi + PAD)

    def _day(self, span: tuple[datetime, datetime] | None) -> ColumnElement[date]:
        return local_day(self.dialect, ledger_transactions.c.occurred_at, self.zone, span)

    def _points_select(
        self, condition: ColumnElement[bool], span: tuple[datetime, datetime] | None
    ) -> Select[Any]:
        e, t = ledger_entries.c, ledger_transactions.c
        day = self._day(span)
        return (
            select(day.label("day"), e.account, e.kind, func.sum(e.points).label("points"))
            .select_from(ledger_entries.join(ledger_transactions, e.transaction_id == t.id))
            .where(condition)
            .group_by(day, e.account, e.kind)
        )

    def _earnings_select(
        self,
        condition: ColumnElement[bool],
        kinds: Sequence[str],
        span: tuple[datetime, datetime] | None,
    ) -> Select[Any]:
        e, t = ledger_entries.c, ledger_transactions.c
        day = self._day(span)
        return (
            select(
                e.member_id,
                day.label("day"),
                func.count(distinct(t.id)).label("earnings"),
                func.sum(e.points).label("points"),
            )
            .select_from(ledger_entries.join(ledger_transactions, e.transaction_id == t.id))
            .where(
                and_(
                    condition,
                    e.account == MEMBER_AVAILABLE,
                    e.kind.in_(list(kinds)),
                    e.points > 0,
                    _is_earning(),
                )
            )
            .group_by(e.member_id, day)
        )

    # -- reading ----------------------------------------------------------------------------------

    def _live(self) -> ColumnElement[bool]:
        """The ledger beyond the watermark (both tables bounded, so both indexes serve)."""
        mark = self.watermark()
        return and_(ledger_transactions.c.id > mark, ledger_entries.c.transaction_id > mark)

    def _live_span(self) -> tuple[datetime, datetime] | None:
        return self._span(ledger_transactions.c.id > self.watermark())

    def points(self, *, start: date, end: date) -> list[tuple[date, str, str, int]]:
        """Net points per local day, account and kind, for the days `start`..`end`."""
        d = analytics_points_daily.c
        stored = select(d.day, d.account, d.kind, d.points).where(d.day.between(start, end))
        live = self._points_select(self._live(), self._live_span())
        both = union_all(stored, live).subquery()
        query = (
            select(both.c.day, both.c.account, both.c.kind, func.sum(both.c.points))
            .where(both.c.day.between(start, end))
            .group_by(both.c.day, both.c.account, both.c.kind)
            .order_by(both.c.day)
        )
        return [(r[0], r[1], r[2], int(r[3])) for r in self.connection.execute(query)]

    def activity(
        self,
        *,
        kinds: Sequence[str],
        start: date,
        end: date,
        skip: tuple[date, date] | None = None,
    ) -> Subquery:
        """Members' earnings per local day in `start`..`end`: member_id, day, earnings, points.

        A member-day may appear twice (once from the rollup, once from the live ledger): readers
        sum, take the latest day or count distinct members, never count rows. With `skip`, the
        rollup's days in that range are left out (the live ledger's are not).
        """
        m = analytics_member_days.c
        stored = select(m.member_id, m.day, m.earnings, m.points).where(m.day.between(start, end))
        if skip is not None:
            stored = stored.where(~m.day.between(*skip))
        live = self._earnings_select(self._live(), kinds, self._live_span())
        both = union_all(stored, live).subquery()
        return (
            select(both.c.member_id, both.c.day, both.c.earnings, both.c.points)
            .where(both.c.day.between(start, end))
            .subquery("activity")
        )

    def earners(self, *, kinds: Sequence[str], start: date, end: date) -> tuple[int, int]:
        """Members who earned in the period, and those of them who earned two or more times.

        Whole months come from the monthly bitmaps; the days around them, and whatever lies
        beyond the watermark, from the member-days and the ledger.
        """
        months = whole_months(start, end)
        skip = (months[0][1], months[-1][2]) if months else None
        a = self.activity(kinds=kinds, start=start, end=end, skip=skip)
        rest = select(a.c.member_id, func.sum(a.c.earnings)).group_by(a.c.member_id)
        total = Earners.of((int(m), int(n)) for m, n in self.connection.execute(rest))
        for month in ActiveMonths(self.connection).load([code for code, _, _ in months]):
            total = total.then(month)
        return total.once.bit_count(), total.twice.bit_count()

    def earners_by_day(self, *, kinds: Sequence[str], start: date, end: date) -> dict[date, int]:
        """Members who earned, per local day."""
        a = self.activity(kinds=kinds, start=start, end=end)
        query = select(a.c.day, func.count(distinct(a.c.member_id))).group_by(a.c.day)
        return {day: int(n) for day, n in self.connection.execute(query)}
