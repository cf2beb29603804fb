"""The earning-rule engine: the points an event earns a member under a program's rules, and why.

Pure and clock-free: the event's local time, the member's facts and what the member already
earned today and this month come in as arguments. Rules are `EarningRule` records
(`jifen.domain.earning_rules`), which a program parses its file into.

Pricing runs in two stages. Rules that earn on their own (rate per yuan, fixed bonus, points the
event reports) go first; multiplier rules then top up the points the first stage gave in their
kind. In each stage an exclusive group keeps only its best rule, and caps clip each rule. A rule
with a budget gives at most what is left of it (`budgets_left`), and nothing once it is spent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from jifen.domain.earning_rules import EarningRule, RuleConditions
from jifen.domain.identity import age_on


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What an event says, as the rules see it; a fact the event lacks is None.

    `occurred_at` is wall-clock time in the program's zone (travel time for a ride), `fare_fen`
    the fare or cash amount paid in fen, `points` the points an `activity.completed` reports.
    """

    type: str
    occurred_at: datetime
    fare_fen: int | None = None
    ticket_type: str | None = None
    train_participating: bool | None = None
    train_international: bool | None = None
    train_tourist: bool | None = None
    issue: str | None = None
    payment: str | None = None
    real_name: bool | None = None
    activity: str | None = None
    points: int | None = None


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What the rules need to know about a member on the event's date.

    `earned_today` and `earned_this_month` are points already credited by each rule (by rule
    code, as `Pricing.by_rule` reports them) on the event's local day and calendar month; caps
    per day and per month are measured against them. `birth_date` is None once the member's
    identity is erased: rules on age or the birthday month then do not apply.
    """

    member_id: int
    birth_date: date | None
    id_type: str
    tier: str | None = None
    segments: frozenset[str] = frozenset()
    earned_today: Mapping[str, int] = field(default_factory=dict)
    earned_this_month: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PricingLine:
    """One credit and the reason for it; `mirrored` lines copy another line into an extra kind."""

    rule_code: str
    kind: str
    points: int
    explanation: str
    mirrored: bool = False


@dataclass(frozen=True, slots=True)
class Pricing:
    """Points per kind an event earns (kinds with none left out) and the lines that explain them."""

    points: dict[str, int]
    lines: tuple[PricingLine, ...]

    def by_rule(self) -> dict[str, int]:
        """Points each applied rule gave in its own kind, for budgets and per-day/month caps."""
        totals: dict[str, int] = defaultdict(int)
        for line in self.lines:
            if not line.mirrored:
                totals[line.rule_code] += line.points
        return dict(totals)


@dataclass(frozen=True, slots=True)
class _Award:
    rule: EarningRule
    order: int
    points: int
    explanation: str


def price_event(
    *,
    rules: Sequence[EarningRule],
    event: EventFacts,
    member: MemberFacts,
    budgets_left: Mapping[str, int] | None = None,
) -> Pricing:
    """The points `event` earns `member` under `rules`, with one explained line per credit.

    `budgets_left` holds, by rule code, what is left of the budget of rules that have one.
    """
    left = budgets_left or {}
    candidates = [
        (order, rule)
        for order, rule in enumerate(rules)
        if rule.on == event.type
        and left.get(rule.code, 1) > 0
        and conditions_hold(rule.conditions, event=event, member=member)
    ]
    earners = [
        _capped(rule, order, _earn(rule, event), member, left)
        for order, rule in candidates
        if rule.effect.multiplier_percent is None
    ]
    earned = _best_of_groups(earners)
    base: dict[str, int] = defaultdict(int)
    for award in earned:
        base[award.rule.effect.kind] += award.points
    multipliers = [
        _capped(rule, order, _multiply(rule, base[rule.effect.kind]), member, left)
        for order, rule in candidates
        if rule.effect.multiplier_percent is not None
    ]
    lines = tuple(
        line for award in [*earned, *_best_of_groups(multipliers)] for line in _lines(award)
    )
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[line.kind] += line.points
    return Pricing(points={kind: n for kind, n in totals.items() if n > 0}, lines=lines)


def ride_points(fare_fen: int, rate_per_yuan: int) -> int:
    """Fare in yuan × rate, half-up to a whole point, in integers: ¥553.50 at 5× is 2,768."""
    return (max(fare_fen, 0) * rate_per_yuan + 50) // 100


def _earn(rule: EarningRule, event: EventFacts) -> tuple[int, str]:
    """Points a rule that earns on its own gives before caps, and how they were counted."""
    effect = rule.effect
    if effect.rate_per_yuan is not None:
        points = ride_points(event.fare_fen or 0, effect.rate_per_yuan)
        fare = _yuan(event.fare_fen or 0)
        return points, f"{fare} × {effect.rate_per_yuan} = {_amount(points, effect.kind)}"
    if effect.fixed_points is not None:
        return effect.fixed_points, _amount(effect.fixed_points, effect.kind)
    if effect.event_points is not None:
        reported = event.points or 0
        limits = effect.event_points
        if reported < limits.min_points:
            return 0, f"{reported:,} points reported, below the minimum of {limits.min_points:,}"
        points = min(reported, limits.max_points)
        cut = f" (at most {limits.max_points:,})" if points < reported else ""
        return points, f"{_amount(reported, effect.kind)} reported{cut}"
    return 0, "no amount"


def _multiply(rule: EarningRule, base: int) -> tuple[int, str]:
    """The top-up that brings `base` points to `multiplier_percent` of them, half-up."""
    percent = rule.effect.multiplier_percent or 100
    points = (max(base, 0) * (percent - 100) + 50) // 100
    return points, f"{percent}% of {_amount(base, rule.effect.kind)}: +{points:,}"


def _capped(
    rule: EarningRule,
    order: int,
    earned: tuple[int, str],
    member: MemberFacts,
    budgets_left: Mapping[str, int],
) -> _Award:
    """The award after the rule's caps per event, per day and per month, and its budget."""
    points, explanation = earned
    caps = rule.caps
    limits = [
        (caps.per_event, 0, "per event"),
        (caps.per_day, member.earned_today.get(rule.code, 0), "per day"),
        (caps.per_month, member.earned_this_month.get(rule.code, 0), "per month"),
    ]
    for cap, used, period in limits:
        if cap is None:
            continue
        room = max(cap - max(used, 0), 0)
        if points > room:
            already = f", {used:,} already earned" if used else ""
            explanation += f"; capped at {cap:,} {period}{already}: {room:,}"
            points = room
    left = budgets_left.get(rule.code)
    if left is not None and points > left:
        explanation += f"; cut to the {left:,} left of its budget"
        points = left
    return _Award(rule, order, points, f"{rule.name_en}: {explanation}")


