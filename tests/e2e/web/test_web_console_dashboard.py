"""The console dashboard: KPIs and charts over a date range, on SQLite and PostgreSQL.

The scene: two members join on 2025-03-01; one rides on 2025-03-05 (2,768 ride points), the
other completes an activity on 2025-03-06 (300 activity points); the clock stands at 2025-03-10.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.web import test_web_console_members as scene
from tests.e2e.web.test_web_console_members import NOW, Floor

floor = scene.floor  # the fixtures, shared with the member page tests
operator = scene.operator


def season(floor: Floor) -> None:
    rider, _ = floor.enrol(701)
    walker, _ = floor.enrol(702)
    floor.ride(rider, "T1")
    floor.activity(walker, 300, day=date(2025, 3, 6))
    floor.clock(NOW)


def kpi(html: str, name: str) -> str:
    match = re.search(rf'data-kpi="{name}">([^<]*)<', html)
    assert match, f"no {name} on the dashboard"
    return match.group(1)


def chart(html: str, name: str) -> dict[str, Any]:
    match = re.search(rf'<script type="application/json" id="chart-{name}">(.*?)</script>', html)
    assert match, f"no {name} chart"
    return json.loads(match.group(1))


def test_the_dashboard_shows_the_last_30_days_by_default(floor: Floor) -> None:
    season(floor)
    page = floor.console.get("/console").text
    assert 'value="2025-02-09"' in page  # 30 days up to the clock's today, 2025-03-10
    assert 'value="2025-03-10"' in page
    assert kpi(page, "members_total") == "2"
    assert kpi(page, "members_new") == "2"
    assert kpi(page, "members_active") == "2"
    assert kpi(page, "issued") == "3,068"  # 2,768 + 300
    assert kpi(page, "outstanding") == "3,068"
    assert kpi(page, "liability") == "¥30.68"  # 100 points = ¥1, nothing expired yet
    assert kpi(page, "expired") == "0"


def test_the_points_chart_has_a_line_per_flow_and_a_point_per_day(floor: Floor) -> None:
    season(floor)
    option = chart(floor.console.get("/console").text, "points")
    days = option["xAxis"]["data"]
    assert len(days) == 30
    issued = dict(zip(days, option["series"][0]["data"], strict=True))
    assert issued["2025-03-05"] == 2768
    assert issued["2025-03-06"] == 300
    assert sum(issued.values()) == 3068
    assert [s["name"] for s in option["series"]] == ["发放", "兑换", "过期"]
    assert option["xAxis"]["name"] == "日期"
    tiers = chart(floor.console.get("/console").text, "tiers")
    assert {"name": "二星会员", "value": 2} in tiers["series"][0]["data"]


def test_a_date_range_narrows_the_figures(floor: Floor) -> None:
    season(floor)
    page = floor.console.get("/console", params={"from": "2025-03-06", "to": "2025-03-10"}).text
    assert kpi(page, "issued") == "300"
    assert kpi(page, "outstanding") == "3,068"  # outstanding is at the end of the range
    assert len(chart(page, "points")["xAxis"]["data"]) == 5


def test_a_bad_date_range_says_why_and_shows_the_default(floor: Floor) -> None:
    season(floor)
    bad = floor.console.get("/console", params={"from": "2025-13-01"})
    assert bad.status_code == 200
    assert "日期格式为 YYYY-MM-DD" in bad.text
    assert kpi(bad.text, "issued") == "3,068"
    backwards = floor.console.get("/console", params={"from": "2025-03-10", "to": "2025-03-01"})
    assert "结束日期早于开始日期" in backwards.text
    for edge in ({"from": "9999-12-31"}, {"to": "0001-01-05"}):  # no date overflow at the edges
        far = floor.console.get("/console", params=edge)
        assert far.status_code == 200
        assert "日期格式为 YYYY-MM-DD" in far.text
    audit = floor.console.get("/console/audit", params={"from": "9999-12-30", "to": "9999-12-31"})
    assert audit.status_code == 200


def test_the_dashboard_speaks_english(floor: Floor) -> None:
    season(floor)
    page = floor.console.get("/console?lang=en").text
    assert "Points issued" in page
    assert [s["name"] for s in chart(page, "points")["series"]] == [
        "Issued",
        "Redeemed",
        "Expired",
    ]
    assert "发放" not in page


def test_an_analyst_sees_the_dashboard_and_nothing_else(
    floor: Floor, operator: Callable[..., TestClient]
) -> None:
    season(floor)
    analyst = operator("analyst")
    page = analyst.get("/console").text
    assert kpi(page, "issued") == "3,068"
    for path in ("/console/members", "/console/program", "/console/mall", "/console/jobs"):
        assert f'href="{path}"' not in page
        assert analyst.get(path).status_code == 403, path
