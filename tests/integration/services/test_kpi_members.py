"""Tier mix and movement, cohorts and RFM segments on the hand-counted program of test_kpis."""

from __future__ import annotations

from datetime import date

import pytest

from jifen.programs.schema import Program
from jifen.services.analytics import (
    Cohort,
    RfmCell,
    RfmSegment,
    TierMove,
    cohorts,
    refresh_rollups,
    rfm,
    rfm_grid,
    tier_mix,
    tier_movement,
)
from jifen.storage.uow import SqlUnitOfWork
from tests.integration.services.test_kpis import Cast, build

Q1 = (date(2025, 1, 1), date(2025, 3, 31))


@pytest.fixture(params=["live", "refreshed"])
def program(
    request: pytest.FixtureRequest, uow: SqlUnitOfWork, railway: Program, enrol_member
) -> Cast:
    cast = build(uow, railway, enrol_member, refresh_midway=False)
    if request.param == "refreshed":
        refresh_rollups(uow, program=railway)
    return cast


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2025, 1, 31), {"star2": 1}),
        (date(2025, 2, 28), {"star2": 1, "star3": 1}),
        (date(2025, 3, 24), {"star2": 2, "star3": 2}),
        (date(2025, 3, 31), {"star2": 2, "star3": 1, "star4": 1}),
    ],
)
def test_tier_mix_on_a_day(
    program: Cast, uow: SqlUnitOfWork, railway: Program, on, expected
) -> None:
    mix = tier_mix(uow, program=railway, on=on)
    assert [s.code for s in mix] == ["star2", "star3", "star4", "star5"]
    assert {s.code: s.members for s in mix if s.members} == expected
    total = sum(expected.values())
    assert {s.code: s.share for s in mix if s.members} == {
        c: n / total for c, n in expected.items()
    }


def test_tier_movement_in_march(program: Cast, uow: SqlUnitOfWork, railway: Program) -> None:
    """A and B stay where they were on Feb 28; C joined and reached 4★; D joined at 2★."""
    moved = tier_movement(uow, program=railway, start=date(2025, 3, 1), end=date(2025, 3, 31))
    assert set(moved.moves) == {
        TierMove(None, "star2", 1),
        TierMove(None, "star4", 1),
        TierMove("star2", "star2", 1),
        TierMove("star3", "star3", 1),
    }
    assert (moved.upgraded, moved.downgraded, moved.kept, moved.joined) == (0, 0, 2, 2)


def test_tier_movement_since_february(program: Cast, uow: SqlUnitOfWork, railway: Program) -> None:
    moved = tier_movement(uow, program=railway, start=date(2025, 2, 1), end=date(2025, 3, 31))
    assert set(moved.moves) == {
        TierMove("star2", "star3", 1),  # A, upgraded on 02-15
        TierMove(None, "star2", 2),  # B and D
        TierMove(None, "star4", 1),  # C
    }
    assert (moved.upgraded, moved.downgraded, moved.kept, moved.joined) == (1, 0, 0, 3)


def test_monthly_cohorts(program: Cast, uow: SqlUnitOfWork, railway: Program) -> None:
    found = cohorts(uow, program=railway, start=Q1[0], end=Q1[1])
    assert found == (
        Cohort("2025-01", 1, (1, 1, 0)),  # A earned in January and (activity) February
        Cohort("2025-02", 1, (1, 0)),  # B earned on Feb 20, then closed
        Cohort("2025-03", 2, (1,)),  # C earned, D did not
    )
    assert found[2].retention == (0.5,)


def test_rfm_segments(program: Cast, uow: SqlUnitOfWork, railway: Program) -> None:
    """To Mar 31: A last earned Feb 1 (58 days, twice, 1,500), B Feb 20 (39 days, once, 800),
    C Mar 7 (24 days, twice, 2,400). Recency scores by fifths: A 2, B 4, C 5; frequency: B 2,
    A and C (tied) 5. So C is a champion, A at risk, B new; D never earned.
    """
    found = {s.name: s for s in rfm(uow, program=railway, start=Q1[0], end=Q1[1])}
    assert list(found) == [
        "champions",
        "at_risk",
        "loyal",
        "new",
        "needs_attention",
        "hibernating",
        "inactive",
    ]
    assert found["champions"] == RfmSegment("champions", 1, 24.0, 2.0, 2400.0)
    assert found["at_risk"] == RfmSegment("at_risk", 1, 58.0, 2.0, 1500.0)
    assert found["new"] == RfmSegment("new", 1, 39.0, 1.0, 800.0)
    assert found["inactive"] == RfmSegment("inactive", 1, None, None, None)
    assert sum(s.members for s in found.values()) == 4


def test_the_rfm_grid_places_each_earner_by_their_scores(
    program: Cast, uow: SqlUnitOfWork, railway: Program
) -> None:
    """The earners of `test_rfm_segments`, each in their own (R, F) cell; D, who never earned,
    in none."""
    assert rfm_grid(uow, program=railway, start=Q1[0], end=Q1[1]) == (
        RfmCell(2, 5, "at_risk", 1, 1500.0),
        RfmCell(4, 2, "new", 1, 800.0),
        RfmCell(5, 5, "champions", 1, 2400.0),
    )
