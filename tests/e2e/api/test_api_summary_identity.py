"""The summary report's points add up, and its liability is the balance sheet's, to the fen.

One program, through the API on a sandbox clock (every figure below is counted by hand):

| when (local)      | what                                                                    |
| ----------------- | ----------------------------------------------------------------------- |
| 2024-05-15        | B (joined 2024-05-01): 700 activity points, expiring 2025-05-15          |
| 2025-05-10..13    | A (joined 2025-05-01): four trips of ¥553.50, 4 × 2,768 ride points      |
| 2025-05-15        | the daily job: B's 700 points expire (and the rollups take in the ledger) |
| 2025-05-20        | C (joined 2025-05-01): 1,500 activity points                             |
| 2025-06-01        | A redeems a ¥30 ticket (3,000 points, committed) and holds another (3,000) |
| 2025-06-02        | C closes: 1,500 points forfeited                                         |

So since the start: issued 700 + 11,072 + 1,500 = 13,272; redeemed 3,000; expired 700; forfeited
1,500; held 3,000; outstanding A's 11,072 − 6,000 = 5,072 — and 13,272 − 3,000 − 700 − 1,500 −
3,000 = 5,072. June alone opens with A's 11,072 and C's 1,500 (B's points expired in May).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import Api
from tests.e2e.api.test_api_contract import TRIP_POINTS, Http, activity, local
from tests.e2e.api.test_api_redemptions import ticket_body

RIDES = (date(2025, 5, 10), date(2025, 5, 11), date(2025, 5, 12), date(2025, 5, 13))
ISSUED = 700 + 4 * TRIP_POINTS + 1500  # B's activity, A's trips, C's activity
REDEEMED, HELD, EXPIRED, FORFEITED = 3000, 3000, 700, 1500
OUTSTANDING = 4 * TRIP_POINTS - 3000 - 3000  # only A still holds spendable points
JUNE_OPENING = 4 * TRIP_POINTS + 1500  # A's and C's points on 31 May; B's expired on 15 May
SINCE_THE_START = {"from": "2024-01-01", "to": "2025-06-10"}
JUNE = {"from": "2025-06-01", "to": "2025-06-10"}


@dataclass(frozen=True)
class Cast:
    a: int
    b: int
    c: int


@pytest.fixture
def http(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Http:
    return Http(api, engine, vault_keys)


@pytest.fixture
def cast(http: Http) -> Cast:
    """The program of the module docstring, left at 2025-06-02 with one hold open."""
    http.set_clock(local(2024, 5, 1))
    b = http.enrol(serial=1)
    http.set_clock(local(2024, 5, 15, 12))  # events reach the server after they happen
    survey = activity("b-survey", member_id=b, points=700, on=date(2024, 5, 15))
    assert http.events([survey])[0]["status"] == "applied"
    http.set_clock(local(2025, 5, 1))
    a, c = http.enrol(serial=2), http.enrol(serial=3)
    http.set_clock(local(2025, 5, 14))
    http.ride(a, *RIDES)
    http.set_clock(local(2025, 5, 16))
    http.daily(date(2025, 5, 15))
    assert http.member(b)["balances"]["activity"] == 0  # B's 700 expired
    http.set_clock(local(2025, 5, 20, 12))
    survey = activity("c-survey", member_id=c, points=1500, on=date(2025, 5, 20))
    assert http.events([survey])[0]["status"] == "applied"
    http.set_clock(local(2025, 6, 1))
    for rid in ("r-used", "r-open"):
        response = http.post("/v1/redemptions", ticket_body(rid, a), role="integrator")
        assert response.status_code == 201, response.text
        assert response.json()["points"] == 3000
    assert http.post("/v1/redemptions/r-used/commit", {"id": "c-1"}).status_code == 200
    http.set_clock(local(2025, 6, 2))
    closed = http.post(f"/v1/members/{c}/close", {"reason": "asked"}, role="operator")
    assert closed.status_code == 200, closed.text
    assert http.member(a)["balances"]["ride"] == OUTSTANDING
    return Cast(a, b, c)


def summary_points(http: Http, period: dict[str, str]) -> dict[str, Any]:
    response = http.get("/v1/reports/summary", role="analyst", params=period)
    assert response.status_code == 200, response.text
    return response.json()["points"]


def fold_the_ledger_into_the_rollups(http: Http) -> None:
    """The daily job (before the open hold's departure on 20 June) refreshes the rollups."""
    http.set_clock(local(2025, 6, 6))
    assert "analytics" in http.daily(date(2025, 6, 5))["steps"]


def adds_up(p: dict[str, Any]) -> int:
    return p["opening"] + p["issued"] - p["redeemed"] - p["expired"] - p["forfeited"] - p["held"]


def test_since_the_start_every_point_issued_is_redeemed_expired_forfeited_held_or_outstanding(
    http: Http, cast: Cast
) -> None:
    for path in ("ledger and rollups", "rollups after the daily job"):
        p = summary_points(http, SINCE_THE_START)
        assert (p["opening"], p["issued"], p["redeemed"]) == (0, ISSUED, REDEEMED), path
        assert (p["expired"], p["forfeited"], p["held"]) == (EXPIRED, FORFEITED, HELD), path
        assert p["outstanding"] == OUTSTANDING, path
        assert adds_up(p) == p["outstanding"]  # with nothing before the start to open with
        fold_the_ledger_into_the_rollups(http)


def test_a_later_period_adds_up_from_the_points_members_held_when_it_opened(
    http: Http, cast: Cast
) -> None:
    for path in ("ledger and rollups", "rollups after the daily job"):
        p = summary_points(http, JUNE)
        assert (p["opening"], p["issued"], p["redeemed"]) == (JUNE_OPENING, 0, REDEEMED), path
        assert (p["expired"], p["forfeited"], p["held"]) == (0, FORFEITED, HELD), path
        assert adds_up(p) == p["outstanding"] == OUTSTANDING, path
        kpis = http.get("/v1/reports/kpis", role="analyst", params=JUNE).json()
        assert {name: kpis[name] for name in p} == p, path
        fold_the_ledger_into_the_rollups(http)


def liability(http: Http, as_of: str) -> dict[str, Any]:
    response = http.get("/v1/accounting/liability", role="analyst", params={"as_of": as_of})
    assert response.status_code == 200, response.text
    return response.json()


def summary_liability(http: Http, start: str, end: str) -> int:
    response = http.get("/v1/reports/summary", role="analyst", params={"from": start, "to": end})
    assert response.status_code == 200, response.text
    return response.json()["liability_fen"]


def test_the_summary_liability_is_the_liability_on_its_last_day_whatever_its_first(
    http: Http, cast: Cast
) -> None:
    # No estimate stored yet: rate 0, so the liability is every point members hold, 1 fen each.
    pool = OUTSTANDING + HELD
    for start in ("2024-01-01", "2025-05-15", "2025-06-01", "2025-06-04"):
        assert summary_liability(http, start, "2025-06-04") == pool, start
    assert liability(http, "2025-06-04")["liability_fen"] == pool

    estimate = http.post("/v1/accounting/estimates", {"as_of": "2025-06-05"})
    assert estimate.status_code == 200, estimate.text
    bps = estimate.json()["rate_bps"]
    assert bps > 0  # 700 expired and 1,500 forfeited against 6,000 redeemed or held
    expected = int(Fraction(pool * (10_000 - bps), 10_000) + Fraction(1, 2))
    assert liability(http, "2025-06-10")["liability_fen"] == expected
    for start in ("2024-01-01", "2025-05-15", "2025-06-01", "2025-06-10"):
        assert summary_liability(http, start, "2025-06-10") == expected, start
    # A period that ended before the estimate's day still values at rate 0.
    assert summary_liability(http, "2025-06-01", "2025-06-04") == pool
