"""Earning rules as a program file writes them, checked and parsed into the domain's records.

The models here are the file's schema (spelling, limits, cross-field checks); `EarningRule.record`
gives the `jifen.domain.earning_rules` record the rule engine reads.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from jifen.domain import earning_rules as records
from jifen.domain.identity import IdType

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
EventType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Points = Annotated[int, Field(ge=1)]
TicketType = Literal["adult", "child", "student"]
Issue = Literal["normal", "substitute", "on_board"]
Payment = Literal["cash", "points"]
ACTIVITY_EVENT = "activity.completed"


def raise_problems(problems: list[tuple[str, str]]) -> None:
    """Refuse a model with `(field path relative to it, what is wrong)` pairs, if there are any."""
    if problems:
        summary = "; ".join(f"{path}: {problem}" for path, problem in problems)
        raise PydanticCustomError(
            "program_inconsistent", "{summary}", {"summary": summary, "problems": tuple(problems)}
        )


class Frozen(BaseModel):
    """An immutable piece of program configuration that refuses unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizedName(Frozen):
    """A name in Chinese and English; a plain string in the file is used for both."""

    zh: Text
    en: Text

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"zh": value, "en": value} if isinstance(value, str) else value


class RuleConditions(Frozen):
    """When a rule applies; every condition given must hold, and a fact the event lacks fails it.

    Event: train flags, ticket type, issue, payment, real name, activity. Member: age on the
    event's local date, ID type, tier, segment. Calendar (program time zone): dates inclusive,
    ISO weekdays 1–7, local hours `[start, end)` (end may wrap past midnight), birthday month.
    """

    train_participating: bool | None = None
    train_tourist: bool | None = None
    train_international: bool | None = None
    real_name: bool | None = None
    ticket_type_in: Annotated[tuple[TicketType, ...], Field(min_length=1)] | None = None
    ticket_type_not_in: tuple[TicketType, ...] = ()
    issue_in: Annotated[tuple[Issue, ...], Field(min_length=1)] | None = None
    payment_in: Annotated[tuple[Payment, ...], Field(min_length=1)] | None = None
    activity_in: Annotated[tuple[Code, ...], Field(min_length=1)] | None = None
    age_min: Annotated[int, Field(ge=0, le=150)] | None = None
    age_max: Annotated[int, Field(ge=0, le=150)] | None = None
    id_type_in: Annotated[tuple[IdType, ...], Field(min_length=1)] | None = None
    id_type_not_in: tuple[IdType, ...] = ()
    tier_in: Annotated[tuple[Code, ...], Field(min_length=1)] | None = None
    segment_in: Annotated[tuple[Code, ...], Field(min_length=1)] | None = None
    from_date: date | None = None
    to_date: date | None = None
    weekdays: (
        Annotated[tuple[Annotated[int, Field(ge=1, le=7)], ...], Field(min_length=1)] | None
    ) = None
    hours: tuple[Annotated[int, Field(ge=0, le=23)], Annotated[int, Field(ge=1, le=24)]] | None = (
        None
    )
    birthday_month: bool | None = None

    @model_validator(mode="after")
    def _consistent_ranges(self) -> Self:
        problems = []
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            problems.append(("age_max", f"{self.age_max} is below age_min {self.age_min}"))
        if self.from_date and self.to_date and self.from_date > self.to_date:
            problems.append(("to_date", f"{self.to_date} is before from_date {self.from_date}"))
        if self.hours is not None and self.hours[0] == self.hours[1]:
            problems.append(("hours", "start and end are the same hour; omit hours for all day"))
        raise_problems(problems)
        return self


class PointsRange(Frozen):
    """The points an event may report for itself (sign-in 1–5): fewer earn nothing, more are cut."""

    min_points: Annotated[int, Field(ge=1)] = 1
    max_points: Points

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_points > self.max_points:
            raise_problems([("max_points", f"{self.max_points} is below min_points")])
        return self


