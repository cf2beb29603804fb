"""In a real browser: a member who has travelled enough signs in to the portal by a one-time link
and redeems a ticket by clicking, once in Chinese and once in English."""

from __future__ import annotations

import json
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import SHANGHAI
from tests.e2e.api.test_api_contract import trip
from tests.e2e.web.browser.conftest import LiveServer, screenshot

FARE_YUAN = "30.00"  # 3,000 points at the railway's 100 points per yuan


def _call(server: LiveServer, key: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - our own server
        f"{server.url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def _traveller(server: LiveServer, key: str, member_id: int) -> int:
    """The demo member after enough trips weeks ago to unlock redemption; their ride points."""
    today = datetime.now(SHANGHAI).date()  # noqa: TID251 - the live server's real clock
    days = [today - timedelta(days=20 - n) for n in range(8)]
    for day in days:
        member = _call(server, key, f"/v1/members/{member_id}")
        if member["redemption_unlocked"] and member["balances"]["ride"] >= 3000:
            return int(member["balances"]["ride"])
        events = trip(member_id, day, ticket_id=f"REDEEM-{member_id}-{day:%Y%m%d}")
        results = _call(server, key, "/v1/events", {"events": events})["results"]
        assert {r["status"] for r in results} <= {"applied", "duplicate"}, results
    pytest.fail(f"member {member_id} did not unlock redemption after {len(days)} trips")


def _joined_long_ago(server: LiveServer, key: str) -> int:
    """An active demo member (not member 1, the mall test's) who joined over 30 days ago."""
    cutoff = date.today() - timedelta(days=30)  # noqa: DTZ011, TID251 - the real clock
    for member_id in range(2, 31):
        member = _call(server, key, f"/v1/members/{member_id}")
        joined = datetime.fromisoformat(member["joined_at"]).date()
        if member["status"] == "active" and joined < cutoff:
            return member_id
    pytest.fail("no demo member joined more than 30 days ago")


@pytest.mark.parametrize(
    ("language", "heading", "costs", "done"),
    [
        ("zh", "兑换车票", "3,000 积分", "兑换成功"),
        ("en", "Redeem a ticket", "3,000 points", "Your ticket is redeemed"),
    ],
)
def test_a_member_redeems_a_ticket_by_clicking(  # noqa: PLR0917 - the cases' fields
    phone: Page,
    live_server: LiveServer,
    tmp_path: Path,
    language: str,
    heading: str,
    costs: str,
    done: str,
) -> None:
    key = live_server.last_line("keys", "create", "--role", "admin")
    member_id = _joined_long_ago(live_server, key)
    points = _traveller(live_server, key, member_id)
    link = live_server.last_line("portal", "link", str(member_id), "--base-url", live_server.url)
    departure = datetime.now(SHANGHAI).date() + timedelta(days=10)  # noqa: TID251

    phone.goto(link)
    if language == "en":
        phone.click("a[data-lang=en]")
    phone.click("a[href='/portal/redeem']")
    expect(phone.locator("h1")).to_have_text(heading)
    expect(phone.locator("[data-testid=ticket-points]")).to_have_text(f"{points:,}")

    phone.select_option("select[name=passenger]", "me")
    phone.fill("input[name=train]", "G1")
    phone.fill("input[name=day]", departure.isoformat())
    phone.fill("input[name=departure_time]", "08:00")
    phone.fill("input[name=fare]", FARE_YUAN)
    phone.click("form[action='/portal/redeem'] button[type=submit]")
    expect(phone.locator("[data-testid=quote-points]")).to_have_text(costs)
    screenshot(phone, f"portal-redeem-{language}", tmp_path)

    phone.click("[data-testid=quote] button[type=submit]")
    expect(phone.locator("[data-testid=redeemed]")).to_contain_text(done)
    expect(phone.locator("[data-testid=ticket-points]")).to_have_text(f"{points - 3000:,}")

    # A train that has left is refused with a sentence, not an error page.
    phone.fill("input[name=train]", "G1")
    phone.fill("input[name=day]", (departure - timedelta(days=30)).isoformat())
    phone.fill("input[name=departure_time]", "08:00")
    phone.fill("input[name=fare]", FARE_YUAN)
    phone.click("form[action='/portal/redeem'] button[type=submit]")
    phone.click("[data-testid=quote] button[type=submit]")
    expect(phone.locator(".flash-error")).to_be_visible()
    expect(phone.locator("[data-testid=ticket-points]")).to_have_text(f"{points - 3000:,}")

    phone.click("a[href='/portal/redemptions']")
    tickets = phone.locator("table", has=phone.locator("td", has_text="G1"))
    expect(tickets).to_contain_text("3,000")
