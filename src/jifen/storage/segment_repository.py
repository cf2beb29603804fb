"""SQL for the segments members are in: set by operators, or computed by the daily job (RFM)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import Connection, Select, and_, delete, insert, literal, select

from jifen.storage.tables import member_segments, members

OPERATOR = "operator"
RFM = "rfm"


class SegmentRepository:
    """Reads and replaces a member's segments, one source at a time."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def lock_member(self, member_id: int) -> bool:
        """Lock the member's row while their segments change; False when there is no member."""
        query = select(members.c.id).where(members.c.id == member_id).with_for_update()
        return self.connection.execute(query).first() is not None

    def of(self, member_id: int) -> dict[str, tuple[str, ...]]:
        """The member's segments by source (`operator`, `rfm`), each sorted."""
        s = member_segments.c
        query = select(s.source, s.segment).where(s.member_id == member_id).order_by(s.segment)
        found: dict[str, list[str]] = {}
        for source, segment in self.connection.execute(query):
            found.setdefault(source, []).append(segment)
        return {source: tuple(names) for source, names in found.items()}

    def names(self, member_id: int) -> frozenset[str]:
        """Every segment the member is in, whatever put them there."""
        query = select(member_segments.c.segment).where(member_segments.c.member_id == member_id)
        return frozenset(self.connection.execute(query).scalars())

    def of_members(self, member_ids: Collection[int]) -> dict[int, frozenset[str]]:
        """The segments of several members at once (those in none are left out)."""
        if not member_ids:
            return {}
        s = member_segments.c
        query = select(s.member_id, s.segment).where(s.member_id.in_(sorted(member_ids)))
        found: dict[int, set[str]] = {}
        for member_id, segment in self.connection.execute(query):
            found.setdefault(member_id, set()).add(segment)
        return {member_id: frozenset(names) for member_id, names in found.items()}

    def assign(self, member_id: int, segments: Iterable[str]) -> None:
        """Replace the segments operators put the member in."""
        s = member_segments.c
        self.connection.execute(
            delete(member_segments).where(and_(s.member_id == member_id, s.source == OPERATOR))
        )
        rows = [
            {"member_id": member_id, "source": OPERATOR, "segment": name}
            for name in sorted(set(segments))
        ]
        if rows:
            self.connection.execute(insert(member_segments), rows)

    def replace_computed(self, source: str, members: Select[tuple[int, str]]) -> int:
        """Replace every member's segment of `source` by `members` (member_id, segment) rows."""
        self.connection.execute(delete(member_segments).where(member_segments.c.source == source))
        rows = members.subquery()
        result = self.connection.execute(
            insert(member_segments).from_select(
                ["member_id", "source", "segment"],
                select(rows.c[0], literal(source), rows.c[1]),
            )
        )
        return int(result.rowcount or 0)
