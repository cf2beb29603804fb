"""Tiers (会员等级): a program's ordered levels and the daily upgrade, keep or lower decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from jifen.domain.calendar import period_end


@dataclass(frozen=True, slots=True)
class TierLevel:
    """One tier: its code (`star3`) and the qualifying points that earn it."""

    code: str
    threshold: int


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """A program's tiers and how they are kept.

    `levels` run lowest first with strictly increasing thresholds; the lowest is the join tier,
    which never lapses. A tier above it is valid for `validity_months` calendar months from the
    day it is gained. At expiry a member who no longer qualifies may first get `grace_days` more
    (缓冲期, once), and with `soft_landing` drops one level at a time. Qualifying points are
    counted over the last `window_months` months.
    """

    levels: tuple[TierLevel, ...]
    validity_months: int
    grace_days: int = 0
    soft_landing: bool = False
    window_months: int = 12

    def __post_init__(self) -> None:
        """Refuse a policy that could not rank members."""
        if not self.levels:
            msg = "A tier policy needs at least one level (the join tier)."
            raise ValueError(msg)
        for lower, higher in zip(self.levels, self.levels[1:], strict=False):
            if higher.threshold <= lower.threshold:
                msg = (
                    "Tier thresholds must increase from the lowest level up: "
                    f"{higher.code} ({higher.threshold}) is not above "
                    f"{lower.code} ({lower.threshold})."
                )
                raise ValueError(msg)
        codes = [level.code for level in self.levels]
        if len(set(codes)) != len(codes):
            msg = f"Tier codes must be unique; got {codes}."
            raise ValueError(msg)
        if self.validity_months < 1:
            msg = f"A tier is valid for at least one month, not {self.validity_months}."
            raise ValueError(msg)
        if self.grace_days < 0:
            msg = f"A grace period cannot be negative ({self.grace_days} days)."
            raise ValueError(msg)
        if self.window_months < 1:
            msg = (
                f"Qualifying points are counted over at least one month, not {self.window_months}."
            )
            raise ValueError(msg)

    def rank(self, code: str) -> int:
        """The position of tier `code`, 0 for the join tier; ValueError if the program lacks it."""
        for index, level in enumerate(self.levels):
            if level.code == code:
                return index
        msg = f"Unknown tier {code!r}; this program has {[lv.code for lv in self.levels]}."
        raise ValueError(msg)

    def join_state(self) -> TierState:
        """The tier a new member starts in: the lowest, valid for ever."""
        return TierState(code=self.levels[0].code, valid_until=None)


@dataclass(frozen=True, slots=True)
class TierState:
    """A member's tier: its code and the last day it is valid (None for the join tier).

    `in_grace` is true while the member is in a grace period (缓冲期) granted at an expiry; it is
    what makes a grace a one-off, so it must be stored with the other two fields.
    """

    code: str
    valid_until: date | None
    in_grace: bool = False

    def expired(self, as_of: date) -> bool:
        """Whether the tier is no longer valid on `as_of`."""
        return self.valid_until is not None and as_of > self.valid_until


class TierChangeReason(StrEnum):
    """Why a member's tier changed."""

    UPGRADE = "upgrade"
    """The qualifying points support a higher tier; it is valid for a new period from today."""
    REQUALIFIED = "requalified"
    """保级: the points still support the tier at expiry or in a grace; a new period starts."""
    DOWNGRADE = "downgrade"
    """The tier expired unsupported: the member moves to what the points support (or one down)."""
    GRACE = "grace"
    """The tier expired unsupported and is kept `grace_days` longer, once, before a downgrade."""


@dataclass(frozen=True, slots=True)
class TierDecision:
    """A change of a member's tier, with the figures it was decided on.

    `old` is the state the decision was taken from and `new` the state to store; `reason` says
    which rule applied (see `TierChangeReason`); `qualifying_points` is the figure the member was
    measured by on `decided_on`.
    """

    member_id: int
    old: TierState
    new: TierState
    reason: TierChangeReason
    qualifying_points: int
    decided_on: date


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a member is from the next tier: "12,400 more upgrade points to reach star4"."""

    next_code: str
    points_needed: int


def tier_for(policy: TierPolicy, points: int) -> TierLevel:
    """The highest level whose threshold `points` reach; the join tier if they reach none."""
    return policy.levels[_supported_rank(policy, points)]


def progress(policy: TierPolicy, *, current: TierState, qualifying_points: int) -> Progress | None:
    """The next tier above both the current one and what the points support; None at the top."""
    above = max(policy.rank(current.code), _supported_rank(policy, qualifying_points)) + 1
    if above >= len(policy.levels):
        return None
    target = policy.levels[above]
    return Progress(next_code=target.code, points_needed=target.threshold - qualifying_points)


def points_to_keep(policy: TierPolicy, *, code: str, qualifying_points: int) -> int:
    """The upgrade points still missing for tier `code` to be kept (保级); 0 when none are."""
    threshold = policy.levels[policy.rank(code)].threshold
    return max(0, threshold - qualifying_points)


def decide_tier(
    policy: TierPolicy,
    *,
    member_id: int,
    current: TierState,
    qualifying_points: int,
    as_of: date,
) -> TierDecision | None:
    """The daily tier evaluation of one member on `as_of`; None when the tier stays as it is.

    Points that support a higher tier upgrade the member at once. A tier past its `valid_until`
    is re-assessed (保级): kept for a new period if the points still support it, otherwise a grace
    is granted once (if the policy has one and it has not already run out), then the member moves
    to the tier the points support, or one level down with a soft landing. A member in grace whose
    points support the tier again is requalified. Applying the decision and deciding again on the
    same day gives None.
    """
    current_rank = policy.rank(current.code)
    supported = _supported_rank(policy, qualifying_points)
    if supported > current_rank:
        reason, new = TierChangeReason.UPGRADE, _start(policy, supported, as_of)
    elif supported == current_rank and (current.in_grace or current.expired(as_of)):
        reason, new = TierChangeReason.REQUALIFIED, _start(policy, current_rank, as_of)
    elif not current.expired(as_of):
        return None
    elif (grace := _grace(policy, current, as_of)) is not None:
        reason, new = TierChangeReason.GRACE, grace
    else:
        floor = current_rank - 1 if policy.soft_landing else supported
        reason, new = TierChangeReason.DOWNGRADE, _start(policy, max(supported, floor), as_of)
    return TierDecision(
        member_id=member_id,
        old=current,
        new=new,
        reason=reason,
        qualifying_points=qualifying_points,
        decided_on=as_of,
    )


def _supported_rank(policy: TierPolicy, points: int) -> int:
    supported = 0
    for index, level in enumerate(policy.levels):
        if points >= level.threshold:
            supported = index
    return supported


def _start(policy: TierPolicy, rank: int, as_of: date) -> TierState:
    """The tier at `rank` gained on `as_of`: a full new period, or for ever for the join tier."""
    valid_until = None if rank == 0 else period_end(as_of, policy.validity_months)
    return TierState(code=policy.levels[rank].code, valid_until=valid_until)


def _grace(policy: TierPolicy, current: TierState, as_of: date) -> TierState | None:
    """The expired `current` kept `grace_days` longer, or None if no grace is due."""
    if policy.grace_days == 0 or current.in_grace or current.valid_until is None:
        return None
    extended = current.valid_until + timedelta(days=policy.grace_days)
    # A run catching up after the grace would already have ended goes straight to the downgrade,
    # so the state it leaves is never expired on the day it was decided.
    if as_of > extended:
        return None
    return TierState(code=current.code, valid_until=extended, in_grace=True)
