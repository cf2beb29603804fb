"""The analytics reports over HTTP: figures, exports, roles and refusals."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest

from jifen.programs.schema import Program
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import Api
from tests.integration.services.test_kpis import build

Q1 = {"from": "2025-01-01", "to": "2025-03-31"}


@pytest.fixture
def reports(api: Api, uow: SqlUnitOfWork, railway: Program, enrol_member) -> Api:
    """The API over the hand-counted program of tests/integration/services/test_kpis.py."""
    build(uow, railway, enrol_member, refresh_midway=True)
    return api


def test_kpis_of_the_first_quarter(reports: Api) -> None:
    response = reports.get("/v1/reports/kpis", role="analyst", params=Q1)
    assert response.status_code == 200, response.text
    k = response.json()
    assert (k["members_total"], k["members_new"], k["members_active"]) == (4, 4, 3)
    assert (k["issued"], k["redeemed"], k["expired"], k["forfeited"]) == (4700, 900, 1000, 500)
    assert k["outstanding"] == 2300
    assert k["repurchase_rate"] == 2 / 3
    assert k["breakage_rate"] == 1000 / 1900
    assert (k["held"], k["opening"]) == (0, 0)
    # The balance sheet's liability on 31 March: 2,300 points at 1 fen, no breakage estimate
    # stored (the quarter's own breakage rate does not enter it).
    assert k["liability_fen"] == 2300


def test_the_summary_agrees_with_the_kpis(reports: Api) -> None:
    summary = reports.get("/v1/reports/summary", role="analyst", params=Q1).json()
    kpis = reports.get("/v1/reports/kpis", role="analyst", params=Q1).json()
    assert summary["points"] == {
        "issued": kpis["issued"],
        "redeemed": kpis["redeemed"],
        "expired": kpis["expired"],
        "outstanding": kpis["outstanding"],
        "forfeited": kpis["forfeited"],
        "held": kpis["held"],
        "opening": kpis["opening"],
    }
    assert summary["liability_fen"] == kpis["liability_fen"]


def test_series_tiers_cohorts_and_rfm(reports: Api) -> None:
    daily = reports.get("/v1/reports/daily", role="analyst", params=Q1).json()["items"]
    assert len(daily) == 90
    assert sum(d["issued"] for d in daily) == 4700
    assert sum(d["new_members"] for d in daily) == 4
    feb1 = next(d for d in daily if d["day"] == "2025-02-01")
    assert (feb1["issued"], feb1["expired"]) == (500, 1000)

    tiers = reports.get("/v1/reports/tiers", role="analyst", params={"on": "2025-03-31"}).json()
    assert {t["code"]: t["members"] for t in tiers["tiers"]} == {
        "star2": 2,
        "star3": 1,
        "star4": 1,
        "star5": 0,
    }
    moved = reports.get("/v1/reports/tier-movement", role="analyst", params=Q1).json()
    assert moved["joined"] == 4
    assert {(m["from_code"], m["to_code"]): m["members"] for m in moved["moves"]} == {
        (None, "star2"): 2,
        (None, "star3"): 1,
        (None, "star4"): 1,
    }
    found = reports.get("/v1/reports/cohorts", role="analyst", params=Q1).json()["cohorts"]
    assert [(c["month"], c["members"], c["active"]) for c in found] == [
        ("2025-01", 1, [1, 1, 0]),
        ("2025-02", 1, [1, 0]),
        ("2025-03", 2, [1]),
    ]
    segments = reports.get("/v1/reports/rfm", role="analyst", params=Q1).json()["segments"]
    assert {s["name"]: s["members"] for s in segments if s["members"]} == {
        "champions": 1,
        "at_risk": 1,
        "new": 1,
        "inactive": 1,
    }


def test_exports_as_csv_and_parquet(reports: Api) -> None:
    csv_ = reports.get("/v1/reports/daily/export", role="analyst", params={**Q1, "format": "csv"})
    assert csv_.status_code == 200
    assert csv_.headers["content-type"].startswith("text/csv")
    lines = csv_.text.splitlines()
    assert lines[0] == "day,issued,redeemed,expired,forfeited,new_members,active_members,held"
    assert "2025-02-01,500,0,1000,0,0,1,0" in lines
    parquet = reports.get(
        "/v1/reports/rfm/export", role="analyst", params={**Q1, "format": "parquet"}
    )
    table = pq.read_table(io.BytesIO(parquet.content)).to_pydict()
    assert dict(zip(table["name"], table["members"], strict=True))["champions"] == 1


def test_roles_and_refusals(reports: Api) -> None:
    assert reports.get("/v1/reports/kpis", role="admin", params=Q1).status_code == 200
    assert reports.get("/v1/reports/kpis", role="operator", params=Q1).status_code == 403
    assert reports.client.get("/v1/reports/kpis", params=Q1).status_code == 401
    backwards = reports.get(
        "/v1/reports/kpis", role="analyst", params={"from": "2025-02-01", "to": "2025-01-31"}
    )
    assert backwards.status_code == 422
    assert backwards.json()["error"]["code"] == "invalid_request"
    assert reports.get("/v1/reports/kpis", role="analyst").json()["error"]["code"] == (
        "validation_error"
    )
    unknown = reports.get("/v1/reports/nope/export", role="analyst", params=Q1)
    assert unknown.status_code == 404
