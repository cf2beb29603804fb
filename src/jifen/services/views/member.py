"""What a member (or the operator looking at one) sees: balances, tier, expiring points, history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from jifen.domain.calendar import local_date
from jifen.domain.errors import NotFound
from jifen.domain.tiers import Progress, TierState, progress
from jifen.programs.schema import Program
from jifen.programs.tiers import qualifying_window_start, tier_policy
from jifen.services.cursors import decode_cursor, encode_cursor
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.member_repository import MemberRecord, TierChange
from jifen.storage.statement_repository import StatementLine

EXPIRING_DAYS = 90


@dataclass(frozen=True, slots=True)
class MemberSummary:
    """A member's state on `today`: spendable and pending points, tier points, what lapses soon.

    `today` is the program-local day the summary was taken on.
    """

    member: MemberRecord
    today: date
    available: dict[str, int]
    pending: int
    qualifying_points: int
    redemption_unlocked: bool
    expiring: list[tuple[date, str, int]]
    progress: Progress | None
    segments: tuple[str, ...] = ()


def _member(uow: UnitOfWork, member_id: int) -> MemberRecord:
    member = uow.members.get(member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.", member_id=member_id)
    return member


def member_summary(
    uow: UnitOfWork, *, program: Program, member_id: int, now: datetime
) -> MemberSummary:
    """The member's balances and tier figures on the program-local day of the instant `now`."""
    today = local_date(now, program.timezone)
    spendable = [k.code for k in program.point_kinds if k.spendable]
    tier_kinds = [k.code for k in program.point_kinds if k.counts_toward_tiers]
    with uow:
        found = uow.members.with_balances(member_id)
        if found is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        member, held = found
        lots = uow.members.lot_figures(
            member_id,
            today=today,
            horizon=today + timedelta(days=EXPIRING_DAYS),
            since=qualifying_window_start(program, today),
        )
        segments = uow.segments.names(member_id)
    stored = {b.kind: b for b in held}
    points = sum(lots.credited.get(k, 0) for k in tier_kinds)
    tier = member.tier or TierState(program.tiers.join_tier, None)
    # Lots whose expiry date has come cannot be spent, even before the daily job expires them.
    spendable_now = {
        k: (stored[k].available if k in stored else 0) - lots.lapsed.get(k, 0) for k in spendable
    }
    return MemberSummary(
        member=member,
        today=today,
        available=spendable_now,
        pending=sum(b.pending for b in stored.values()),
        qualifying_points=points,
        redemption_unlocked=member.redemption_unlocked_on is not None,
        expiring=[(day, kind, due) for day, kind, due in lots.lapsing if kind in spendable],
        progress=progress(tier_policy(program), current=tier, qualifying_points=points),
        segments=tuple(sorted(segments)),
    )


def statement(
    uow: UnitOfWork, *, member_id: int, cursor: str | None, limit: int
) -> tuple[list[StatementLine], str | None]:
    """One page of the member's ledger, newest first, and the cursor of the next page."""
    before = decode_cursor(cursor) if cursor else None
    with uow:
        _member(uow, member_id)
        lines = uow.statements.statement(member_id, before=before, limit=limit + 1)
    page = lines[:limit]
    return page, encode_cursor(page[-1].entry_id) if len(lines) > limit else None


def tier_history(uow: UnitOfWork, *, member_id: int) -> tuple[MemberRecord, list[TierChange]]:
    """The member and every change of their tier, oldest first."""
    with uow:
        return _member(uow, member_id), uow.members.tier_history(member_id)
