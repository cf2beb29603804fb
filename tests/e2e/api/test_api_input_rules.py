"""Names that spoof a page and mall products that make no sense are refused (issue 19)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from jifen.domain.errors import InvalidRequest
from jifen.services.mall.products import check_product
from jifen.storage.mall_repository import Product
from jifen.storage.tables import beneficiaries, mall_products, members
from tests.conftest import Api, resident_id
from tests.e2e.api.test_api_contract import enrolment

RLO, ZWSP, RLI = "\u202e", "\u200b", "\u2067"


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.mark.parametrize(
    "name", [f"张{RLO}三", f"{ZWSP}张三", f"张三{RLI}"], ids=["RLO", "ZWSP first", "RLI last"]
)
def test_a_member_name_with_a_bidi_override_or_invisible_character_is_refused(
    api: Api, engine: Engine, name: str
):
    response = api.post("/v1/members", enrolment(date(1990, 3, 7), 1, name=name))

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_identity"
    assert response.json()["error"]["details"]["field"] == "name"
    assert count(engine, members) == 0


@pytest.mark.parametrize("name", [f"李{RLO}四", f"李四{ZWSP}"], ids=["RLO", "ZWSP last"])
def test_a_beneficiary_name_with_a_bidi_override_or_invisible_character_is_refused(
    api: Api, engine: Engine, name: str
):
    member = api.post("/v1/members", enrolment(date(1990, 3, 7), 1)).json()["member_id"]
    person = {
        "id": "ben-1",
        "name": name,
        "id_type": "resident_id",
        "id_number": resident_id(date(1988, 8, 8), 2),
    }

    response = api.post(f"/v1/members/{member}/beneficiaries", person)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_identity"
    assert count(engine, beneficiaries) == 0


SENSIBLE = {"sku": "MUG", "name": "Mug", "price_points": 100, "stock": 10}
NONSENSE = {
    "free": {"price_points": 0},
    "negative price": {"price_points": -5},
    "negative stock": {"stock": -1},
    "window ends before it starts": {
        "sale_starts_at": "2026-03-01T10:30:00+08:00",
        "sale_ends_at": "2026-03-01T10:00:00+08:00",
    },
    "window ends as it starts": {
        "sale_starts_at": "2026-03-01T10:00:00+08:00",
        "sale_ends_at": "2026-03-01T10:00:00+08:00",
    },
}


@pytest.mark.parametrize("fields", list(NONSENSE.values()), ids=list(NONSENSE))
def test_a_mall_product_for_no_points_negative_stock_or_a_backward_window_is_refused(
    api: Api, engine: Engine, fields: dict[str, Any]
):
    response = api.post("/v1/mall/products", {**SENSIBLE, **fields})

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("validation_error", "invalid_request")
    assert count(engine, mall_products) == 0
    assert api.post("/v1/mall/products", SENSIBLE).status_code == 201


def test_a_product_defined_without_the_api_still_costs_at_least_one_point():
    gift = Product(
        sku="GIFT",
        name="Gift",
        kind="goods",
        price_points=0,
        cash_fen=0,
        stock=1,
        per_member_limit=None,
        sale_starts_at=None,
        sale_ends_at=None,
        coupon_valid_days=None,
        active=True,
    )

    with pytest.raises(InvalidRequest, match="price_points is at least 1"):
        check_product(gift)
