"""A program's tier settings as the pure tier rules take them, and its qualifying window."""

from __future__ import annotations

from datetime import date

from jifen.domain.calendar import rolling_window_start
from jifen.domain.tiers import TierLevel, TierPolicy
from jifen.programs.schema import Program


def tier_policy(program: Program) -> TierPolicy:
    """The program's tier settings as the pure tier rules take them."""
    tiers = program.tiers
    return TierPolicy(
        levels=tuple(TierLevel(level.code, level.threshold) for level in tiers.levels),
        validity_months=tiers.validity_months,
        grace_days=tiers.grace_days,
        soft_landing=tiers.soft_landing,
    )


def qualifying_window_start(program: Program, as_of: date) -> date:
    """The first day whose tier points count on `as_of` (rolling 12 months or calendar year)."""
    if program.tiers.metric == "calendar_year_points":
        return as_of.replace(month=1, day=1)
    return rolling_window_start(as_of, 12)
