"""Campaigns (积分加成): who and which trips a campaign targets, its bonus, control group, uplift.

Pure functions over frozen records: no database, no clock. Amounts are integers (points, fen);
only the statistics of the report (means, differences, confidence intervals) are floats.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import NormalDist

from jifen.domain.errors import JifenError

TREATED = "treated"
CONTROL = "control"
Z_95 = NormalDist().inv_cdf(0.975)  # 1.96: two-sided 95% under the normal approximation


class InvalidCampaign(JifenError):
    """A campaign definition that makes no sense (an empty window, two effects, bad hours)."""

    code = "invalid_campaign"
    status = 422


@dataclass(frozen=True, slots=True)
class Target:
    """Who and which trips earn the bonus; a field left empty (None) does not restrict.

    `member_ids`, `tiers` and `segments` (a member in any of them) pick members; `train_prefixes`
    picks trains by number prefix (`G` is the high-speed category, `G1` train G1 and G1xx);
    `weekdays` (1 = Monday … 7 = Sunday) and `hours` (`[from, to)`, 0–24) pick off-peak
    departures on the program's clock.
    """

    member_ids: frozenset[int] | None = None
    tiers: frozenset[str] | None = None
    segments: frozenset[str] | None = None
    train_prefixes: tuple[str, ...] | None = None
    weekdays: frozenset[int] | None = None
    hours: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Effect:
    """The bonus on the base points of `kind`: `percent` of them (half-up) or fixed `points`."""

    kind: str
    percent: int | None = None
    points: int | None = None


@dataclass(frozen=True, slots=True)
class Trip:
    """What a travelled ticket tells a campaign: the rider, the train and the local departure."""

    member_id: int
    tier: str | None
    train_number: str
    departure: datetime  # on the program's clock
    base_points: int
    segments: frozenset[str] = frozenset()  # the rider's


@dataclass(frozen=True, slots=True)
class CampaignRules:
    """The part of a campaign that decides a trip's bonus."""

    id: str
    starts_at: datetime
    ends_at: datetime
    target: Target
    effect: Effect
    control_percent: int


def check_rules(rules: CampaignRules) -> None:
    """Refuse a campaign that makes no sense with `InvalidCampaign`, naming every problem."""
    problems = []
    if rules.ends_at <= rules.starts_at:
        problems.append("ends_at must come after starts_at")
    effect = rules.effect
    if (effect.percent is None) == (effect.points is None):
        problems.append("give exactly one of effect.percent and effect.points")
    if effect.percent is not None and not 1 <= effect.percent <= 10_000:
        problems.append("effect.percent is 1 to 10000 (100 doubles the base points)")
    if effect.points is not None and not 1 <= effect.points <= 10_000_000:
        problems.append("effect.points is 1 to 10000000")
    if not 0 <= rules.control_percent <= 50:
        problems.append("control_percent is 0 to 50")
    target = rules.target
    if target.weekdays is not None and not target.weekdays <= set(range(1, 8)):
        problems.append("target.weekdays are 1 (Monday) to 7 (Sunday)")
    if target.hours is not None and not 0 <= target.hours[0] < target.hours[1] <= 24:
        problems.append("target.hours is [from, to) with 0 <= from < to <= 24")
    for name in ("member_ids", "tiers", "segments", "train_prefixes", "weekdays"):
        value = getattr(target, name)
        if value is not None and not value:
            problems.append(f"target.{name} is empty: leave it out to not restrict")
    if problems:
        raise InvalidCampaign(
            f"The campaign {rules.id!r} is not valid: {'; '.join(problems)}.", problems=problems
        )


