"""A program file's schema: point kinds, tiers, redemption and the checks that tie them together.

The earning-rule models live in `jifen.programs.earning` and are re-exported here, so a program and
all its parts can be imported from this one module.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from jifen.domain import earning_rules as records
from jifen.domain.calendar import lot_expiry
from jifen.domain.entitlements import EntitlementGrant
from jifen.domain.identity import IdType
from jifen.programs.earning import (
    ACTIVITY_EVENT,
    ActivityDefinition,
    Code,
    EarningRule,
    EventType,
    Frozen,
    LocalizedName,
    Points,
    PointsRange,
    RuleCaps,
    RuleConditions,
    RuleEffect,
    Text,
    raise_problems,
)
from jifen.programs.entitlements import EntitlementDefinition, entitlement_problems

__all__ = [
    "ACTIVITY_EVENT",
    "ActivityDefinition",
    "BeneficiaryPolicy",
    "Charity",
    "ClaimPolicy",
    "EarningRule",
    "Enrolment",
    "EntitlementDefinition",
    "EventType",
    "ExpiryPolicy",
    "LocalizedName",
    "PointKind",
    "PointsRange",
    "Program",
    "Redemption",
    "Risk",
    "RuleCaps",
    "RuleConditions",
    "RuleEffect",
    "TierBenefits",
    "TierLevel",
    "TierMetric",
    "TierPolicy",
]

TierMetric = Literal["rolling_12m_upgrade_points", "calendar_year_points"]


class ExpiryPolicy(Frozen):
    """When a lot expires: `{months_after_credit: N}`, `{end_of_year_after: N}` or `never`."""

    months_after_credit: Annotated[int, Field(ge=1, le=120)] | None = None
    end_of_year_after: Annotated[int, Field(ge=0, le=10)] | None = None
    never: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_never(cls, value: Any) -> Any:
        return {"never": True} if value == "never" else value

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        chosen = [self.months_after_credit is not None, self.end_of_year_after is not None]
        if sum(chosen) + int(self.never) != 1:
            raise_problems(
                [("", "give exactly one of months_after_credit, end_of_year_after, never")]
            )
        return self

    def expires_on(self, credited_on: date) -> date | None:
        """The first day a lot credited on `credited_on` can no longer be spent; None if never."""
        return lot_expiry(
            credited_on,
            months_after_credit=self.months_after_credit,
            end_of_year_after=self.end_of_year_after,
        )


class PointKind(Frozen):
    """A kind of points the program keeps apart (`ride`, `activity`, `upgrade`)."""

    code: Code
    name: LocalizedName
    spendable: bool
    counts_toward_tiers: bool
    expiry: ExpiryPolicy


class Enrolment(Frozen):
    """Who may join: a minimum age on the day of joining and the accepted ID types."""

    minimum_age: Annotated[int, Field(ge=0, le=150)]
    id_types: Annotated[tuple[IdType, ...], Field(min_length=1)]


class TierBenefits(Frozen):
    """What a tier gives; known benefits are typed, anything else goes under `other`."""

    earn_multiplier_percent: Annotated[int, Field(ge=100)] | None = None
    lounge_passes_per_year: Annotated[int, Field(ge=0)] | None = None
    priority_booking_hours: Annotated[int, Field(ge=0)] | None = None
    seat_choice: bool = False
    birthday_gift: bool = False
    free_shipping: bool = False
    other: dict[Code, int | bool | str] = Field(default_factory=dict)


class TierLevel(Frozen):
    """One tier with the qualifying points that earn it."""

    code: Code
    name_zh: Text
    name_en: Text
    threshold: Annotated[int, Field(ge=0)]
    benefits: TierBenefits = TierBenefits()


class TierPolicy(Frozen):
    """Ordered tiers (lowest first), how members qualify, and how long a tier lasts."""

    metric: TierMetric
    levels: Annotated[tuple[TierLevel, ...], Field(min_length=1)]
    join_tier: Code
    validity_months: Annotated[int, Field(ge=1, le=120)]
    grace_days: Annotated[int, Field(ge=0, le=366)] = 0
    soft_landing: bool = False

    @model_validator(mode="after")
    def _ordered_levels(self) -> Self:
        problems = _duplicates([level.code for level in self.levels], "levels", "code")
        for index, (lower, higher) in enumerate(zip(self.levels, self.levels[1:], strict=False)):
            if higher.threshold <= lower.threshold:
                problem = (
                    f"{higher.threshold} must be above {lower.code}'s {lower.threshold}"
                    " (thresholds increase strictly, lowest tier first)"
                )
                problems.append((f"levels[{index + 1}].threshold", problem))
        if self.join_tier not in {level.code for level in self.levels}:
            problems.append(("join_tier", f"{self.join_tier!r} is not one of the levels"))
        raise_problems(problems)
        return self


class Redemption(Frozen):
    """How points are spent: unlock threshold, value, which kinds pay for what, ticket rules."""

    eligibility_threshold: Annotated[int, Field(ge=0)] = 0
    points_per_yuan: Points
    change_fee_points: Annotated[int, Field(ge=0)] = 0
    whole_ticket_only: bool = False
    cash_offset_max_percent: Annotated[int, Field(ge=1, le=100)] | None = None
    ticket_kinds: tuple[Code, ...] = ()
    """Point kinds that pay for tickets and seat upgrades, spent in this order."""
    mall_kinds: tuple[Code, ...] = ()
    """Point kinds that pay in the points mall, for coupons and donations, in this order."""
    cancellation_valid_months: Annotated[int, Field(ge=1, le=120)] = 12
    """How long the new lot lasts when a cancelled ticket's points come back."""
    cancel_window_days: Annotated[int, Field(ge=0, le=3650)] = 30
    """How many days after its departure date the railway may still cancel a redeemed ticket."""