class RuleEffect(Frozen):
    """What a rule credits: exactly one way of counting, into `kind` and each `also_credit` kind.

    `rate_per_yuan` multiplies the fare in yuan (5 for 5×); `fixed_points` is a flat bonus;
    `multiplier_percent` tops up the points other rules earned in `kind` on the same event to that
    percentage (200 doubles them); `event_points` takes the points the event itself reports.
    """

    kind: Code
    rate_per_yuan: Annotated[int, Field(ge=1, le=1000)] | None = None
    fixed_points: Points | None = None
    multiplier_percent: Annotated[int, Field(gt=100, le=10_000)] | None = None
    event_points: PointsRange | None = None
    also_credit: tuple[Code, ...] = ()

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [
            self.rate_per_yuan is not None,
            self.fixed_points is not None,
            self.multiplier_percent is not None,
            self.event_points is not None,
        ]
        problems = []
        if sum(given) != 1:
            ways = "rate_per_yuan, fixed_points, multiplier_percent, event_points"
            problems.append(("", f"give exactly one of {ways}"))
        if self.kind in self.also_credit:
            problems.append(("also_credit", f"{self.kind!r} is already the rule's own kind"))
        raise_problems(problems)
        return self

    @property
    def is_multiplier(self) -> bool:
        """Whether the effect tops up other rules' points rather than earning on its own."""
        return self.multiplier_percent is not None


class RuleCaps(Frozen):
    """Most points a rule gives per event, and per member per local day and calendar month."""

    per_event: Points | None = None
    per_day: Points | None = None
    per_month: Points | None = None


class EarningRule(Frozen):
    """A declarative earning rule: on which event, under which conditions, with what effect."""

    code: Code
    name: LocalizedName
    on: EventType
    priority: int = 0
    exclusive_group: Code | None = None
    conditions: RuleConditions = RuleConditions()
    effect: RuleEffect
    caps: RuleCaps = RuleCaps()
    budget_points: Points | None = None

    def record(self) -> records.EarningRule:
        """The rule as the domain's record."""
        effect, reported = self.effect, self.effect.event_points
        return records.EarningRule(
            code=self.code,
            name_zh=self.name.zh,
            name_en=self.name.en,
            on=self.on,
            priority=self.priority,
            exclusive_group=self.exclusive_group,
            conditions=records.RuleConditions(**self.conditions.model_dump()),
            effect=records.RuleEffect(
                kind=effect.kind,
                rate_per_yuan=effect.rate_per_yuan,
                fixed_points=effect.fixed_points,
                multiplier_percent=effect.multiplier_percent,
                event_points=None
                if reported is None
                else records.PointsRange(reported.min_points, reported.max_points),
                also_credit=effect.also_credit,
            ),
            caps=records.RuleCaps(**self.caps.model_dump()),
            budget_points=self.budget_points,
        )


class ActivityDefinition(Frozen):
    """A non-purchase activity (review, share, sign-in) and the points it earns.

    `points` is a fixed award; without it the event reports its own points, within
    `min_points`–`max_points`. `daily_cap` limits a member's points from it per local day.
    """

    name: LocalizedName
    kind: Code
    points: Points | None = None
    min_points: Points = 1
    max_points: Points | None = None
    daily_cap: Points | None = None

    @model_validator(mode="after")
    def _one_amount(self) -> Self:
        if (self.points is None) == (self.max_points is None):
            raise_problems([("points", "give either points or max_points (event-reported points)")])
        return self

    def as_rule(self, code: str) -> EarningRule:
        """The earning rule that credits this activity (`activity_{code}`)."""
        if self.max_points is None:
            effect = RuleEffect(kind=self.kind, fixed_points=self.points)
        else:
            points_range = PointsRange(min_points=self.min_points, max_points=self.max_points)
            effect = RuleEffect(kind=self.kind, event_points=points_range)
        return EarningRule(
            code=f"activity_{code}",
            name=self.name,
            on=ACTIVITY_EVENT,
            conditions=RuleConditions(activity_in=(code,)),
            effect=effect,
            caps=RuleCaps(per_day=self.daily_cap),
        )
