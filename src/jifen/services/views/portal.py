"""What the member portal shows beyond the member summary: tier outlook and the member's spending.

The outlook turns "N more upgrade points to reach 4★" into "N more by DATE": by the day the
current tier is re-assessed (or, for the join tier, a quarter ahead; the end of the year for
calendar-year programs), counting only the points that will still be in the window on that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from jifen.domain.calendar import period_end
from jifen.programs.schema import Program, TierLevel
from jifen.programs.tiers import qualifying_window_start
from jifen.services.unit_of_work import UnitOfWork
from jifen.services.views.member import MemberSummary
from jifen.storage.portal_repository import OrderLine
from jifen.storage.redemption_repository import RedemptionRecord

JOIN_TIER_HORIZON_MONTHS = 3
HISTORY_LIMIT = 100


@dataclass(frozen=True, slots=True)
class TierOutlook:
    """The member's tier and what it takes to reach the next one by `deadline`.

    `next_level` is None at the top tier. `points_needed` counts the points the member has now
    that will still count on `deadline`; `share` is how far the current points go toward the
    next threshold (0.0–1.0), for the progress bar.
    """

    current: TierLevel
    valid_until: date | None
    qualifying_points: int
    next_level: TierLevel | None
    points_needed: int
    deadline: date | None
    share: float


def _level(program: Program, code: str) -> TierLevel:
    return next(level for level in program.tiers.levels if level.code == code)


def _deadline(program: Program, valid_until: date | None, today: date) -> date:
    if program.tiers.metric == "calendar_year_points":
        return date(today.year, 12, 31)
    if valid_until is not None and valid_until >= today:
        return valid_until
    return period_end(today, JOIN_TIER_HORIZON_MONTHS)


def tier_outlook(uow: UnitOfWork, *, program: Program, summary: MemberSummary) -> TierOutlook:
    """The tier card of the portal's home page, on the day the member was summarised."""
    today = summary.today
    tier = summary.member.tier
    current = _level(program, tier.code if tier else program.tiers.join_tier)
    valid_until = tier.valid_until if tier else None
    if summary.progress is None:
        return TierOutlook(current, valid_until, summary.qualifying_points, None, 0, None, 1.0)
    target = _level(program, summary.progress.next_code)
    deadline = _deadline(program, valid_until, today)
    tier_kinds = [k.code for k in program.point_kinds if k.counts_toward_tiers]
    with uow:
        kept = uow.statements.qualifying_points(
            summary.member.id,
            kinds=tier_kinds,
            since=qualifying_window_start(program, deadline),
            until=today,
        )
    share = min(1.0, summary.qualifying_points / target.threshold) if target.threshold else 1.0
    return TierOutlook(
        current=current,
        valid_until=valid_until,
        qualifying_points=summary.qualifying_points,
        next_level=target,
        points_needed=max(target.threshold - kept, summary.progress.points_needed),
        deadline=deadline,
        share=share,
    )


def member_orders(uow: UnitOfWork, *, member_id: int) -> list[OrderLine]:
    """The member's latest mall orders, newest first."""
    with uow:
        return uow.portal.orders_of(member_id, limit=HISTORY_LIMIT)


def member_redemptions(uow: UnitOfWork, *, member_id: int) -> list[RedemptionRecord]:
    """The member's latest ticket redemptions and seat upgrades, newest first."""
    with uow:
        return uow.portal.redemptions_of(member_id, limit=HISTORY_LIMIT)