class Charity(Frozen):
    """A charity members can donate points to."""

    code: Code
    name: LocalizedName


class Risk(Frozen):
    """Limits that protect the program: second approval for large corrections, velocity."""

    adjustment_approval_threshold: Annotated[int, Field(ge=0)] = 10_000
    """Adjustments of more points than this (either way) need a second operator's approval."""
    redemptions_per_day: Annotated[int, Field(ge=1)] | None = None
    """Ticket redemptions a member may start in one day (None: no limit)."""


class BeneficiaryPolicy(Frozen):
    """How many beneficiaries (受让人) a member may name and how long until each is effective."""

    max_count: Annotated[int, Field(ge=0, le=100)] = 0
    wait_days: Annotated[int, Field(ge=0, le=366)] = 0


class ClaimPolicy(Frozen):
    """Missing-points claims (补登): how many days after departure they are accepted."""

    window_days: Annotated[int, Field(ge=0, le=3650)] = 90


class Program(Frozen):
    """A whole loyalty program as data: what a preset or an operator's program file holds."""

    code: Code
    name: LocalizedName
    version: Annotated[int, Field(ge=1)] = 1
    timezone: str
    currency_unit: Literal["fen"] = "fen"
    point_kinds: Annotated[tuple[PointKind, ...], Field(min_length=1)]
    enrolment: Enrolment
    tiers: TierPolicy
    earning_rules: tuple[EarningRule, ...] = ()
    redemption: Redemption
    beneficiaries: BeneficiaryPolicy = BeneficiaryPolicy()
    claims: ClaimPolicy = ClaimPolicy()
    activities: dict[Code, ActivityDefinition] = Field(default_factory=dict)
    charities: tuple[Charity, ...] = ()
    risk: Risk = Risk()
    entitlements: tuple[EntitlementDefinition, ...] = ()
    """Countable tier benefits (lounge visits, a birthday coupon) issued by the daily job."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            msg = f"{value!r} is not an IANA time zone such as 'Asia/Shanghai'"
            raise ValueError(msg) from error
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        raise_problems(
            [
                *_duplicates([kind.code for kind in self.point_kinds], "point_kinds", "code"),
                *_kinds_used(self),
                *_rule_codes(self),
                *_rule_references(self),
                *_exclusive_groups(self.earning_rules),
                *_tier_multipliers(self),
                *entitlement_problems(
                    self.entitlements,
                    {level.code for level in self.tiers.levels},
                    self.tiers.join_tier,
                ),
            ]
        )
        return self

    @property
    def kind_codes(self) -> frozenset[str]:
        """The codes of the program's point kinds."""
        return frozenset(kind.code for kind in self.point_kinds)

    def kind(self, code: str) -> PointKind:
        """The point kind with `code`; KeyError if the program has none."""
        for kind in self.point_kinds:
            if kind.code == code:
                return kind
        raise KeyError(code)

    def entitlement_grants(self) -> tuple[EntitlementGrant, ...]:
        """The countable benefits as the domain's records."""
        return tuple(definition.record() for definition in self.entitlements)

    def all_earning_rules(self) -> tuple[records.EarningRule, ...]:
        """The earning rules as the domain's records, then one `activity_{code}` rule per activity.

        Made once per program and kept (the engine asks for them for every event).
        """
        kept = _RECORDS.get(id(self.earning_rules))
        # Identity, not equality: cheap, and a copy with other rules or activities is told apart
        # (the kept tuple holds its sources, so their ids cannot be reused meanwhile).
        if kept is not None and kept[0] is self.earning_rules and kept[1] is self.activities:
            return kept[2]
        derived = (activity.as_rule(code) for code, activity in self.activities.items())
        made = tuple(rule.record() for rule in (*self.earning_rules, *derived))
        if len(_RECORDS) >= 64:  # bounded: programs replaced long ago drop out
            _RECORDS.clear()
        _RECORDS[id(self.earning_rules)] = (self.earning_rules, self.activities, made)
        return made


