"""Who earned in each month, as bitmaps of member ids: active members and 复购 over whole months.

Counting the members who earned over a year means reading every member-day of the year; a
bitmap per month (bit n: member n earned; a second one: member n earned twice or more) makes it
twelve rows, whatever the membership. A fold ORs a batch of earnings into the months it touches;
since a member's earnings only ever grow, the bits are only ever set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from jifen.storage.tables import analytics_active_months


@dataclass(frozen=True, slots=True)
class Earners:
    """Members who earned at least once (`once`) and twice or more (`twice`), as bitmaps."""

    once: int = 0
    twice: int = 0

    def then(self, other: Earners) -> Earners:
        """Both periods together: earning once in each makes twice."""
        return Earners(self.once | other.once, self.twice | other.twice | (self.once & other.once))

    @staticmethod
    def of(rows: Iterable[tuple[int, int]]) -> Earners:
        """From (member id, earnings) rows; a member may appear in several rows."""
        per_member: dict[int, int] = defaultdict(int)
        for member_id, earnings in rows:
            per_member[member_id] += int(earnings)
        once = bytearray((max(per_member, default=0) >> 3) + 1)
        twice = bytearray(len(once))
        for member_id, earnings in per_member.items():
            if earnings >= 1:
                once[member_id >> 3] |= 1 << (member_id & 7)
            if earnings >= 2:
                twice[member_id >> 3] |= 1 << (member_id & 7)
        return Earners(int.from_bytes(once, "little"), int.from_bytes(twice, "little"))


def _bytes(bits: int) -> bytes:
    return bits.to_bytes(max(1, (bits.bit_length() + 7) // 8), "little")


class ActiveMonths:
    """The monthly earner bitmaps."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def load(self, months: Sequence[str]) -> list[Earners]:
        """The bitmaps of these months (`YYYY-MM`), empty for a month without any."""
        a = analytics_active_months.c
        query = select(a.month, a.earners, a.repeaters).where(a.month.in_(list(months)))
        found = {
            month: Earners(int.from_bytes(once, "little"), int.from_bytes(twice, "little"))
            for month, once, twice in self.connection.execute(query)
        }
        return [found.get(month, Earners()) for month in months]

    def add(self, rows: Iterable[tuple[int, str, int]]) -> None:
        """Fold (member id, month, earnings) rows of a batch into their months."""
        per_month: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for member_id, month, earnings in rows:
            per_month[month].append((member_id, earnings))
        if not per_month:
            return
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        before = dict(zip(per_month, self.load(sorted(per_month)), strict=True))
        for month, earned in per_month.items():
            merged = before[month].then(Earners.of(earned))
            values = {"earners": _bytes(merged.once), "repeaters": _bytes(merged.twice)}
            statement = dialect.insert(analytics_active_months).values(month=month, **values)
            self.connection.execute(
                statement.on_conflict_do_update(index_elements=["month"], set_=values)
            )
