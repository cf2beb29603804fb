"""The points mall over HTTP on SQLite and PostgreSQL: products, flash-sale orders, refunds,
the warehouse webhook, coupons and donations (SPEC §6, §12 Mall)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import Engine, func, select, update

from jifen.services.clock import Clock
from jifen.services.ledger_check import check_ledger
from jifen.services.mall import sign
from jifen.services.mall.warehouse import EMBEDDED_WAREHOUSE_SECRET, WAREHOUSE_SECRET_ENV
from jifen.storage.tables import (
    ledger_entries,
    ledger_transactions,
    lots,
    mall_products,
    members,
)
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, Api
from tests.e2e.api.test_api_contract import Http, activity, local

NOW = datetime(2025, 2, 1, 10, 0, tzinfo=SHANGHAI)
JOINED = datetime(2025, 1, 2, 9, 0, tzinfo=SHANGHAI)  # members join before they earn
SECRET = "test-warehouse-secret"  # noqa: S105 - a test's own secret


@dataclass
class Mall(Http):
    """The contract test client with the mall's steps."""

    members: int = 0
    events_sent: int = 0
    now: datetime = NOW

    def at(self, moment: datetime) -> None:
        self.set_clock(moment.isoformat())
        self.now = moment

    def member(self, points: int = 0, *, on: date = date(2025, 1, 10)) -> int:
        self.members += 1
        self.set_clock(JOINED.isoformat())
        member_id = self.enrol(serial=self.members)
        self.set_clock(self.now.isoformat())
        if points:
            self.give(member_id, points, on=on)
        return member_id

    def give(self, member_id: int, points: int, *, on: date = date(2025, 1, 10)) -> None:
        self.events_sent += 1
        event = activity(f"a{self.events_sent}", member_id=member_id, points=points, on=on)
        assert [r["status"] for r in self.events([event])] == ["applied"]

    def activity_points(self, member_id: int) -> int:
        return self.get(f"/v1/members/{member_id}", role="operator").json()["balances"]["activity"]

    def product(self, sku: str, *, status: int = 201, **fields: Any) -> dict[str, Any]:
        body = {"sku": sku, "name": f"Product {sku}", "price_points": 100, "stock": 10, **fields}
        response = self.post("/v1/mall/products", body)
        assert response.status_code == status, response.text
        return response.json()

    def order(
        self, order_id: str, member_id: int, sku: str, quantity: int = 1, role: str = "integrator"
    ) -> httpx2.Response:
        body = {"id": order_id, "member_id": member_id, "sku": sku, "quantity": quantity}
        return self.post("/v1/mall/orders", body, role=role)

    def bought(self, order_id: str, member_id: int, sku: str, quantity: int = 1) -> dict[str, Any]:
        response = self.order(order_id, member_id, sku, quantity)
        assert response.status_code == 201, response.text
        return response.json()

    def cancel(self, order_id: str, step: str, role: str = "operator") -> httpx2.Response:
        return self.post(f"/v1/mall/orders/{order_id}/cancel", {"id": step}, role=role)

    def stock(self, sku: str) -> int:
        with self.engine.connect() as connection:
            query = select(mall_products.c.stock).where(mall_products.c.sku == sku)
            return connection.execute(query).scalar_one()

    def lots(self, member_id: int) -> list[int]:
        with self.engine.connect() as connection:
            query = (
                select(lots.c.remaining).where(lots.c.member_id == member_id).order_by(lots.c.id)
            )
            return list(connection.execute(query).scalars())

    def account_total(self, account: str) -> int:
        with self.engine.connect() as connection:
            query = select(func.coalesce(func.sum(ledger_entries.c.points), 0)).where(
                ledger_entries.c.account == account
            )
            return connection.execute(query).scalar_one()

    def webhook(
        self,
        body: Any,
        *,
        at: datetime | None = None,
        secret: str = SECRET,
        signature: str | None = None,
    ) -> httpx2.Response:
        """The warehouse's signed report, signed at `at` (real time now unless told)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        timestamp = str(int((at or Clock().real_now()).timestamp()))
        headers = {
            "Content-Type": "application/json",
            "X-Jifen-Timestamp": timestamp,
            "X-Jifen-Signature": signature or sign(secret, timestamp, raw),
        }
        return self.request(
            "POST", "/v1/mall/webhooks/warehouse", role=None, content=raw, headers=headers
        )

    def set_status(self, member_id: int, status: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(members).where(members.c.id == member_id).values(status=status)
            )

    def ledger_ok(self) -> None:
        report = check_ledger(SqlUnitOfWork(self.engine))
        assert report.ok, report.violations


@pytest.fixture
def shop(
    api: Api, engine: Engine, vault_keys: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Mall]:
    """The mall at NOW, with the warehouse secret set; the ledger checks out at the end."""
    monkeypatch.setenv(WAREHOUSE_SECRET_ENV, SECRET)
    mall = Mall(api, engine, vault_keys)
    mall.at(NOW)
    yield mall
    mall.ledger_ok()


class TestProducts:
    def test_admin_creates_then_replaces_a_product_by_sku(self, shop: Mall):
        created = shop.product(
            "TEA",
            price_points=500,
            cash_fen=990,
            stock=5,
            per_member_limit=2,
            sale_starts_at=local(2025, 2, 1, 10),
            sale_ends_at=local(2025, 2, 1, 12),
        )
        assert created == {
            "sku": "TEA",
            "name": "Product TEA",
            "kind": "goods",
            "price_points": 500,
            "cash_fen": 990,
            "stock": 5,
            "per_member_limit": 2,
            "sale_starts_at": local(2025, 2, 1, 10),
            "sale_ends_at": local(2025, 2, 1, 12),
            "coupon_valid_days": None,
            "active": True,
        }
        replaced = shop.product("TEA", status=200, price_points=400, stock=50)
        assert (replaced["price_points"], replaced["stock"]) == (400, 50)
        assert replaced["per_member_limit"] is None  # every field is replaced
        assert replaced["sale_starts_at"] is None

    def test_creating_and_replacing_a_product_is_in_the_audit_log(self, shop: Mall):
        shop.product("TEA", price_points=500, stock=5)
        shop.product("TEA", status=200, price_points=400, stock=50)
        rows = shop.get("/v1/audit", params={"subject": "product:TEA"}).json()["items"]
        changes = sorted((r["action"], r["details"]["price_points"]) for r in rows)
        assert changes == [("product.changed", 400), ("product.created", 500)]

    def test_everyone_reads_active_products_only_admin_writes(self, shop: Mall):
        shop.product("A", stock=3, sale_starts_at=local(2025, 2, 2, 20))
        shop.product("B", stock=0)
        shop.product("GONE", active=False)
        for role in ("operator", "integrator", "analyst", "partner"):
            listed = shop.get("/v1/mall/products", role=role)
            assert listed.status_code == 200
            items = listed.json()["items"]
            assert [(p["sku"], p["stock"]) for p in items] == [("A", 3), ("B", 0)]
            assert items[0]["sale_starts_at"] == local(2025, 2, 2, 20)
            body = {"sku": "X", "name": "x", "price_points": 1, "stock": 1}
            shop.refused(shop.post("/v1/mall/products", body, role=role), 403, "forbidden")

    @pytest.mark.parametrize(
        "fields",
        [
            {"kind": "coupon"},  # a coupon needs its validity
            {"coupon_valid_days": 30},  # goods have none
            {"sale_starts_at": local(2025, 2, 2), "sale_ends_at": local(2025, 2, 1)},
        ],
    )
    def test_a_product_that_makes_no_sense_is_refused(self, shop: Mall, fields: dict[str, Any]):
        body = {"sku": "BAD", "name": "bad", "price_points": 1, "stock": 1, **fields}
        shop.refused(shop.post("/v1/mall/products", body), 422, "invalid_request")

    @pytest.mark.parametrize(
        "fields", [{"stock": -1}, {"price_points": -5}, {"sku": "no spaces"}, {"kind": "car"}]
    )
    def test_malformed_products_are_validation_errors(self, shop: Mall, fields: dict[str, Any]):
        body = {"sku": "BAD", "name": "bad", "price_points": 1, "stock": 1, **fields}
        shop.refused(shop.post("/v1/mall/products", body), 422, "validation_error")


class TestOrders:
    def test_an_order_charges_price_times_quantity_once(self, shop: Mall):
        member = shop.member(1000)
        shop.product("MUG", price_points=120, cash_fen=500, stock=10)

        placed = shop.bought("o-1", member, "MUG", 3)

        assert placed["order_id"] == "o-1"
        assert (placed["points"], placed["status"], placed["cash_fen"]) == (360, "paid", 1500)
        assert shop.activity_points(member) == 640
        assert shop.stock("MUG") == 7
        again = shop.order("o-1", member, "MUG", 3)
        assert again.status_code == 201
        assert again.json() == placed
        shop.refused(shop.order("o-1", member, "MUG", 2), 409, "idempotency_conflict")
        assert shop.activity_points(member) == 640
        assert shop.stock("MUG") == 7
        assert shop.account_total("program:redeemed") == 360
        assert shop.get("/v1/mall/orders/o-1", role="operator").json() == placed

    def test_orders_are_for_integrators_and_operators(self, shop: Mall):
        member = shop.member(1000)
        shop.product("MUG")
        assert shop.order("by-operator", member, "MUG", role="operator").status_code == 201
        for role in ("analyst", "partner"):
            shop.refused(shop.order(f"by-{role}", member, "MUG", role=role), 403, "forbidden")
            response = shop.get("/v1/mall/orders/by-operator", role=role)
            shop.refused(response, 403, "forbidden")
        shop.refused(shop.order("nothing", member, "NOPE"), 404, "not_found")
        shop.refused(shop.order("nobody", 999_999, "MUG"), 404, "not_found")
        shop.refused(shop.get("/v1/mall/orders/unknown"), 404, "not_found")

    def test_a_flash_sale_sells_only_inside_its_window(self, shop: Mall):
        member = shop.member(1000)
        shop.product(
            "FLASH",
            stock=5,
            sale_starts_at=local(2025, 2, 1, 20),
            sale_ends_at=local(2025, 2, 1, 20, 30),
        )
        error = shop.refused(shop.order("early", member, "FLASH"), 409, "sale_not_open")
        assert error["details"]["sale_starts_at"] == local(2025, 2, 1, 20)
        shop.at(datetime(2025, 2, 1, 20, 0, tzinfo=SHANGHAI))
        assert shop.order("on-time", member, "FLASH").status_code == 201
        shop.at(datetime(2025, 2, 1, 20, 30, tzinfo=SHANGHAI))
        shop.refused(shop.order("late", member, "FLASH"), 409, "sale_not_open")
        assert shop.stock("FLASH") == 4
        assert shop.activity_points(member) == 900

    def test_stock_limit_and_points_are_each_enforced(self, shop: Mall):
        rich, poor = shop.member(5000), shop.member(150)
        shop.product("FEW", stock=4, per_member_limit=2)

        error = shop.refused(shop.order("too-many", rich, "FEW", 5), 409, "out_of_stock")
        assert error["details"]["left"] == 4
        shop.bought("two", rich, "FEW", 2)
        error = shop.refused(shop.order("third", rich, "FEW"), 409, "limit_reached")
        assert (error["details"]["limit"], error["details"]["bought"]) == (2, 2)
        error = shop.refused(shop.order("poor-2", poor, "FEW", 2), 409, "insufficient_points")
        assert error["details"]["needed"] == 200
        shop.bought("poor-1", poor, "FEW")
        shop.refused(shop.order("poor-more", poor, "FEW", 2), 409, "out_of_stock")
        assert shop.stock("FEW") == 1
        assert (shop.activity_points(rich), shop.activity_points(poor)) == (4800, 50)

    def test_checks_run_window_then_stock_then_limit_then_points(self, shop: Mall):
        broke = shop.member()
        member = shop.member(100)
        shop.product("CLOSED", stock=0, sale_ends_at=local(2025, 1, 31))
        shop.refused(shop.order("c", broke, "CLOSED"), 409, "sale_not_open")
        shop.product("EMPTY", stock=0, per_member_limit=1)
        shop.refused(shop.order("e", broke, "EMPTY"), 409, "out_of_stock")
        shop.product("LIMITED", stock=5, per_member_limit=1)
        shop.bought("l1", member, "LIMITED")
        shop.refused(shop.order("l2", member, "LIMITED"), 409, "limit_reached")  # and no points
        shop.refused(shop.order("b", broke, "LIMITED"), 409, "insufficient_points")
        assert shop.stock("LIMITED") == 4


def test_a_frozen_or_closed_member_can_neither_buy_nor_give(shop: Mall):
    member = shop.member(1000)
    shop.product("MUG")
    shop.product("VOUCHER", kind="coupon", coupon_valid_days=30)
    shop.bought("before", member, "MUG")
    shop.bought("before-2", member, "MUG")
    [coupon] = shop.bought("voucher", member, "VOUCHER")["coupons"]
    shop.set_status(member, "frozen")
    not_active = 409  # docs/api.md: a member who is not active conflicts with the request

    shop.refused(shop.order("frozen", member, "MUG"), not_active, "member_not_active")
    give = {"id": "d", "charity": "red_cross", "points": 10}
    donation = shop.post(f"/v1/members/{member}/donations", give)
    shop.refused(donation, not_active, "member_not_active")
    used = shop.post(f"/v1/coupons/{coupon['code']}/redeem", {"id": "r"})
    shop.refused(used, not_active, "member_not_active")
    grant = {"id": "g", "type": "tea", "valid_days": 7}
    granted = shop.post(f"/v1/members/{member}/coupons", grant)
    shop.refused(granted, not_active, "member_not_active")
    assert shop.cancel("before", "c").json()["status"] == "refunded"  # the balance is kept
    assert shop.activity_points(member) == 800
    shop.set_status(member, "closed")
    shop.refused(shop.order("closed", member, "MUG"), not_active, "member_not_active")
    shop.refused(shop.cancel("before-2", "c2"), not_active, "member_not_active")
    assert shop.stock("MUG") == 9


def test_control_characters_in_paths_are_refused_not_stored(shop: Mall):
    shop.refused(shop.get("/v1/mall/orders/a%00b"), 422, "validation_error")
    cancel = shop.post("/v1/mall/orders/a%00b/cancel", {"id": "c"})
    shop.refused(cancel, 422, "validation_error")
    redeem = shop.post("/v1/coupons/AB%00CD/redeem", {"id": "r"})
    shop.refused(redeem, 422, "validation_error")
    order = {"id": "a\x00b", "member_id": 1, "sku": "MUG", "quantity": 1}
    shop.refused(shop.post("/v1/mall/orders", order), 422, "validation_error")


class TestCancel:
    def test_cancel_returns_points_to_the_same_lots_and_stock_to_sale(self, shop: Mall):
        member = shop.member(100, on=date(2025, 1, 10))
        shop.give(member, 100, on=date(2025, 1, 20))
        shop.product("LAMP", price_points=75, stock=4, per_member_limit=2)
        shop.bought("lamps", member, "LAMP", 2)
        assert shop.lots(member) == [0, 50]  # oldest expiry first
        assert shop.stock("LAMP") == 2

        shop.at(NOW + timedelta(days=1))
        cancelled = shop.cancel("lamps", "cancel-1")

        assert cancelled.status_code == 200, cancelled.text
        order = cancelled.json()
        assert order["status"] == "refunded"
        assert order["fulfilment"]["cancel"]["id"] == "cancel-1"
        assert shop.lots(member) == [100, 100]
        assert shop.activity_points(member) == 200
        assert shop.stock("LAMP") == 4
        assert shop.account_total("program:redeemed") == 0
        again = shop.cancel("lamps", "cancel-1", role="integrator")
        assert again.json() == order
        assert shop.lots(member) == [100, 100]
        shop.bought("lamps-again", member, "LAMP", 2)  # refunded orders leave the limit

    def test_only_a_paid_order_can_be_cancelled(self, shop: Mall):
        member = shop.member(1000)
        shop.product("BOX")
        shop.bought("shipped", member, "BOX")
        assert shop.webhook({"order_id": "shipped", "status": "shipped"}).status_code == 200
        error = shop.refused(shop.cancel("shipped", "c"), 409, "order_not_cancellable")
        assert error["details"]["status"] == "fulfilled"
        shop.refused(shop.cancel("unknown", "c"), 404, "not_found")
        shop.refused(shop.cancel("shipped", "c", role="analyst"), 403, "forbidden")
        assert shop.activity_points(member) == 900


class TestWarehouse:
    def test_paid_orders_are_posted_to_the_warehouse(self, shop: Mall):
        member = shop.member(1000)
        shop.product("BOX")
        fulfilment = shop.bought("o-box", member, "BOX", 2)["fulfilment"]
        assert fulfilment["warehouse"]["adapter"] == "in_process"
        assert fulfilment["warehouse"]["request"] == {
            "order_id": "o-box",
            "member_id": member,
            "sku": "BOX",
            "quantity": 2,
        }

    def test_signed_reports_fulfil_the_order(self, shop: Mall):
        member = shop.member(1000)
        shop.product("BOX")
        shop.bought("o-box", member, "BOX")
        report = {"order_id": "o-box", "status": "shipped", "tracking": "SF123"}

        shipped = shop.webhook(report, at=Clock().real_now() - timedelta(minutes=4))

        assert shipped.status_code == 200, shipped.text
        assert shipped.json()["status"] == "fulfilled"
        assert shipped.json()["fulfilment"]["tracking"] == "SF123"
        assert shop.webhook(report).json() == shipped.json()  # a resend changes nothing
        delivered = shop.webhook({"order_id": "o-box", "status": "delivered"}).json()
        assert [r["status"] for r in delivered["fulfilment"]["reports"]] == ["shipped", "delivered"]
        assert delivered["status"] == "fulfilled"

    def test_bad_or_stale_signatures_are_refused(self, shop: Mall):
        member = shop.member(1000)
        shop.product("BOX")
        shop.bought("o-box", member, "BOX")
        report = {"order_id": "o-box", "status": "shipped"}

        guessed = shop.webhook(report, secret="guess")  # noqa: S106 - a wrong secret
        shop.refused(guessed, 401, "bad_signature")
        shop.refused(shop.webhook(report, signature="0" * 64), 401, "bad_signature")
        response = shop.request(
            "POST", "/v1/mall/webhooks/warehouse", role=None, content=json.dumps(report).encode()
        )
        shop.refused(response, 401, "bad_signature")
        signed = Clock().real_now()  # the window is real time, whatever the sandbox's clock
        stale = shop.webhook(report, at=signed - timedelta(minutes=6))
        shop.refused(stale, 401, "signature_expired")
        early = shop.webhook(report, at=signed + timedelta(minutes=6))
        shop.refused(early, 401, "signature_expired")
        assert shop.get("/v1/mall/orders/o-box").json()["status"] == "paid"

    def test_the_secret_has_an_embedded_default(self, shop: Mall, monkeypatch: pytest.MonkeyPatch):
        member = shop.member(1000)
        shop.product("BOX")
        shop.bought("o-box", member, "BOX")
        monkeypatch.delenv(WAREHOUSE_SECRET_ENV)
        report = {"order_id": "o-box", "status": "shipped"}
        shop.refused(shop.webhook(report), 401, "bad_signature")
        assert shop.webhook(report, secret=EMBEDDED_WAREHOUSE_SECRET).status_code == 200

    def test_reports_on_unknown_or_cancelled_orders_are_refused(self, shop: Mall):
        member = shop.member(1000)
        shop.product("BOX")
        shop.bought("o-box", member, "BOX")
        assert shop.cancel("o-box", "c").status_code == 200
        report = {"order_id": "o-box", "status": "shipped"}
        shop.refused(shop.webhook(report), 409, "order_cancelled")
        shop.refused(shop.webhook({"order_id": "nope", "status": "shipped"}), 404, "not_found")
        bad = shop.webhook({"order_id": "o-box", "status": "lost"})
        shop.refused(bad, 422, "validation_error")
        shop.refused(shop.webhook(b"{not json"), 400, "malformed_json")


class TestCoupons:
    def test_a_coupon_product_issues_one_code_per_unit(self, shop: Mall):
        member = shop.member(1000)
        shop.product("TEA-VOUCHER", kind="coupon", coupon_valid_days=30, price_points=50)

        placed = shop.bought("v-1", member, "TEA-VOUCHER", 3)

        assert (placed["status"], placed["points"]) == ("fulfilled", 150)
        codes = [c["code"] for c in placed["coupons"]]
        assert len(set(codes)) == 3
        assert all(len(c) == 12 and c.isalnum() and c.isupper() for c in codes)
        assert {c["valid_until"] for c in placed["coupons"]} == {"2025-03-02"}  # 30 days
        assert {c["status"] for c in placed["coupons"]} == {"active"}
        assert shop.order("v-1", member, "TEA-VOUCHER", 3).json() == placed
        held = shop.get(f"/v1/members/{member}/coupons", role="integrator").json()["items"]
        assert sorted(c["code"] for c in held) == sorted(codes)
        assert {c["source"] for c in held} == {"order:v-1"}
        shop.refused(shop.cancel("v-1", "c"), 409, "order_not_cancellable")
        assert shop.activity_points(member) == 850

    def test_a_coupon_is_used_once(self, shop: Mall):
        member = shop.member(1000)
        shop.product("VOUCHER", kind="coupon", coupon_valid_days=1)
        [coupon] = shop.bought("v", member, "VOUCHER")["coupons"]
        code = coupon["code"]

        used = shop.post(f"/v1/coupons/{code.lower()}/redeem", {"id": "pos-1"}, role="integrator")

        assert used.status_code == 200, used.text
        assert (used.json()["status"], used.json()["used_by"]) == ("used", "pos-1")
        again = shop.post(f"/v1/coupons/{code}/redeem", {"id": "pos-1"}, role="integrator")
        assert again.json() == used.json()
        other = shop.post(f"/v1/coupons/{code}/redeem", {"id": "pos-2"}, role="operator")
        shop.refused(other, 409, "coupon_used")
        unknown = shop.post("/v1/coupons/ZZZZZZZZZZZZ/redeem", {"id": "x"}, role="integrator")
        shop.refused(unknown, 404, "not_found")
        denied = shop.post(f"/v1/coupons/{code}/redeem", {"id": "x"}, role="analyst")
        shop.refused(denied, 403, "forbidden")

    def test_an_expired_coupon_is_refused(self, shop: Mall):
        member = shop.member(1000)
        shop.product("VOUCHER", kind="coupon", coupon_valid_days=2)
        [coupon] = shop.bought("v", member, "VOUCHER")["coupons"]
        assert coupon["valid_until"] == "2025-02-02"
        shop.at(datetime(2025, 2, 3, 0, 0, tzinfo=SHANGHAI))
        held = shop.get(f"/v1/members/{member}/coupons").json()["items"]
        assert [c["status"] for c in held] == ["expired"]
        response = shop.post(f"/v1/coupons/{coupon['code']}/redeem", {"id": "late"})
        error = shop.refused(response, 409, "coupon_expired")
        assert error["details"]["valid_until"] == "2025-02-02"

    def test_operators_grant_coupons_without_points(self, shop: Mall):
        member = shop.member(1000)
        body = {"id": "birthday-2025", "type": "birthday_tea", "valid_days": 7}

        granted = shop.post(f"/v1/members/{member}/coupons", body, role="operator")

        assert granted.status_code == 201, granted.text
        coupon = granted.json()
        assert (coupon["type"], coupon["valid_until"], coupon["source"]) == (
            "birthday_tea",
            "2025-02-07",
            "grant:birthday-2025",
        )
        assert shop.post(f"/v1/members/{member}/coupons", body).json() == coupon
        changed = {**body, "valid_days": 8}
        response = shop.post(f"/v1/members/{member}/coupons", changed)
        shop.refused(response, 409, "idempotency_conflict")
        denied = shop.post(f"/v1/members/{member}/coupons", body, role="integrator")
        shop.refused(denied, 403, "forbidden")
        shop.refused(shop.post("/v1/members/999999/coupons", body), 404, "not_found")
        shop.refused(shop.get("/v1/members/999999/coupons"), 404, "not_found")
        assert shop.activity_points(member) == 1000
        held = shop.get(f"/v1/members/{member}/coupons").json()["items"]
        assert [c["code"] for c in held] == [coupon["code"]]
        used = shop.post(f"/v1/coupons/{coupon['code']}/redeem", {"id": "r"}, role="integrator")
        assert used.status_code == 200


class TestDonations:
    def test_a_donation_goes_to_the_charity_account_with_a_receipt(self, shop: Mall):
        member = shop.member(1000)
        body = {"id": "give-1", "charity": "red_cross", "points": 300}

        donated = shop.post(f"/v1/members/{member}/donations", body, role="integrator")

        assert donated.status_code == 201, donated.text
        receipt = donated.json()
        assert receipt["donation_id"] == "give-1"
        assert (receipt["charity"], receipt["points"], receipt["at"]) == (
            "red_cross",
            300,
            NOW.isoformat(),
        )
        assert receipt["receipt_no"].startswith("JFD20250201")
        assert shop.account_total("charity:red_cross") == 300
        assert shop.activity_points(member) == 700
        again = shop.post(f"/v1/members/{member}/donations", body, role="operator")
        assert (again.status_code, again.json()) == (201, receipt)
        other = shop.post(f"/v1/members/{member}/donations", {**body, "points": 301})
        shop.refused(other, 409, "idempotency_conflict")
        assert shop.account_total("charity:red_cross") == 300
        with shop.engine.connect() as connection:
            query = select(ledger_transactions.c.memo).where(
                ledger_transactions.c.idempotency_key == "donation:give-1:activity"
            )
            assert connection.execute(query).scalar_one() == {
                "donation": "give-1",
                "charity": "red_cross",
            }

    def test_unknown_charities_and_short_balances_are_refused(self, shop: Mall):
        member = shop.member(100)
        path = f"/v1/members/{member}/donations"
        unknown = shop.post(path, {"id": "d1", "charity": "me", "points": 10})
        error = shop.refused(unknown, 422, "unknown_charity")
        assert error["details"]["known"] == ["railway_foundation", "red_cross"]
        too_much = shop.post(path, {"id": "d2", "charity": "railway_foundation", "points": 101})
        shop.refused(too_much, 409, "insufficient_points")
        zero = shop.post(path, {"id": "d3", "charity": "red_cross", "points": 0})
        shop.refused(zero, 422, "validation_error")
        denied = shop.post(path, {"id": "d4", "charity": "red_cross", "points": 1}, role="analyst")
        shop.refused(denied, 403, "forbidden")
        assert shop.activity_points(member) == 100