_RECORDS: dict[int, tuple[tuple[EarningRule, ...], object, tuple[records.EarningRule, ...]]] = {}
"""Each program's rule records, by the id of its `earning_rules` (see `all_earning_rules`)."""


def _duplicates(codes: list[str], where: str, field: str) -> list[tuple[str, str]]:
    seen: set[str] = set()
    problems = []
    for index, code in enumerate(codes):
        if code in seen:
            problems.append((f"{where}[{index}].{field}", f"{code!r} is used twice"))
        seen.add(code)
    return problems


def _kinds_used(program: Program) -> list[tuple[str, str]]:
    kinds = program.kind_codes
    known = ", ".join(sorted(kinds))
    problems = []
    for index, rule in enumerate(program.earning_rules):
        path = f"earning_rules[{index}].effect"
        if rule.effect.kind not in kinds:
            problems.append((f"{path}.kind", f"unknown point kind {rule.effect.kind!r} ({known})"))
        problems.extend(
            (f"{path}.also_credit", f"unknown point kind {extra!r} ({known})")
            for extra in rule.effect.also_credit
            if extra not in kinds
        )
    problems.extend(
        (f"activities.{code}.kind", f"unknown point kind {activity.kind!r} ({known})")
        for code, activity in program.activities.items()
        if activity.kind not in kinds
    )
    spendable = {kind.code for kind in program.point_kinds if kind.spendable}
    for field in ("ticket_kinds", "mall_kinds"):
        problems.extend(
            (f"redemption.{field}", f"{kind!r} is not a spendable point kind ({known})")
            for kind in getattr(program.redemption, field)
            if kind not in spendable
        )
    if not any(kind.counts_toward_tiers for kind in program.point_kinds):
        problems.append(("point_kinds", "no kind counts_toward_tiers, so no tier can be reached"))
    return problems


def _rule_codes(program: Program) -> list[tuple[str, str]]:
    problems = _duplicates([rule.code for rule in program.earning_rules], "earning_rules", "code")
    own = {rule.code for rule in program.earning_rules}
    problems.extend(
        (f"activities.{code}", f"its rule code 'activity_{code}' is also an earning rule's code")
        for code in program.activities
        if f"activity_{code}" in own
    )
    return problems


def _rule_references(program: Program) -> list[tuple[str, str]]:
    tiers = {level.code for level in program.tiers.levels}
    earners = {(rule.on, rule.effect.kind) for rule in program.all_earning_rules()}
    earners = {pair for pair in earners if not _multiplies(program, pair)}
    problems = []
    for index, rule in enumerate(program.earning_rules):
        path = f"earning_rules[{index}]"
        unknown = sorted(set(rule.conditions.tier_in or ()) - tiers)
        if unknown:
            problems.append((f"{path}.conditions.tier_in", f"unknown tiers {unknown}"))
        if rule.effect.is_multiplier and (rule.on, rule.effect.kind) not in earners:
            problems.append(
                (
                    f"{path}.effect.multiplier_percent",
                    f"no other rule earns {rule.effect.kind!r} points on {rule.on!r} to multiply",
                )
            )
    return problems


def _multiplies(program: Program, pair: tuple[str, str]) -> bool:
    """Whether every rule earning `pair` (event type, kind) is a multiplier."""
    rules = [r for r in program.all_earning_rules() if (r.on, r.effect.kind) == pair]
    return all(rule.effect.is_multiplier for rule in rules)


def _exclusive_groups(rules: tuple[EarningRule, ...]) -> list[tuple[str, str]]:
    first: dict[str, EarningRule] = {}
    problems = []
    for index, rule in enumerate(rules):
        group = rule.exclusive_group
        if group is None:
            continue
        leader = first.setdefault(group, rule)
        shape = (rule.on, rule.effect.kind, rule.effect.is_multiplier)
        if shape != (leader.on, leader.effect.kind, leader.effect.is_multiplier):
            problem = (
                f"alternatives in {group!r} must share the event, the point kind and the kind"
                f" of effect of {leader.code!r} ({leader.on}, {leader.effect.kind})"
            )
            problems.append((f"earning_rules[{index}].exclusive_group", problem))
    return problems


def _tier_multipliers(program: Program) -> list[tuple[str, str]]:
    """A tier's advertised earn multiplier must be what some rule for that tier applies."""
    problems = []
    for index, level in enumerate(program.tiers.levels):
        percent = level.benefits.earn_multiplier_percent
        if percent is None or percent == 100:
            continue
        applied = any(
            rule.effect.multiplier_percent == percent
            and level.code in (rule.conditions.tier_in or ())
            for rule in program.earning_rules
        )
        if not applied:
            problems.append(
                (
                    f"tiers.levels[{index}].benefits.earn_multiplier_percent",
                    f"no earning rule with tier_in [{level.code}] has multiplier_percent {percent}",
                )
            )
    return problems
