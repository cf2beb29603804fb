"""In a real browser on a phone-sized screen: a demo member signs in to the portal by a one-time
link, adds a beneficiary and buys a mall item."""

from __future__ import annotations

import json
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.conftest import resident_id
from tests.e2e.web.browser.conftest import LiveServer, screenshot

PRICE = 10


def _call(server: LiveServer, key: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - our own server
        f"{server.url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def _shopper(server: LiveServer, key: str) -> tuple[int, int]:
    """Demo member 1 after a survey worth 500 activity points today, and their activity points."""
    member_id = 1
    now = _call(server, key, "/v1/clock")["now"]
    survey = {"member_id": member_id, "activity": "survey", "points": 500}
    event = {"id": "portal-browser-survey", "type": "activity.completed", "occurred_at": now}
    results = _call(server, key, "/v1/events", {"events": [{**event, "data": survey}]})["results"]
    assert results[0]["status"] in {"applied", "duplicate"}, results
    activity = _call(server, key, f"/v1/members/{member_id}")["balances"]["activity"]
    assert activity >= PRICE
    return member_id, activity


def test_a_member_adds_a_beneficiary_and_buys_in_the_mall(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    key = live_server.last_line("keys", "create", "--role", "admin")
    product = {"sku": "PORTAL-MUG", "name": "高铁纪念杯", "price_points": PRICE, "stock": 50}
    _call(live_server, key, "/v1/mall/products", product)
    member_id, activity = _shopper(live_server, key)
    link = live_server.last_line("portal", "link", str(member_id), "--base-url", live_server.url)

    phone.goto(link)
    expect(phone.locator("h1")).to_have_text("我的积分")
    expect(phone.locator("[data-testid=spendable]")).not_to_be_empty()
    expect(phone.locator("[data-testid=tier-progress]")).to_be_visible()
    screenshot(phone, "portal", tmp_path)

    phone.click("a[href='/portal/beneficiaries']")
    phone.fill("input[name=name]", "李四")
    phone.fill("input[name=id_number]", resident_id(date(1985, 5, 5), 238))
    phone.click("form[action='/portal/beneficiaries'] button[type=submit]")
    expect(phone.locator("[data-testid=added]")).to_contain_text("李四")
    expect(phone.locator("[data-testid=added]")).to_contain_text("生效")
    expect(phone.locator("tbody")).to_contain_text("1101**********")

    phone.click("a[href='/portal/mall']")
    expect(phone.locator("[data-testid=mall-points]")).to_have_text(f"{activity:,}")
    phone.click("[data-sku=PORTAL-MUG] button[type=submit]")
    expect(phone.locator("[data-testid=bought]")).to_be_visible()
    expect(phone.locator("[data-testid=mall-points]")).to_have_text(f"{activity - PRICE:,}")

    phone.click("a[data-lang=en]")
    expect(phone.locator("h1")).to_have_text("Points mall")
    phone.click("a[href='/portal/redemptions']")
    expect(phone.locator("tbody").first).to_contain_text("高铁纪念杯 × 1")
