"""A member's redemptions, orders, coupons and adjustments over HTTP, a page at a time (SPEC §12).

Each list is newest first and pages with the opaque cursor the ledger uses: following
`next_cursor` to the end gives every row once, also when rows share a timestamp and when rows
are added between pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import Api
from tests.e2e.api.test_api_mall import NOW, Mall
from tests.e2e.api.test_api_redemptions import rider, ticket_body


@pytest.fixture
def shop(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Iterator[Mall]:
    """The mall client at its NOW; the ledger checks out at the end."""
    mall = Mall(api, engine, vault_keys)
    mall.at(NOW)
    yield mall
    mall.ledger_ok()


def pages(shop: Mall, path: str, *, limit: int, role: str = "operator") -> list[list[Any]]:
    """Every page of `path`, following `next_cursor` to the end."""
    found: list[list[Any]] = []
    cursor: str | None = None
    while True:
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        answer = shop.get(f"{path}?{query}", role=role)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return found
        assert len(found) < 20, "the cursor never ends"


def flat(found: list[list[Any]], key: str) -> list[Any]:
    return [item[key] for page in found for item in page]


class TestRedemptions:
    def test_pages_newest_first_across_rows_made_at_the_same_moment(self, shop: Mall) -> None:
        member = rider(shop, 301)
        other = rider(shop, 302)
        for rid in ("r-a", "r-b", "r-c"):  # the clock stands still: one created_at for all
            made = shop.post("/v1/redemptions", ticket_body(rid, member), role="integrator")
            assert made.status_code == 201, made.text
        shop.post("/v1/redemptions", ticket_body("r-other", other), role="integrator")
        shop.post("/v1/redemptions/r-b/commit", {"id": "r-b-commit"}, role="integrator")

        found = pages(shop, f"/v1/members/{member}/redemptions", limit=2, role="integrator")

        assert [len(page) for page in found] == [2, 1]
        assert flat(found, "redemption_id") == ["r-c", "r-b", "r-a"]
        assert flat(found, "status") == ["held", "committed", "held"]
        assert {item["member_id"] for page in found for item in page} == {member}
        assert found[0][0]["points"] == 3000

    def test_a_member_without_redemptions_has_an_empty_page(self, shop: Mall) -> None:
        member = shop.member()

        answer = shop.get(f"/v1/members/{member}/redemptions", role="operator")

        assert answer.json() == {"items": [], "next_cursor": None}


class TestOrders:
    def test_pages_newest_first_with_the_coupons_each_issued(self, shop: Mall) -> None:
        member = shop.member(1000)
        shop.product("MUG", price_points=100)
        shop.product("TEA-VOUCHER", kind="coupon", coupon_valid_days=30, price_points=50)
        for n, sku in enumerate(("MUG", "TEA-VOUCHER", "MUG")):
            shop.at(NOW + timedelta(minutes=n))
            shop.bought(f"o-{n}", member, sku)

        found = pages(shop, f"/v1/members/{member}/orders", limit=2, role="integrator")

        assert flat(found, "order_id") == ["o-2", "o-1", "o-0"]
        voucher = found[0][1]
        assert voucher["status"] == "fulfilled"
        assert len(voucher["coupons"]) == 1
        assert found[0][0]["coupons"] == []

    def test_a_new_order_between_pages_moves_nothing_on_later_pages(self, shop: Mall) -> None:
        member = shop.member(1000)
        shop.product("MUG", price_points=100)
        for n in range(3):
            shop.at(NOW + timedelta(minutes=n))
            shop.bought(f"o-{n}", member, "MUG")
        first = shop.get(f"/v1/members/{member}/orders?limit=2", role="operator").json()
        shop.at(NOW + timedelta(minutes=5))
        shop.bought("o-late", member, "MUG")

        cursor = first["next_cursor"]
        second = shop.get(f"/v1/members/{member}/orders?limit=2&cursor={cursor}").json()

        assert [o["order_id"] for o in first["items"]] == ["o-2", "o-1"]
        assert [o["order_id"] for o in second["items"]] == ["o-0"]
        assert second["next_cursor"] is None


class TestCoupons:
    def test_pages_through_granted_coupons(self, shop: Mall) -> None:
        member = shop.member()
        for n in range(5):
            shop.at(NOW + timedelta(hours=n // 2))  # pairs share a moment
            body = {"id": f"g-{n}", "type": "LOUNGE", "valid_days": 30}
            granted = shop.post(f"/v1/members/{member}/coupons", body, role="operator")
            assert granted.status_code == 201, granted.text

        found = pages(shop, f"/v1/members/{member}/coupons", limit=2, role="integrator")

        assert [len(page) for page in found] == [2, 2, 1]
        sources = flat(found, "source")
        assert sorted(sources) == [f"grant:g-{n}" for n in range(5)]
        issued = flat(found, "issued_at")
        assert issued == sorted(issued, reverse=True)


class TestAdjustments:
    def test_pages_newest_request_first(self, shop: Mall) -> None:
        member = shop.member()
        for n in range(3):
            shop.at(NOW + timedelta(minutes=n))
            body = {"id": f"adj-{n}", "kind": "goodwill", "points": 10 + n, "reason": "delay"}
            made = shop.post(f"/v1/members/{member}/adjustments", body, role="operator")
            assert made.status_code == 201, made.text

        found = pages(shop, f"/v1/members/{member}/adjustments", limit=2)

        assert flat(found, "adjustment_id") == ["adj-2", "adj-1", "adj-0"]
        assert flat(found, "points") == [12, 11, 10]


LISTS = ("redemptions", "orders", "coupons", "adjustments")


class TestRules:
    @pytest.mark.parametrize("listing", LISTS)
    def test_an_unknown_member_is_not_found(self, shop: Mall, listing: str) -> None:
        shop.refused(shop.get(f"/v1/members/999999/{listing}"), 404, "not_found")

    @pytest.mark.parametrize("listing", LISTS)
    def test_a_cursor_not_given_out_is_refused(self, shop: Mall, listing: str) -> None:
        member = shop.member()

        for cursor in ("not-a-cursor", "ZTEyMDMx"):  # junk, and a ledger cursor
            answer = shop.get(f"/v1/members/{member}/{listing}?cursor={cursor}")
            shop.refused(answer, 422, "invalid_request")

    @pytest.mark.parametrize(
        ("listing", "allowed"),
        [
            ("redemptions", {"admin", "operator", "integrator"}),
            ("orders", {"admin", "operator", "integrator"}),
            ("coupons", {"admin", "operator", "integrator"}),
            ("adjustments", {"admin", "operator"}),
        ],
    )
    def test_the_roles_of_the_single_item_reads(
        self, shop: Mall, listing: str, allowed: set[str]
    ) -> None:
        member = shop.member()
        for role in ("admin", "operator", "integrator", "analyst", "partner"):
            answer = shop.get(f"/v1/members/{member}/{listing}", role=role)
            assert (answer.status_code == 200) == (role in allowed), (role, answer.text)
