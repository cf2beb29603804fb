"""The console's Analytics page: cohorts, the RFM grid and campaign uplift, on both databases.

The scene: three members join on 2025-03-01 (A, B, C) and one on 2025-04-02 (D). A rides on
2025-03-05 and 2025-04-05, B completes an activity on 2025-03-06 (300 points), D rides on
2025-04-05, C never earns. The clock stands at 2025-04-10.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.web import test_web_console_members as scene
from tests.e2e.web.test_web_console_members import TRIP_POINTS, Floor
from tests.integration.services.test_campaigns import id_putting

floor = scene.floor  # the fixtures, shared with the member page tests
operator = scene.operator
END = date(2025, 4, 10)


def season(floor: Floor) -> dict[str, int]:
    a, _ = floor.enrol(801)
    b, _ = floor.enrol(802)
    c, _ = floor.enrol(803)
    floor.ride(a, "A1")
    floor.activity(b, 300, day=date(2025, 3, 6))
    floor.clock("2025-04-02T09:00:00+08:00")
    d, _ = floor.enrol(804)
    floor.ride(a, "A2", day=date(2025, 4, 5))
    floor.ride(d, "D1", day=date(2025, 4, 5))
    floor.clock("2025-04-10T12:00:00+08:00")
    return {"a": a, "b": b, "c": c, "d": d}


def chart(html: str, name: str) -> dict[str, Any]:
    match = re.search(rf'<script type="application/json" id="chart-{name}">(.*?)</script>', html)
    assert match, f"no {name} chart"
    return json.loads(match.group(1))


def cells(html: str, attribute: str) -> dict[str, str]:
    """The figures of the table cells marked `data-<attribute>="key"`, by key."""
    found = re.findall(rf'data-{attribute}="([^"]+)"[^>]*>([^<]*)<', html)
    return dict(found)


def row(html: str, attribute: str, key: str) -> str:
    """The HTML of the table row marked `data-<attribute>="key"`."""
    match = re.search(rf'data-{attribute}="{key}">(.*?)</tr>', html, re.DOTALL)
    assert match, f"no {attribute} {key} row"
    return match.group(1)


def members_in(html: str) -> str:
    """The figure of the `data-members` cell in a row's HTML."""
    match = re.search(r"data-members>([^<]*)<", html)
    assert match, "no members cell"
    return match.group(1)


def score(values: dict[str, int], *, recent_last: bool) -> dict[str, int]:
    """RFM's 1–5 score by hand: the fifth of the sorted members a value's cumulative share is in.

    Ties share the score of the last of them (cumulative distribution).
    """
    ordered = sorted(values.values(), reverse=recent_last)
    n = len(ordered)

    def fifth(value: int) -> int:
        last = max(i for i, v in enumerate(ordered) if v == value) + 1
        return next(s for s, edge in enumerate((0.2, 0.4, 0.6, 0.8, 1.0), 1) if last / n <= edge)

    return {key: fifth(value) for key, value in values.items()}


def test_cohort_retention_counts_who_earned_each_month_since_joining(floor: Floor) -> None:
    season(floor)
    page = floor.console.get("/console/analytics")
    assert page.status_code == 200
    html = page.text
    assert 'value="2024-04-11"' in html  # a year up to the clock's today
    # March: A, B and C joined; A and B earned in March, A again in April. April: D, who earned.
    march, april = row(html, "cohort", "2025-03"), row(html, "cohort", "2025-04")
    assert members_in(march) == "3"
    assert re.findall(r'data-active="\d"[^>]*>([^<]*)<', march) == ["2", "1"]
    assert members_in(april) == "1"
    assert re.findall(r'data-active="\d"[^>]*>([^<]*)<', april) == ["1"]
    option = chart(html, "cohorts")
    assert option["yAxis"]["data"] == ["2025-03", "2025-04"]
    shares = {(x, y): value for x, y, value, _label in option["series"][0]["data"]}
    assert shares == {(0, 0): round(200 / 3, 1), (1, 0): round(100 / 3, 1), (0, 1): 100.0}
    assert option["series"][0]["type"] == "heatmap"


def test_the_rfm_grid_places_each_earner_by_recency_and_frequency(floor: Floor) -> None:
    season(floor)
    html = floor.console.get("/console/analytics").text
    # By hand: days from the last earning to 2025-04-10, earnings, points.
    recency = {"a": 5, "b": 35, "d": 5}
    frequency = {"a": 2, "b": 1, "d": 1}
    points = {"a": 2 * TRIP_POINTS, "b": 300, "d": TRIP_POINTS}
    r, f = score(recency, recent_last=True), score(frequency, recent_last=False)
    expected: dict[str, list[str]] = {}
    for who in recency:
        expected.setdefault(f"{r[who]}-{f[who]}", []).append(who)
    shown = cells(html, "rfm")
    assert len(shown) == 25
    for key, figure in shown.items():
        assert figure == str(len(expected.get(key, []))), key
    option = chart(html, "rfm")
    drawn = {(x + 1, 5 - y): (colour, n) for x, y, colour, n in option["series"][0]["data"]}
    for key, members in expected.items():
        r_score, f_score = map(int, key.split("-"))
        mean = round(sum(points[m] for m in members) / len(members))
        assert drawn[(r_score, f_score)] == (mean, len(members))
    segments = cells(html, "segment")
    assert set(segments) >= {"champions", "inactive"}
    assert members_in(row(html, "segment", "inactive")) == "1"  # C


