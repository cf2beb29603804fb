"""Earning rules as records: on which event, under which conditions, with what effect and caps.

The rule engine (`jifen.domain.rules`) reads these; a program file is parsed and checked into
them by `jifen.programs` (which knows the file's spelling and limits, none of which is repeated
here). Codes, kinds and event types are plain strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class RuleConditions:
    """When a rule applies; every condition given (not None) must hold.

    A fact the event lacks fails the condition. Event: train flags, ticket type, issue, payment,
    real name, activity. Member: age on the event's local date, ID type, tier, segment. Calendar
    (program time zone): dates inclusive, ISO weekdays 1–7, local hours `[start, end)` (end may
    wrap past midnight), whether it is the member's birthday month.
    """

    train_participating: bool | None = None
    train_tourist: bool | None = None
    train_international: bool | None = None
    real_name: bool | None = None
    ticket_type_in: tuple[str, ...] | None = None
    ticket_type_not_in: tuple[str, ...] = ()
    issue_in: tuple[str, ...] | None = None
    payment_in: tuple[str, ...] | None = None
    activity_in: tuple[str, ...] | None = None
    age_min: int | None = None
    age_max: int | None = None
    id_type_in: tuple[str, ...] | None = None
    id_type_not_in: tuple[str, ...] = ()
    tier_in: tuple[str, ...] | None = None
    segment_in: tuple[str, ...] | None = None
    from_date: date | None = None
    to_date: date | None = None
    weekdays: tuple[int, ...] | None = None
    hours: tuple[int, int] | None = None
    birthday_month: bool | None = None


@dataclass(frozen=True, slots=True)
class PointsRange:
    """Points an event may report for itself: fewer than `min_points` earn nothing, more are cut."""

    min_points: int
    max_points: int


@dataclass(frozen=True, slots=True)
class RuleEffect:
    """What a rule credits, into `kind` and each `also_credit` kind, counted one way of four.

    `rate_per_yuan` multiplies the fare in yuan; `fixed_points` is a flat bonus;
    `multiplier_percent` tops up the points other rules earned in `kind` on the same event to
    that percentage; `event_points` takes the points the event reports. Exactly one is set.
    """

    kind: str
    rate_per_yuan: int | None = None
    fixed_points: int | None = None
    multiplier_percent: int | None = None
    event_points: PointsRange | None = None
    also_credit: tuple[str, ...] = ()

    @property
    def is_multiplier(self) -> bool:
        """Whether the effect tops up other rules' points rather than earning on its own."""
        return self.multiplier_percent is not None


@dataclass(frozen=True, slots=True)
class RuleCaps:
    """Most points a rule gives per event, and per member per local day and calendar month."""

    per_event: int | None = None
    per_day: int | None = None
    per_month: int | None = None


@dataclass(frozen=True, slots=True)
class EarningRule:
    """One earning rule; `budget_points` bounds what it gives all members together, if set.

    Among rules of one `exclusive_group` only the best applies (ties: higher `priority`, then
    the rule declared first). Explanations name the rule by `name_en`.
    """

    code: str
    name_zh: str
    name_en: str
    on: str
    effect: RuleEffect
    conditions: RuleConditions = RuleConditions()
    caps: RuleCaps = RuleCaps()
    priority: int = 0
    exclusive_group: str | None = None
    budget_points: int | None = None
