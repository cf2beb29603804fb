"""Cancelling a paid mall order in the member portal: asked first, points back once, own only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from tests.conftest import Api
from tests.e2e.web.test_web_portal_mall import MALL, buy_form, mall_points, product
from tests.e2e.web.test_web_portal_pages import Portal, form_token, make_portal, text_of

LIST = "/portal/redemptions"


@pytest.fixture
def portal(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Portal:
    """A portal client whose sandbox clock stands at NOW."""
    return make_portal(api, engine, vault_keys)


def buy(portal: Portal, sku: str, quantity: int) -> None:
    placed = portal.api.client.post(
        f"{MALL}/orders", data={**buy_form(portal, sku), "quantity": str(quantity)}
    )
    assert placed.status_code == 200, placed.text


def cancel_link(portal: Portal) -> str | None:
    found = re.search(r'href="(/portal/orders/[^"]+/cancel)"', portal.page(LIST).text)
    return None if found is None else found[1]


def confirm_form(portal: Portal, path: str) -> dict[str, str]:
    html = portal.page(path).text
    cancel_id = re.search(r'name="cancel_id" value="([^"]+)"', html)
    assert cancel_id, "no confirm form"
    return {"csrf_token": form_token(html), "cancel_id": cancel_id[1]}


def test_cancelling_asks_first_then_gives_the_points_back_once(portal: Portal) -> None:
    portal.sign_in(portal.member(activity_points=1000))
    product(portal, "CUP")
    buy(portal, "CUP", 2)
    assert mall_points(portal) == "400"
    path = cancel_link(portal)
    assert path
    confirm = text_of(portal.page(f"{path}?lang=en").text)
    assert "Cancel your order of 保温杯 CUP × 2?" in confirm
    assert "600 points come back to your balance, with the expiry dates they had." in confirm
    assert "There is no fee." in confirm
    assert mall_points(portal) == "400"  # asking cancelled nothing

    form = confirm_form(portal, path)
    first = portal.api.client.post(path, data=form)
    again = portal.api.client.post(path, data=form)
    assert first.status_code == again.status_code == 200
    assert "Your order is cancelled and its points are back in your balance." in first.text
    assert mall_points(portal) == "1,000"  # 400 + 600, once
    assert "<td>refunded</td>" in first.text
    assert cancel_link(portal) is None  # a refunded order offers no cancel
    assert "5 left" in text_of(portal.page(MALL).text)  # the units are back on sale
    zh = text_of(portal.page(f"{LIST}?lang=zh_CN").text)
    assert "取消订单" not in zh


def test_the_confirm_step_is_in_chinese_too(portal: Portal) -> None:
    portal.sign_in(portal.member(activity_points=1000))
    product(portal, "CUP")
    buy(portal, "CUP", 1)
    path = cancel_link(portal)
    assert path
    assert "取消订单" in portal.page(f"{LIST}?lang=zh_CN").text
    confirm = text_of(portal.page(f"{path}?lang=zh_CN").text)
    assert "300 积分将退回您的余额，有效期不变。不收取手续费。" in confirm


def test_another_members_order_cannot_be_cancelled(portal: Portal) -> None:
    owner, other = portal.member(activity_points=1000), portal.member(activity_points=1000)
    product(portal, "CUP")
    portal.sign_in(owner)
    buy(portal, "CUP", 1)
    path = cancel_link(portal)
    assert path
    form = confirm_form(portal, path)

    portal.sign_in(other)
    asked = portal.page(path, follow_redirects=False)
    assert (asked.status_code, asked.headers["location"]) == (303, LIST)
    token = form_token(portal.page(LIST).text)
    sent = portal.api.client.post(path, data={**form, "csrf_token": token}, follow_redirects=False)
    assert (sent.status_code, sent.headers["location"]) == (303, LIST)
    assert mall_points(portal) == "1,000"

    portal.sign_in(owner)
    assert mall_points(portal) == "700"
    assert cancel_link(portal) == path  # still paid, still the owner's to cancel


def test_a_voucher_order_is_refused_in_words(portal: Portal) -> None:
    portal.sign_in(portal.member(activity_points=1000))
    product(portal, "TEA-V", kind="coupon", coupon_valid_days=30)
    buy(portal, "TEA-V", 1)
    assert cancel_link(portal) is None  # fulfilled at once: no cancel offered
    [order_id] = re.findall(r'data-order="([^"]+)"', portal.page(LIST).text)
    portal.page(f"{LIST}?lang=en")
    refused = portal.form(
        f"/portal/orders/{order_id}/cancel", {"cancel_id": "0" * 32}, page_path=LIST
    )
    assert refused.status_code == 400
    assert "This order cannot be cancelled here: it has been shipped, was a voucher" in refused.text
    assert mall_points(portal) == "700"


def test_an_order_paid_partly_in_cash_offers_no_cancel(portal: Portal) -> None:
    portal.sign_in(portal.member(activity_points=1000))
    product(portal, "BAG", cash_fen=2000)
    buy(portal, "BAG", 1)
    assert cancel_link(portal) is None
    [order_id] = re.findall(r'data-order="([^"]+)"', portal.page(LIST).text)
    asked = portal.page(f"/portal/orders/{order_id}/cancel", follow_redirects=False)
    assert (asked.status_code, asked.headers["location"]) == (303, LIST)
    portal.page(f"{LIST}?lang=en")
    refused = portal.form(
        f"/portal/orders/{order_id}/cancel", {"cancel_id": "1" * 32}, page_path=LIST
    )
    assert refused.status_code == 400
    assert "paid partly in cash (customer service can help with that)" in refused.text
    assert mall_points(portal) == "700"


def test_the_cancel_form_needs_the_session_token(portal: Portal) -> None:
    portal.sign_in(portal.member(activity_points=1000))
    product(portal, "CUP")
    buy(portal, "CUP", 1)
    path = cancel_link(portal)
    assert path
    form = {**confirm_form(portal, path), "csrf_token": "forged"}
    assert portal.api.client.post(path, data=form).status_code == 403
    assert mall_points(portal) == "700"
