"""In a real browser: the Analytics page draws its heatmaps and uplift bars, and a demo member's
page shows the entitlements the demo's nightly jobs issued."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.web.browser.conftest import DEMO_MEMBERS, LiveServer, console_sign_in, screenshot
from tests.integration.services.test_events import ticket

CAMPAIGN = "browser-uplift"
# What a chart drew: its ECharts instance's series (type and number of data items), and whether
# a canvas is on the page.
DRAWN = """(name) => {
  const el = document.querySelector(`[data-chart=${name}]`);
  const chart = window.echarts.getInstanceByDom(el);
  const series = chart ? chart.getOption().series : [];
  return {
    canvas: !!el.querySelector("canvas"),
    series: series.map((s) => [s.type, s.data.length]),
  };
}"""


def _call(server: LiveServer, key: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - our own server
        f"{server.url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def _campaign_with_trips(server: LiveServer, key: str) -> None:
    """A campaign for everyone since a week ago, half of them as control, then some trips."""
    now = datetime.fromisoformat(_call(server, key, "/v1/clock")["now"])
    campaign = {
        "id": CAMPAIGN,
        "name": "周末加成",
        "starts_at": (now - timedelta(days=7)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
        "budget_points": 1_000_000,
        "effect": {"kind": "ride", "percent": 50},
        "target": {},
        "control_percent": 50,
    }
    existing = [c["id"] for c in _call(server, key, "/v1/campaigns")["items"]]
    if CAMPAIGN not in existing:
        _call(server, key, "/v1/campaigns", campaign)
    departure = now - timedelta(hours=3)
    events = []
    for member in range(2, 12):
        data = ticket(f"uplift-{member}", departure=departure, passenger={"member_id": member})
        bought = {"type": "ticket.purchased", "occurred_at": departure.isoformat(), "data": data}
        travelled = {
            "type": "ticket.travelled",
            "occurred_at": (now - timedelta(hours=1)).isoformat(),
            "data": {"ticket_id": f"uplift-{member}"},
        }
        events += [
            {"id": f"buy-uplift-{member}", **bought},
            {"id": f"ride-uplift-{member}", **travelled},
        ]
    _call(server, key, "/v1/events", {"events": events})


def test_the_analytics_page_draws_its_charts_in_both_languages(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    key = live_server.last_line("keys", "create", "--role", "admin")
    _campaign_with_trips(live_server, key)
    console_sign_in(page, live_server)
    page.click("a[href='/console/analytics']")
    expect(page.locator("h1")).to_have_text("分析")
    for name in ("chart-cohorts", "chart-rfm", "chart-uplift-trips", "chart-uplift-spend"):
        expect(page.locator(f"[data-chart={name}][data-rendered='1']")).to_be_visible()

    cohorts = page.evaluate(DRAWN, "chart-cohorts")
    assert cohorts["canvas"]
    [(kind, cells)] = cohorts["series"]
    assert kind == "heatmap"
    assert cells > 0
    rfm = page.evaluate(DRAWN, "chart-rfm")
    assert rfm["series"][0][0] == "heatmap"
    assert rfm["series"][0][1] > 0  # the demo's members earned in the last year
    uplift = page.evaluate(DRAWN, "chart-uplift-trips")
    assert uplift["canvas"]
    assert uplift["series"][:2] == [["bar", 1], ["bar", 1]]  # one campaign: one bar pair
    assert uplift["series"][2] == ["custom", 1]  # and its error bar
    expect(page.locator(f"[data-campaign={CAMPAIGN}]")).to_contain_text("周末加成")
    expect(page.locator("[data-segment=inactive]")).to_be_visible()
    screenshot(page, "analytics", tmp_path)

    page.click("a[data-lang=en]")
    expect(page.locator("h1")).to_have_text("Analytics")
    expect(page.locator("[data-chart=chart-rfm][data-rendered='1']")).to_be_visible()
    expect(page.locator("#cohorts")).to_contain_text("Cohort retention")


def test_a_demo_members_page_shows_their_entitlements(page: Page, live_server: LiveServer) -> None:
    key = live_server.last_line("keys", "create", "--role", "admin")
    holders = {
        member: items
        for member in range(1, DEMO_MEMBERS + 1)
        if (items := _call(live_server, key, f"/v1/members/{member}/entitlements")["items"])
    }
    assert holders, "the demo issued no entitlements"
    member, items = next(iter(holders.items()))
    console_sign_in(page, live_server)
    page.goto(f"{live_server.url}/console/members/{member}")
    rows = page.locator("#entitlements tbody tr")
    expect(rows).to_have_count(len(items))
    first = rows.first
    expect(first.locator("[data-issued]")).to_have_text(str(items[0]["quantity"]))
    expect(first.locator("[data-left]")).to_have_text(str(items[0]["remaining"]))