def _best_of_groups(awards: list[_Award]) -> list[_Award]:
    """Every award outside exclusive groups, and in each group the one giving the most points.

    Ties go to the higher priority, then to the rule declared first.
    """
    best: dict[str, _Award] = {}
    kept = []
    for award in awards:
        group = award.rule.exclusive_group
        if group is None:
            kept.append(award)
        elif group not in best or _rank(award) > _rank(best[group]):
            best[group] = award
    for group, award in best.items():
        note = f"{award.explanation} (best of exclusive group {group})"
        kept.append(_Award(award.rule, award.order, award.points, note))
    return sorted(kept, key=lambda award: award.order)


def _rank(award: _Award) -> tuple[int, int, int]:
    return (award.points, award.rule.priority, -award.order)


def _lines(award: _Award) -> list[PricingLine]:
    effect = award.rule.effect
    code = award.rule.code
    own = PricingLine(code, effect.kind, award.points, award.explanation)
    copies = [
        PricingLine(
            code, kind, award.points, f"same as the {effect.kind} points of {code}", mirrored=True
        )
        for kind in effect.also_credit
    ]
    return [own, *copies]


def conditions_hold(conditions: RuleConditions, *, event: EventFacts, member: MemberFacts) -> bool:
    """Whether every condition of a rule holds for this event and member."""
    return (
        _event_holds(conditions, event)
        and _member_holds(conditions, member, event.occurred_at.date())
        and _calendar_holds(conditions, event.occurred_at, member.birth_date)
    )


def _event_holds(c: RuleConditions, event: EventFacts) -> bool:
    return (
        _flag(c.train_participating, event.train_participating)
        and _flag(c.train_tourist, event.train_tourist)
        and _flag(c.train_international, event.train_international)
        and _flag(c.real_name, event.real_name)
        and _within(c.ticket_type_in, event.ticket_type)
        and _outside(c.ticket_type_not_in, event.ticket_type)
        and _within(c.issue_in, event.issue)
        and _within(c.payment_in, event.payment)
        and _within(c.activity_in, event.activity)
    )


def _member_holds(c: RuleConditions, member: MemberFacts, day: date) -> bool:
    age = None if member.birth_date is None else age_on(member.birth_date, day)
    return (
        (c.age_min is None or (age is not None and age >= c.age_min))
        and (c.age_max is None or (age is not None and age <= c.age_max))
        and _within(c.id_type_in, member.id_type)
        and _outside(c.id_type_not_in, member.id_type)
        and _within(c.tier_in, member.tier)
        and (c.segment_in is None or not member.segments.isdisjoint(c.segment_in))
    )


def _calendar_holds(c: RuleConditions, moment: datetime, birth_date: date | None) -> bool:
    day = moment.date()
    return (
        (c.from_date is None or day >= c.from_date)
        and (c.to_date is None or day <= c.to_date)
        and (c.weekdays is None or day.isoweekday() in c.weekdays)
        and (c.hours is None or _in_hours(moment.hour, c.hours))
        and (c.birthday_month is None or _in_birth_month(day, birth_date) == c.birthday_month)
    )


def _in_birth_month(day: date, birth_date: date | None) -> bool:
    return birth_date is not None and day.month == birth_date.month


def _in_hours(hour: int, hours: tuple[int, int]) -> bool:
    """Whether `hour` is in `[start, end)`; `(22, 6)` runs past midnight."""
    start, end = hours
    return start <= hour < end if start < end else hour >= start or hour < end


def _flag(required: bool | None, actual: bool | None) -> bool:
    return required is None or actual is required


def _within(allowed: tuple[str, ...] | None, value: str | None) -> bool:
    return allowed is None or (value is not None and value in allowed)


def _outside(excluded: tuple[str, ...], value: str | None) -> bool:
    return not excluded or (value is not None and value not in excluded)


def _amount(points: int, kind: str) -> str:
    return f"{points:,} points" if kind == "points" else f"{points:,} {kind} points"


def _yuan(fen: int) -> str:
    fen = max(fen, 0)
    return f"¥{fen // 100:,}.{fen % 100:02d}"
