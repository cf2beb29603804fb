"""Entitlements as a program file declares them, checked and parsed into the domain's grants."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from jifen.domain import entitlements as records
from jifen.programs.earning import Code, Frozen, LocalizedName


class EntitlementDefinition(Frozen):
    """A countable benefit: how many each tier gets (`per_tier`), when, and for how many days.

    `on: tier_start` issues it when a tier period starts, `on: birthday` on the member's birthday;
    either way it lasts `valid_days` days at most and lapses with the tier it was issued under.
    """

    code: Code
    name: LocalizedName
    on: records.Trigger
    per_tier: Annotated[dict[Code, Annotated[int, Field(ge=1, le=10_000)]], Field(min_length=1)]
    valid_days: Annotated[int, Field(ge=1, le=3660)] = 365

    def record(self) -> records.EntitlementGrant:
        """The definition as the domain's record."""
        return records.EntitlementGrant(
            code=self.code,
            trigger=self.on,
            quantities=tuple(sorted(self.per_tier.items())),
            valid_days=self.valid_days,
            name_zh=self.name.zh,
            name_en=self.name.en,
        )


def entitlement_problems(
    definitions: tuple[EntitlementDefinition, ...], tiers: set[str], join_tier: str
) -> list[tuple[str, str]]:
    """Each definition's tiers must be the program's, and each code used once.

    The join tier starts at enrolment, not in the daily job, so nothing is issued at its start.
    """
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, definition in enumerate(definitions):
        if definition.code in seen:
            problems.append((f"entitlements[{index}].code", f"{definition.code!r} is used twice"))
        seen.add(definition.code)
        unknown = sorted(set(definition.per_tier) - tiers)
        if unknown:
            problems.append((f"entitlements[{index}].per_tier", f"unknown tiers {unknown}"))
        if definition.on is records.Trigger.TIER_START and join_tier in definition.per_tier:
            problem = f"{join_tier!r} is the join tier: it starts at enrolment, not at a tier start"
            problems.append((f"entitlements[{index}].per_tier", problem))
    return problems
