"""Member segments: the ones operators assign, and the RFM segment the daily job computes.

A segment is a name (`vip`, `champions`). Earning rules match them (`segment_in`) and campaigns
target them (`target.segments`); a member is in a segment whatever put them there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from jifen.domain.errors import NotFound
from jifen.programs.schema import Program
from jifen.services import audit, journal
from jifen.services.analytics.period import member_reports, rollups, spendable_kinds
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.segment_repository import OPERATOR, RFM

RFM_DAYS = 365  # the daily job scores the members who earned in the year before its date


@dataclass(frozen=True, slots=True)
class MemberSegments:
    """A member's segments: all of them, those operators assigned, and the RFM one (if any)."""

    member_id: int
    assigned: tuple[str, ...]
    rfm: str | None

    @property
    def segments(self) -> tuple[str, ...]:
        """Every segment the member is in, sorted."""
        return tuple(sorted({*self.assigned, *([self.rfm] if self.rfm else [])}))


def member_segments(uow: UnitOfWork, *, member_id: int) -> MemberSegments:
    """The member's segments; `NotFound` for an unknown member."""
    with uow:
        if uow.members.get(member_id) is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        return _read(uow, member_id)


def _read(uow: UnitOfWork, member_id: int) -> MemberSegments:
    found = uow.segments.of(member_id)
    rfm = found.get(RFM, ())
    return MemberSegments(member_id, found.get(OPERATOR, ()), rfm[0] if rfm else None)


def assign_segments(
    uow: UnitOfWork, *, member_id: int, segments: list[str], actor: str, now: datetime
) -> MemberSegments:
    """Set the segments operators put the member in (replacing the last set), audited.

    Setting the same segments again changes nothing and writes no audit row.
    """
    wanted = tuple(sorted(set(segments)))
    with uow:
        if not uow.segments.lock_member(member_id):
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        before = _read(uow, member_id)
        if before.assigned == wanted:
            return before
        uow.segments.assign(member_id, wanted)
        audit.record(
            uow,
            at=now,
            actor=actor,
            action="member.segments_set",
            subject=f"member:{member_id}",
            details={"before": list(before.assigned), "after": list(wanted)},
        )
        after = _read(uow, member_id)
        journal.record(
            uow,
            "assign_segments",
            at=now,
            member_id=member_id,
            segments=sorted(wanted),
            actor=actor,
        )
        uow.commit()
    return after


def score_rfm(uow: UnitOfWork, program: Program, as_of: date, progress: Any) -> dict[str, Any]:
    """The daily step: every member who earned in the year up to `as_of` gets their RFM segment.

    Scored as the RFM report scores them (docs/metrics.md) over `as_of − 365 days … as_of − 1`,
    replacing yesterday's segments in one transaction; members who earned nothing have none.
    """
    start, end = as_of - timedelta(days=RFM_DAYS), as_of - timedelta(days=1)
    with uow:
        activity = rollups(uow, program).activity(
            kinds=spendable_kinds(program), start=start, end=end
        )
        members = member_reports(uow, program).rfm_members(activity=activity, end=end)
        scored = uow.segments.replace_computed(RFM, members)
        uow.commit()
    progress("segments", scored)
    return {"members_scored": scored, "from": str(start), "to": str(end)}
