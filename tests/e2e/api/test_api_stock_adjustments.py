"""Relative stock changes over HTTP on SQLite and PostgreSQL: POST /v1/mall/products/{sku}/stock
and the product's stock adjustments, a page at a time."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.api.test_api_contract import local
from tests.e2e.api.test_api_mall import Mall, shop

__all__ = ["shop"]  # the mall at NOW, a fixture


def stock(
    shop: Mall, sku: str, adjustment_id: str, change: int, reason: str = "Recount"
) -> dict[str, Any]:
    body = {"id": adjustment_id, "change": change, "reason": reason}
    response = shop.post(f"/v1/mall/products/{sku}/stock", body)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_admin_adds_units_and_gets_the_product_and_the_adjustment(shop: Mall):
    shop.product("TEA", stock=10)

    answer = stock(shop, "TEA", "delivery-1", 25, "Delivery 2025-02-01")

    assert answer["product"]["stock"] == 35
    assert answer["product"]["sku"] == "TEA"
    assert answer["adjustment"] == {
        "id": "delivery-1",
        "sku": "TEA",
        "change": 25,
        "stock_after": 35,
        "reason": "Delivery 2025-02-01",
        "actor": shop.api.keys["admin"].split("_")[1],  # the key's prefix, as audited
        "at": local(2025, 2, 1, 10),
    }
    rows = shop.get("/v1/audit", params={"subject": "product:TEA"}).json()["items"]
    adjusted = [r for r in rows if r["action"] == "product.stock_adjusted"]
    assert [(r["details"]["change"], r["details"]["stock"]) for r in adjusted] == [(25, 35)]


def test_concurrent_orders_are_not_overwritten_by_an_adjustment(shop: Mall):
    """Unlike replacing the product, an adjustment adds to the stock as it stands."""
    member = shop.member(1000)
    shop.product("TEA", stock=10)
    shop.bought("o1", member, "TEA", 3)

    assert stock(shop, "TEA", "s1", 5)["product"]["stock"] == 12
    assert shop.stock("TEA") == 12


def test_the_same_id_answers_the_first_adjustment_and_another_request_is_a_conflict(shop: Mall):
    shop.product("TEA", stock=10)
    first = stock(shop, "TEA", "s1", -4)

    assert stock(shop, "TEA", "s1", -4) == first
    shop.refused(
        shop.post("/v1/mall/products/TEA/stock", {"id": "s1", "change": -5, "reason": "Recount"}),
        409,
        "idempotency_conflict",
    )
    assert shop.stock("TEA") == 6


def test_taking_off_more_than_is_left_is_refused_and_changes_nothing(shop: Mall):
    shop.product("TEA", stock=3)

    refused = shop.post("/v1/mall/products/TEA/stock", {"id": "s1", "change": -4, "reason": "x"})

    error = shop.refused(refused, 409, "stock_below_zero")
    assert error["details"] == {"sku": "TEA", "change": -4, "stock": 3}
    assert "below 0" in error["message"]
    assert shop.stock("TEA") == 3
    assert shop.get("/v1/mall/products/TEA/stock-adjustments").json()["items"] == []


def test_an_unknown_sku_is_not_found(shop: Mall):
    body = {"id": "s1", "change": 1, "reason": "x"}
    shop.refused(shop.post("/v1/mall/products/NOPE/stock", body), 404, "not_found")
    shop.refused(shop.get("/v1/mall/products/NOPE/stock-adjustments"), 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"id": "s1", "change": 0, "reason": "x"},
        {"id": "s1", "change": 1, "reason": " "},
        {"id": "s1", "change": 1},
        {"id": "s1", "change": "1", "reason": "x"},
        {"change": 1, "reason": "x"},
        {"id": "s1", "change": 1, "reason": "x", "stock": 5},
    ],
)
def test_a_request_that_makes_no_sense_is_refused(shop: Mall, body: dict[str, Any]):
    shop.product("TEA", stock=3)

    response = shop.post("/v1/mall/products/TEA/stock", body)

    assert response.status_code == 422, response.text
    assert shop.stock("TEA") == 3


def test_only_an_admin_adjusts_and_operators_read_the_adjustments(shop: Mall):
    shop.product("TEA", stock=3)
    body = {"id": "s1", "change": 1, "reason": "x"}
    for role in ("operator", "integrator", "analyst", "partner"):
        shop.refused(shop.post("/v1/mall/products/TEA/stock", body, role=role), 403, "forbidden")
    stock(shop, "TEA", "s1", 1)
    listed = shop.get("/v1/mall/products/TEA/stock-adjustments", role="operator")
    assert [a["id"] for a in listed.json()["items"]] == ["s1"]
    for role in ("integrator", "analyst", "partner"):
        reading = shop.get("/v1/mall/products/TEA/stock-adjustments", role=role)
        shop.refused(reading, 403, "forbidden")


def test_the_adjustments_come_newest_first_a_page_at_a_time(shop: Mall):
    shop.product("TEA", stock=0)
    shop.product("MUG", stock=0)
    for n in range(5):
        shop.at(shop.now.replace(hour=11 + n))
        stock(shop, "TEA", f"tea-{n}", n + 1)
    stock(shop, "MUG", "mug-0", 9)

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = shop.get("/v1/mall/products/TEA/stock-adjustments", params=params).json()
        seen.append([(a["id"], a["stock_after"]) for a in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [
        [("tea-4", 15), ("tea-3", 10)],
        [("tea-2", 6), ("tea-1", 3)],
        [("tea-0", 1)],
    ]
    bad = shop.get("/v1/mall/products/TEA/stock-adjustments", params={"cursor": "nonsense"})
    shop.refused(bad, 422, "invalid_request")
