"""The points mall and redemption history in the member portal: buying once, friendly refusals."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import Api
from tests.e2e.web.test_web_portal_pages import Portal, make_portal, text_of

MALL = "/portal/mall"


@pytest.fixture
def portal(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Portal:
    """A portal client whose sandbox clock stands at NOW."""
    return make_portal(api, engine, vault_keys)


def product(portal: Portal, sku: str, **fields: Any) -> None:
    """Put a product on offer through the API, as an admin would."""
    body = {"sku": sku, "name": f"保温杯 {sku}", "price_points": 300, "stock": 5, **fields}
    response = portal.post("/v1/mall/products", body)
    assert response.status_code in {200, 201}, response.text


def buy_form(portal: Portal, sku: str) -> dict[str, str]:
    """The fields of the buy form of `sku` as the mall page renders them."""
    html = portal.page(MALL).text
    section = re.search(rf'data-sku="{sku}">(.*?)</section>', html, re.DOTALL)
    assert section, f"{sku} is not on the page"
    fields = dict(re.findall(r'name="(csrf_token|order_id|sku)" value="([^"]+)"', section[1]))
    assert set(fields) == {"csrf_token", "order_id", "sku"}, f"{sku} has no buy form"
    return fields


def mall_points(portal: Portal) -> str:
    points = re.search(r'data-testid="mall-points">([^<]+)<', portal.page(MALL).text)
    assert points
    return points[1]


def test_buying_takes_the_points_once_even_if_the_form_is_sent_twice(portal: Portal) -> None:
    portal.sign_in(portal.member(activity_points=1000))
    product(portal, "CUP")
    shop = text_of(portal.page(f"{MALL}?lang=en").text)
    assert "保温杯 CUP 300 points 5 left" in shop
    assert mall_points(portal) == "1,000"
    form = buy_form(portal, "CUP")
    first = portal.api.client.post(f"{MALL}/orders", data={**form, "quantity": "2"})
    again = portal.api.client.post(f"{MALL}/orders", data={**form, "quantity": "2"})
    assert first.status_code == again.status_code == 200
    assert "Thank you! Your order is placed" in first.text
    assert mall_points(portal) == "400"  # 1,000 - 2 × 300, once
    orders = portal.page("/portal/redemptions").text
    assert orders.count("data-order=") == 1
    assert "保温杯 CUP × 2" in orders
    assert "<td>paid</td>" in orders
    assert "3 left" in text_of(portal.page(MALL).text)


def test_refusals_are_friendly_messages(portal: Portal) -> None:
    portal.sign_in(portal.member(activity_points=1000))
    product(portal, "CUP", stock=2, per_member_limit=1)
    product(portal, "PEN", price_points=5000)
    product(portal, "LATER", sale_starts_at="2025-03-01T10:00:00+08:00")
    cases = [
        ("CUP", "3", "Sorry, this item has sold out (or not enough are left)."),
        ("CUP", "2", "You have already bought as many of this item as one member may."),
        ("PEN", "1", "You do not have enough points for this."),
        ("PEN", "0", "That request is not valid; please check and try again."),
        ("PEN", "²", "That request is not valid; please check and try again."),  # a digit, not 0-9
    ]
    portal.page(f"{MALL}?lang=en")
    for sku, quantity, message in cases:
        form = buy_form(portal, sku)
        refused = portal.api.client.post(f"{MALL}/orders", data={**form, "quantity": quantity})
        assert refused.status_code == 400
        assert message in refused.text
    later = text_of(portal.page(MALL).text)
    assert "Not on sale right now." in later
    assert "On sale: Mar 1, 2025" in later
    form = {**buy_form(portal, "CUP"), "sku": "LATER"}
    refused = portal.api.client.post(f"{MALL}/orders", data={**form, "quantity": "1"})
    assert "This item is not on sale right now; check its sale time." in refused.text
    assert mall_points(portal) == "1,000"


def test_the_mall_speaks_chinese_and_needs_the_session_token(portal: Portal) -> None:
    portal.sign_in(portal.member(activity_points=1000))
    product(portal, "CUP")
    shop = text_of(portal.page(MALL).text)
    assert "300 积分" in shop
    assert "剩余 5 件" in shop
    form = buy_form(portal, "CUP")
    forged = portal.api.client.post(
        f"{MALL}/orders", data={**form, "csrf_token": "forged", "quantity": "1"}
    )
    assert forged.status_code == 403
    assert mall_points(portal) == "1,000"
    assert "暂无商城订单。" in portal.page("/portal/redemptions").text
