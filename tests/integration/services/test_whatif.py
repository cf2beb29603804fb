"""What-if re-pricing of a past period under a draft rule set."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from jifen.programs.loader import parse_program
from jifen.services.ledger_check import check_ledger
from jifen.services.whatif import what_if
from tests.integration.services.test_events import Railway, at

PRESET = Path(__file__).parents[3] / "src/jifen/programs/presets/railway.yaml"


def test_a_draft_with_a_higher_base_rate_shows_extra_points_cost_and_members(
    uow, railway, vault, enrol_member
):
    rail = Railway(uow, railway, vault)
    adult, senior = enrol_member(date(1990, 3, 7)), enrol_member(date(1950, 1, 1))
    rail.trip(adult, "A1", at(date(2025, 5, 10)))
    rail.trip(adult, "A2", at(date(2025, 6, 10)))
    rail.trip(senior, "S1", at(date(2025, 5, 11)))
    rail.trip(adult, "OUT", at(date(2025, 8, 1)))  # outside the period
    draft = parse_program(
        PRESET.read_text().replace("rate_per_yuan: 5,", "rate_per_yuan: 6,"), "draft"
    )
    written = check_ledger(uow).counts

    report = what_if(uow, live=railway, draft=draft, start=date(2025, 5, 1), end=date(2025, 6, 30))

    assert report.priced == 3
    assert report.live["ride"] == 2 * 2768 + 8303
    assert report.draft["ride"] == 2 * 3321 + 8303  # ¥553.50 × 6; the senior keeps 15×
    assert (report.live_cost_fen, report.draft_cost_fen) == (13839, 14945)
    assert report.members_affected == 1
    assert check_ledger(uow).counts == written