def test_the_csv_links_give_the_reports_of_the_range(floor: Floor) -> None:
    season(floor)
    html = floor.console.get("/console/analytics", params={"from": "2025-03-01"}).text
    link = re.search(r'href="(/console/analytics/cohorts\.csv\?[^"]+)"', html)
    assert link
    got = floor.console.get(link.group(1).replace("&amp;", "&"))
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    lines = got.text.strip().splitlines()
    assert lines[0] == "cohort,members,months_since,active,retention"
    assert lines[1].startswith("2025-03,3,0,2,")
    rfm = floor.console.get("/console/analytics/rfm.csv", params={"from": "2025-03-01"})
    assert "inactive,1" in rfm.text


def test_campaign_uplift_shows_each_arm_per_member_with_its_interval(floor: Floor) -> None:
    a, _ = floor.enrol(811)
    b, _ = floor.enrol(812)
    c, _ = floor.enrol(813)
    d, _ = floor.enrol(814)
    campaign_id = id_putting({a: "treated", b: "treated", c: "control", d: "control"}, 50)
    body = {
        "id": campaign_id,
        "name": "春季加成",
        "starts_at": "2025-03-02T00:00:00+08:00",
        "ends_at": "2025-05-01T00:00:00+08:00",
        "budget_points": 100_000,
        "effect": {"kind": "ride", "percent": 50},
        "target": {"member_ids": [a, b, c, d]},
        "control_percent": 50,
    }
    assert floor.api.post("/v1/campaigns", body, role="operator").status_code == 201
    floor.ride(a, "A1")
    floor.ride(a, "A2", day=date(2025, 3, 6))
    floor.ride(c, "C1")
    floor.clock("2025-03-10T12:00:00+08:00")
    html = floor.console.get("/console/analytics").text
    shown = row(html, "campaign", campaign_id)
    # Trips per member: treated (2, 0), mean 1, variance 2; control (1, 0), mean 0.5, variance
    # 0.5. Uplift 0.5 ± 1.96 × √(2/2 + 0.5/2) = 0.5 ± 2.19.
    assert members_in(shown) == "2 / 2"
    assert "1.00 / 0.50" in shown
    assert "+0.50 (-1.69 – 2.69)" in shown
    assert "¥553.50 / ¥276.75" in shown  # fares per member: (1,107, 0) and (553.50, 0)
    trips = chart(html, "uplift-trips")
    assert trips["xAxis"]["data"] == ["春季加成"]
    assert [s["data"] for s in trips["series"][:2]] == [[1.0], [0.5]]
    # The whisker: where the treated mean may lie, the control mean plus the interval.
    [[index, low, high]] = trips["series"][2]["data"]
    assert (index, low, high) == (0, round(1.0 - 2.1913, 2), round(1.0 + 2.1913, 2))
    spend = chart(html, "uplift-spend")
    assert [s["data"] for s in spend["series"][:2]] == [[553.5], [276.75]]  # fares in yuan


def test_both_languages_render_and_analysts_may_read(
    floor: Floor, operator: Callable[[str], TestClient]
) -> None:
    season(floor)
    analyst = operator("analyst")
    zh = analyst.get("/console/analytics")
    assert zh.status_code == 200
    assert "分析" in zh.text
    assert 'href="/console/analytics"' in analyst.get("/console").text
    en = analyst.get("/console/analytics?lang=en")
    assert en.status_code == 200
    assert "Cohort retention" in en.text
    assert "Campaign uplift" in en.text
    assert analyst.get("/console/analytics/rfm.csv").status_code == 200
    assert operator("operator").get("/console/analytics").status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(floor: Floor) -> None:
    stranger = TestClient(floor.api.client.app, raise_server_exceptions=False)
    page = stranger.get("/console/analytics", follow_redirects=False)
    assert page.status_code in (302, 303)
    assert stranger.get("/console/analytics/cohorts.csv", follow_redirects=False).status_code in (
        302,
        303,
    )


def test_a_range_that_cannot_be_used_falls_back_to_a_year(floor: Floor) -> None:
    season(floor)
    html = floor.console.get("/console/analytics", params={"from": "2025-13-01"}).text
    assert 'value="2024-04-11"' in html
    assert "最近 12 个月" in html
    assert END.isoformat() in html
