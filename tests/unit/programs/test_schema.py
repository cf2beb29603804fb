"""Program files: what the schema accepts, and errors that name the field that is wrong."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from jifen.domain.errors import JifenError
from jifen.programs.loader import ProgramInvalid, load_preset, load_program, parse_program
from jifen.programs.schema import ExpiryPolicy, LocalizedName, Program, RuleEffect

MINIMAL: dict[str, Any] = {
    "code": "demo",
    "name": {"zh": "演示", "en": "Demo"},
    "timezone": "Asia/Shanghai",
    "point_kinds": [
        {
            "code": "ride",
            "name": "Ride points",
            "spendable": True,
            "counts_toward_tiers": True,
            "expiry": {"months_after_credit": 12},
        }
    ],
    "enrolment": {"minimum_age": 12, "id_types": ["resident_id"]},
    "tiers": {
        "metric": "rolling_12m_upgrade_points",
        "join_tier": "basic",
        "validity_months": 12,
        "levels": [
            {"code": "basic", "name_zh": "普通", "name_en": "Basic", "threshold": 0},
            {"code": "gold", "name_zh": "金卡", "name_en": "Gold", "threshold": 1000},
        ],
    },
    "earning_rules": [
        {
            "code": "base",
            "name": "Base",
            "on": "ticket.travelled",
            "effect": {"kind": "ride", "rate_per_yuan": 5},
        }
    ],
    "redemption": {"points_per_yuan": 100},
}


def program_data(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    data.update(copy.deepcopy(changes))
    return data


def problems_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ProgramInvalid) as caught:
        parse_program(yaml.safe_dump(data, allow_unicode=True), "test.yaml")
    return {error["field"]: error["problem"] for error in caught.value.details["errors"]}


def rule(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "extra",
        "name": "Extra",
        "on": "ticket.travelled",
        "effect": {"kind": "ride", "rate_per_yuan": 10},
    }
    return base | fields


def test_a_minimal_program_loads_with_defaults() -> None:
    program = parse_program(yaml.safe_dump(MINIMAL, allow_unicode=True), "test.yaml")

    assert program.currency_unit == "fen"
    assert program.tiers.grace_days == 0
    assert program.tiers.soft_landing is False
    assert program.claims.window_days == 90
    assert program.kind("ride").name == LocalizedName(zh="Ride points", en="Ride points")
    assert program.all_earning_rules()[0].code == "base"


def test_program_is_frozen() -> None:
    program = Program.model_validate(MINIMAL)

    with pytest.raises(ValidationError):
        program.code = "other"  # type: ignore[misc]


def test_tier_thresholds_must_increase() -> None:
    tiers = copy.deepcopy(MINIMAL["tiers"])
    tiers["levels"][1]["threshold"] = 0

    problems = problems_of(program_data(tiers=tiers))

    assert "tiers.levels[1].threshold" in problems
    assert "must be above basic's 0" in problems["tiers.levels[1].threshold"]


def test_join_tier_must_be_a_level() -> None:
    tiers = copy.deepcopy(MINIMAL["tiers"]) | {"join_tier": "platinum"}

    assert "tiers.join_tier" in problems_of(program_data(tiers=tiers))


def test_unknown_point_kind_in_a_rule_is_named() -> None:
    bad = rule(effect={"kind": "miles", "rate_per_yuan": 1, "also_credit": ["bonus"]})

    problems = problems_of(program_data(earning_rules=[MINIMAL["earning_rules"][0], bad]))

    assert "unknown point kind 'miles'" in problems["earning_rules[1].effect.kind"]
    assert "'bonus'" in problems["earning_rules[1].effect.also_credit"]


def test_unknown_field_is_named() -> None:
    bad = rule(conditions={"age_minimum": 60})

    problems = problems_of(program_data(earning_rules=[bad]))

    assert problems == {
        "earning_rules[0].conditions.age_minimum": "is not a known setting (check the spelling)"
    }


def test_missing_field_is_named() -> None:
    data = program_data()
    del data["redemption"]["points_per_yuan"]

    assert problems_of(data) == {"redemption.points_per_yuan": "is required"}


def test_every_problem_is_reported_at_once() -> None:
    data = program_data(timezone="Mars/Olympus", currency_unit="yuan")

    problems = problems_of(data)

    assert set(problems) == {"timezone", "currency_unit"}
    assert "IANA time zone" in problems["timezone"]


def test_yaml_syntax_error_gives_the_line() -> None:
    text = "code: demo\nname: Demo\ntiers:\n  levels: [a, b\n  metric: x\n"

    with pytest.raises(ProgramInvalid) as caught:
        parse_program(text, "broken.yaml")

    [error] = caught.value.details["errors"]
    assert error["field"].startswith("line ")
    assert int(error["field"].removeprefix("line ")) in {4, 5}
    assert "broken.yaml" in caught.value.message


def test_duplicate_key_is_refused_with_its_line() -> None:
    text = "code: demo\ntimezone: Asia/Shanghai\ncode: other\n"

    with pytest.raises(ProgramInvalid) as caught:
        parse_program(text, "dup.yaml")

    assert caught.value.details["errors"][0]["field"] == "line 3"
    assert "duplicate key 'code'" in caught.value.details["errors"][0]["problem"]


def test_on_and_yes_stay_strings_not_yaml_1_1_booleans() -> None:
    text = yaml.safe_dump(MINIMAL, allow_unicode=True)
    text = text.replace("'on':", "on:").replace("name: Base", "name: yes")
    assert "  on: ticket.travelled" in text

    program = parse_program(text, "t.yaml")

    assert program.earning_rules[0].on == "ticket.travelled"
    assert program.earning_rules[0].name.en == "yes"


def test_error_is_a_jifen_error_with_a_stable_code_and_readable_message() -> None:
    tiers = copy.deepcopy(MINIMAL["tiers"]) | {"join_tier": "platinum"}

    with pytest.raises(JifenError) as caught:
        parse_program(yaml.safe_dump(program_data(tiers=tiers)), "p.yaml")

    assert caught.value.code == "program_invalid"
    assert "tiers.join_tier: 'platinum' is not one of the levels" in caught.value.message


def test_exclusive_alternatives_must_share_their_kind() -> None:
    kinds = [*MINIMAL["point_kinds"], {**MINIMAL["point_kinds"][0], "code": "bonus"}]
    rules = [
        rule(code="five", exclusive_group="mult"),
        rule(code="ten", exclusive_group="mult", effect={"kind": "bonus", "rate_per_yuan": 10}),
    ]

    problems = problems_of(program_data(point_kinds=kinds, earning_rules=rules))

    assert "share the event, the point kind" in problems["earning_rules[1].exclusive_group"]


def test_rule_codes_must_be_unique() -> None:
    rules = [rule(code="same"), rule(code="same")]

    assert "used twice" in problems_of(program_data(earning_rules=rules))["earning_rules[1].code"]


def test_effect_needs_exactly_one_amount() -> None:
    bad = rule(effect={"kind": "ride", "rate_per_yuan": 5, "fixed_points": 10})

    problems = problems_of(program_data(earning_rules=[bad]))

    assert "exactly one of" in problems["earning_rules[0].effect"]


def test_multiplier_needs_points_to_multiply() -> None:
    lonely = rule(on="order.paid", effect={"kind": "ride", "multiplier_percent": 200})

    problems = problems_of(program_data(earning_rules=[lonely]))

    assert "no other rule earns" in problems["earning_rules[0].effect.multiplier_percent"]


def test_tier_in_must_name_tiers() -> None:
    bad = rule(conditions={"tier_in": ["platinum"]})

    problems = problems_of(program_data(earning_rules=[bad]))

    assert "platinum" in problems["earning_rules[0].conditions.tier_in"]


def test_weekday_out_of_range_is_named() -> None:
    bad = rule(conditions={"weekdays": [1, 8]})

    problems = problems_of(program_data(earning_rules=[bad]))

    assert "less than or equal to 7" in problems["earning_rules[0].conditions.weekdays[1]"]


def test_hours_cannot_be_empty() -> None:
    bad = rule(conditions={"hours": [8, 8]})

    assert "earning_rules[0].conditions.hours" in problems_of(program_data(earning_rules=[bad]))


def test_age_range_must_be_ordered() -> None:
    bad = rule(conditions={"age_min": 30, "age_max": 20})

    problems = problems_of(program_data(earning_rules=[bad]))

    assert problems == {"earning_rules[0].conditions.age_max": "20 is below age_min 30"}


def test_tier_multiplier_benefit_must_be_applied_by_a_rule() -> None:
    tiers = copy.deepcopy(MINIMAL["tiers"])
    tiers["levels"][1]["benefits"] = {"earn_multiplier_percent": 150}

    problems = problems_of(program_data(tiers=tiers))

    assert "tiers.levels[1].benefits.earn_multiplier_percent" in problems


def test_unknown_kind_in_an_activity_is_named() -> None:
    activities = {"review": {"name": "Review", "kind": "stars", "points": 10}}

    assert "activities.review.kind" in problems_of(program_data(activities=activities))


def test_activities_become_rules_with_daily_caps() -> None:
    activities = {
        "review": {"name": "Review", "kind": "ride", "points": 10, "daily_cap": 50},
        "sign_in": {"name": "Sign in", "kind": "ride", "max_points": 5, "daily_cap": 5},
    }

    program = Program.model_validate(program_data(activities=activities))

    review, sign_in = program.all_earning_rules()[1:]
    assert (review.code, review.on, review.effect.fixed_points) == (
        "activity_review",
        "activity.completed",
        10,
    )
    assert review.conditions.activity_in == ("review",)
    assert review.caps.per_day == 50
    assert sign_in.effect.event_points is not None
    assert sign_in.effect.event_points.max_points == 5


def test_expiry_policy_forms() -> None:
    assert ExpiryPolicy.model_validate("never").expires_on(date(2025, 3, 15)) is None
    months = ExpiryPolicy.model_validate({"months_after_credit": 12})
    assert months.expires_on(date(2025, 3, 15)) == date(2026, 3, 15)
    year_end = ExpiryPolicy.model_validate({"end_of_year_after": 1})
    assert year_end.expires_on(date(2025, 6, 1)) == date(2027, 1, 1)


def test_expiry_policy_needs_exactly_one_form() -> None:
    kinds = copy.deepcopy(MINIMAL["point_kinds"])
    kinds[0]["expiry"] = {"months_after_credit": 12, "end_of_year_after": 1}

    problems = problems_of(program_data(point_kinds=kinds))

    assert "exactly one of" in problems["point_kinds[0].expiry"]


def test_rule_effect_cannot_also_credit_its_own_kind() -> None:
    with pytest.raises(ValidationError, match="already the rule's own kind"):
        RuleEffect(kind="ride", rate_per_yuan=5, also_credit=("ride",))


def test_load_program_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "program.yaml"
    path.write_text(yaml.safe_dump(MINIMAL, allow_unicode=True), encoding="utf-8")

    assert load_program(path).code == "demo"


def test_load_program_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProgramInvalid) as caught:
        load_program(tmp_path / "absent.yaml")

    assert caught.value.details["errors"][0]["field"] == "(file)"


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ProgramInvalid, match="mapping"):
        parse_program("- just\n- a list\n", "list.yaml")


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(ProgramInvalid, match="railway, retail"):
        load_preset("airline")


def entitlement(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "lounge_visit",
        "name": {"zh": "贵宾室", "en": "Lounge visit"},
        "on": "tier_start",
        "per_tier": {"gold": 4},
    }
    return base | fields


def test_entitlements_parse_into_the_domains_grants() -> None:
    program = parse_program(
        yaml.safe_dump(program_data(entitlements=[entitlement()]), allow_unicode=True), "t.yaml"
    )
    [grant] = program.entitlement_grants()
    assert (grant.code, grant.quantity_for("gold"), grant.valid_days) == ("lounge_visit", 4, 365)


def test_entitlements_name_only_the_programs_tiers_and_not_the_join_tier_at_its_start() -> None:
    problems = problems_of(
        program_data(
            entitlements=[
                entitlement(per_tier={"platinum": 2}),
                entitlement(code="welcome", per_tier={"basic": 1}),
            ]
        )
    )
    assert "unknown tiers ['platinum']" in problems["entitlements[0].per_tier"]
    assert "join tier" in problems["entitlements[1].per_tier"]