def targets(rules: CampaignRules, trip: Trip) -> bool:
    """Whether `trip` is one the campaign rewards (its window, members, trains and hours)."""
    target = rules.target
    return (
        trip.base_points > 0
        and rules.starts_at <= trip.departure < rules.ends_at
        and (target.member_ids is None or trip.member_id in target.member_ids)
        and (target.tiers is None or trip.tier in target.tiers)
        and (target.segments is None or not target.segments.isdisjoint(trip.segments))
        and (
            target.train_prefixes is None
            or trip.train_number.upper().startswith(tuple(p.upper() for p in target.train_prefixes))
        )
        and (target.weekdays is None or trip.departure.isoweekday() in target.weekdays)
        and (target.hours is None or target.hours[0] <= trip.departure.hour < target.hours[1])
    )


def arm(campaign_id: str, member_id: int, control_percent: int) -> str:
    """`control` for a stable `control_percent`% of members, chosen by a hash; else `treated`.

    The same member is always in the same arm of a campaign, on every server and every rerun;
    another campaign draws its control group afresh.
    """
    digest = hashlib.sha256(f"jifen-campaign:{campaign_id}:{member_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % 10_000
    return CONTROL if bucket < control_percent * 100 else TREATED


def bonus(effect: Effect, base_points: int) -> int:
    """The bonus a treated trip earns: `percent` of the base, half-up, or the fixed points."""
    if effect.points is not None:
        return effect.points
    assert effect.percent is not None  # noqa: S101 - checked when the campaign was made
    return (base_points * effect.percent * 2 + 100) // 200


def grant(wanted: int, *, budget: int, spent: int) -> int:
    """What the budget still allows of `wanted`: all of it, the rest of the budget, or 0."""
    return max(0, min(wanted, budget - spent))


def cost_fen(points: int, points_per_yuan: int) -> int:
    """The redemption value of `points` in fen, half-up (railway: 100 points = ¥1 = 100 fen)."""
    return (points * 100 * 2 + points_per_yuan) // (2 * points_per_yuan)


# -- the report's statistics ------------------------------------------------------------------


@dataclass(slots=True)
class Sample:
    """A running count, sum and sum of squares of one measure over one arm's members."""

    n: int = 0
    total: int = 0
    squares: int = 0

    def add(self, value: int) -> None:
        """Count one member's value (0 for a member with no trips)."""
        self.n += 1
        self.total += value
        self.squares += value * value

    @property
    def mean(self) -> float:
        """The mean per member (0 for no members)."""
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """The sample variance (n − 1), 0 below two members."""
        if self.n < 2:
            return 0.0
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


@dataclass(frozen=True, slots=True)
class Uplift:
    """Treated mean − control mean, with a 95% confidence interval (None when not estimable)."""

    treated_mean: float
    control_mean: float
    difference: float
    ci95: tuple[float, float] | None
    relative: float | None


def uplift(treated: Sample, control: Sample) -> Uplift:
    """Welch's difference of means with a normal-approximation 95% interval.

    The standard error is √(s²ₜ/nₜ + s²꜀/n꜀); the interval is the difference ± 1.96 of it. It
    needs two members in each arm; `relative` is the difference over the control mean.
    """
    difference = treated.mean - control.mean
    interval = None
    if treated.n >= 2 and control.n >= 2:
        se = math.sqrt(treated.variance / treated.n + control.variance / control.n)
        interval = (round(difference - Z_95 * se, 4), round(difference + Z_95 * se, 4))
    relative = round(difference / control.mean, 4) if control.mean else None
    return Uplift(
        round(treated.mean, 4), round(control.mean, 4), round(difference, 4), interval, relative
    )


def split(
    rules: CampaignRules, population: Iterable[int], per_member: dict[int, tuple[int, int]]
) -> dict[str, tuple[Sample, Sample]]:
    """Each arm's (trips, spend) samples: every member of the population, 0 when it had none."""
    arms = {TREATED: (Sample(), Sample()), CONTROL: (Sample(), Sample())}
    for member_id in population:
        trips, spend = per_member.get(member_id, (0, 0))
        samples = arms[arm(rules.id, member_id, rules.control_percent)]
        samples[0].add(trips)
        samples[1].add(spend)
    return arms
