"""In a real browser on a phone-sized screen: a member buys a mall item, then cancels the order
from Redemptions, sees what comes back before confirming, and gets the points back."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.web.browser.conftest import LiveServer, screenshot

PRICE = 120
NAME = "退订测试杯"


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
    """An active demo member (from the end, away from the other tests') given 500 activity
    points today, and their activity points."""
    member_id = next(
        (
            m
            for m in range(30, 1, -1)
            if _call(server, key, f"/v1/members/{m}")["status"] == "active"
        ),
        None,
    )
    if member_id is None:
        pytest.fail("no active demo member")
    now = _call(server, key, "/v1/clock")["now"]
    survey = {"member_id": member_id, "activity": "survey", "points": 500}
    event = {"id": "portal-cancel-survey", "type": "activity.completed", "occurred_at": now}
    results = _call(server, key, "/v1/events", {"events": [{**event, "data": survey}]})["results"]
    assert results[0]["status"] in {"applied", "duplicate"}, results
    activity = _call(server, key, f"/v1/members/{member_id}")["balances"]["activity"]
    assert activity >= PRICE
    return member_id, activity


def test_a_member_cancels_a_paid_order_by_clicking(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    key = live_server.last_line("keys", "create", "--role", "admin")
    product = {"sku": "PORTAL-CANCEL", "name": NAME, "price_points": PRICE, "stock": 50}
    _call(live_server, key, "/v1/mall/products", product)
    member_id, activity = _shopper(live_server, key)
    link = live_server.last_line("portal", "link", str(member_id), "--base-url", live_server.url)

    phone.goto(link)
    phone.click("a[href='/portal/mall']")
    phone.click("[data-sku=PORTAL-CANCEL] button[type=submit]")
    expect(phone.locator("[data-testid=mall-points]")).to_have_text(f"{activity - PRICE:,}")

    phone.click("a[href='/portal/redemptions']")
    row = phone.locator("tr", has_text=NAME).first
    expect(row).to_contain_text("已支付")
    row.locator("a").click()
    expect(phone.locator("h1")).to_have_text("取消订单")
    expect(phone.locator("[data-testid=points-back]")).to_contain_text(f"{PRICE} 积分将退回")
    expect(phone.locator("[data-testid=points-back]")).to_contain_text("不收取手续费")
    screenshot(phone, "portal-cancel-order", tmp_path)

    phone.click("form[action$='/cancel'] button[type=submit]")
    expect(phone.locator("[data-testid=cancelled]")).to_be_visible()
    row = phone.locator("tr", has_text=NAME).first
    expect(row.locator("a")).to_have_count(0)  # refunded: nothing more to cancel
    phone.click("a[href='/portal/mall']")
    expect(phone.locator("[data-testid=mall-points]")).to_have_text(f"{activity:,}")
    assert _call(live_server, key, f"/v1/members/{member_id}")["balances"]["activity"] == activity
