"""A member's own API (/v1/me) over HTTP, on SQLite and PostgreSQL.

A member signs in as on the portal (a one-time link, or an SMS code) and gets a token that lasts
30 minutes from its last use and 12 hours at most; signing out ends it. The token works on
/v1/me only, an operator's key everywhere but there, and no member sees or touches another's
redemptions, orders or beneficiaries: their ids answer 404, as ids that do not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import Engine, select

from jifen.services import portal_sign_in
from jifen.services.ledger_check import check_ledger
from jifen.services.portal_sign_in import OutboxSmsSender
from jifen.storage.tables import lots
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import Api, resident_id
from tests.e2e.api.test_api_contract import Http, activity
from tests.e2e.api.test_api_redemptions import DEPARTURE, NOW, UNLOCKED, rider

START = datetime.fromisoformat(NOW)


@pytest.fixture
def http(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Iterator[Http]:
    """The API client; at the end no full ID number has leaked and the ledger adds up."""
    session = Http(api, engine, vault_keys)
    yield session
    assert not {s for s in session.secrets for body in session.bodies if s in body}
    report = check_ledger(SqlUnitOfWork(engine))
    assert report.ok, report.violations


def at(http: Http, moment: datetime) -> None:
    http.set_clock(moment.isoformat())


def sign_in(http: Http, member: int) -> str:
    """A member token from a one-time link, as `jifen portal link` makes one."""
    link = portal_sign_in.create_link(SqlUnitOfWork(http.engine), member_id=member, now=START)
    response = http.post("/v1/me/sign-in", {"link_token": link}, role=None)
    assert response.status_code == 201, response.text
    assert response.json()["member_id"] == member
    return str(response.json()["token"])


def me(http: Http, token: str, method: str, path: str, body: Any = None) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return http.request(method, f"/v1/me{path}", role=None, headers=headers, json=body)


def ticket(rid: str, **fields: Any) -> dict[str, Any]:
    """A ¥30 ticket (3,000 points) on G1 on 20 June 2025, for the member themself."""
    return {
        "id": rid,
        "fare_fen": 3000,
        "train": {"number": "G1"},
        "departure_at": DEPARTURE,
        **fields,
    }


def person(rid: str, serial: int) -> dict[str, Any]:
    return {
        "id": rid,
        "name": "李四",
        "id_type": "resident_id",
        "id_number": resident_id(date(1988, 8, 8), serial),
    }


class TestSignIn:
    def test_a_link_gives_a_token_for_the_members_own_summary_ledger_and_tiers(self, http: Http):
        member = rider(http, 701)
        token = sign_in(http, member)

        mine = me(http, token, "GET", "").json()
        assert mine["member_id"] == member
        assert mine["balances"]["ride"] == UNLOCKED
        # The same answers the operator routes give about this member.
        for own, theirs in (
            ("", ""),
            ("/ledger?limit=3", "/ledger?limit=3"),
            ("/tiers", "/tiers"),
            ("/entitlements", "/entitlements"),
            ("/redemptions", "/redemptions"),
            ("/orders", "/orders"),
            ("/beneficiaries", "/beneficiaries"),
        ):
            operator = http.get(f"/v1/members/{member}{theirs}", role="operator")
            assert me(http, token, "GET", own).json() == operator.json(), own

    def test_a_link_signs_in_once(self, http: Http):
        member = rider(http, 702)
        link = portal_sign_in.create_link(SqlUnitOfWork(http.engine), member_id=member, now=START)
        assert http.post("/v1/me/sign-in", {"link_token": link}, role=None).status_code == 201
        again = http.post("/v1/me/sign-in", {"link_token": link}, role=None)
        http.refused(again, 422, "portal_link_invalid")

    def test_an_sms_code_gives_a_token_and_an_unknown_phone_looks_the_same(self, http: Http):
        member = rider(http, 703)
        outbox = OutboxSmsSender()
        http.api.client.app.state.portal_sms = outbox  # type: ignore[attr-defined]

        asked = http.post("/v1/me/sign-in/code", {"phone": "13900000703"}, role=None).json()
        nobody = http.post("/v1/me/sign-in/code", {"phone": "13900000999"}, role=None).json()
        assert set(asked) == set(nobody) == {"challenge_id", "masked_phone"}
        assert "13900000703" not in asked["masked_phone"]

        [(_, text)] = outbox.sent
        code = re.findall(r"\d{6}", text)[0]
        wrong = {"challenge_id": nobody["challenge_id"], "code": code}
        http.refused(http.post("/v1/me/sign-in", wrong, role=None), 422, "portal_code_invalid")
        right = {"challenge_id": asked["challenge_id"], "code": code}
        signed = http.post("/v1/me/sign-in", right, role=None)
        assert signed.status_code == 201, signed.text
        token = signed.json()["token"]
        assert me(http, token, "GET", "").json()["member_id"] == member

    def test_a_sign_in_takes_a_code_or_a_link_not_both(self, http: Http):
        for body in ({}, {"challenge_id": 1}, {"challenge_id": 1, "code": "1", "link_token": "x"}):
            http.refused(http.post("/v1/me/sign-in", body, role=None), 422, "validation_error")


class TestTokenLifecycle:
    def test_an_unused_token_expires_after_thirty_minutes(self, http: Http):
        token = sign_in(http, rider(http, 711))
        at(http, START + timedelta(minutes=29))
        assert me(http, token, "GET", "").status_code == 200
        at(http, START + timedelta(minutes=29 + 30))
        http.refused(me(http, token, "GET", ""), 401, "member_token_invalid")

    def test_each_use_slides_the_expiry_but_never_past_twelve_hours(self, http: Http):
        token = sign_in(http, rider(http, 712))
        moment = START
        while moment + timedelta(minutes=25) < START + timedelta(hours=12):
            moment += timedelta(minutes=25)
            at(http, moment)
            assert me(http, token, "GET", "").status_code == 200, moment
        at(http, START + timedelta(hours=12))
        http.refused(me(http, token, "GET", ""), 401, "member_token_invalid")

    def test_signing_out_revokes_the_token_at_once_and_only_that_one(self, http: Http):
        member = rider(http, 713)
        phone, laptop = sign_in(http, member), sign_in(http, member)
        assert me(http, phone, "POST", "/sign-out").status_code == 204
        http.refused(me(http, phone, "GET", ""), 401, "member_token_invalid")
        http.refused(me(http, phone, "POST", "/sign-out"), 401, "member_token_invalid")
        assert me(http, laptop, "GET", "").status_code == 200

    def test_a_closed_members_token_signs_in_nothing(self, http: Http):
        member = rider(http, 714)
        token = sign_in(http, member)
        closed = http.post(f"/v1/members/{member}/close", {"reason": "Left"}, role="operator")
        assert closed.status_code == 200, closed.text
        http.refused(me(http, token, "GET", ""), 401, "member_token_invalid")

    def test_operator_keys_and_member_tokens_each_work_only_on_their_own_routes(self, http: Http):
        member = rider(http, 715)
        token = sign_in(http, member)
        for role in ("admin", "operator", "integrator"):
            http.refused(http.get("/v1/me", role=role), 401, "member_token_invalid")
        http.refused(http.get("/v1/me", role=None), 401, "member_token_invalid")
        headers = {"Authorization": f"Bearer {token}"}
        for path in (f"/v1/members/{member}", f"/v1/members/{member}/ledger", "/v1/clock"):
            response = http.get(path, role=None, headers=headers)
            http.refused(response, 401, "unauthorized")
        for garbage in ("jm_", "jm_nothing", token + "x", token.upper()):
            bad = http.get("/v1/me", role=None, headers={"Authorization": f"Bearer {garbage}"})
            http.refused(bad, 401, "member_token_invalid")


class TestOwnRedemptionsOrdersBeneficiaries:
    def test_a_member_redeems_a_ticket_for_themself_once_per_id(self, http: Http):
        member = rider(http, 721)
        token = sign_in(http, member)
        first = me(http, token, "POST", "/redemptions", ticket("trip-1"))
        assert first.status_code == 201, first.text
        assert first.json()["points"] == 3000
        assert first.json()["status"] == "held"
        again = me(http, token, "POST", "/redemptions", ticket("trip-1"))
        assert again.json() == first.json()
        http.refused(
            me(http, token, "POST", "/redemptions", ticket("trip-1", fare_fen=4000)),
            409,
            "idempotency_conflict",
        )
        assert me(http, token, "GET", "").json()["balances"]["ride"] == UNLOCKED - 3000
        rid = first.json()["redemption_id"]
        shown = me(http, token, "GET", f"/redemptions/{rid}").json()
        assert shown["member_id"] == member
        assert shown["passenger"] == {"member_id": member, "beneficiary_id": None}
        listed = me(http, token, "GET", "/redemptions").json()["items"]
        assert [r["redemption_id"] for r in listed] == [rid]

    def test_the_member_is_the_tokens_never_the_bodys(self, http: Http):
        member, other = rider(http, 722), rider(http, 723)
        token = sign_in(http, member)
        body = ticket("trip-x", member_id=other)
        http.refused(me(http, token, "POST", "/redemptions", body), 422, "validation_error")
        body = {"id": "o-x", "member_id": other, "sku": "MUG", "quantity": 1}
        http.refused(me(http, token, "POST", "/orders", body), 422, "validation_error")

    def test_a_member_names_a_beneficiary_and_redeems_for_them_once_effective(self, http: Http):
        member = rider(http, 724)
        token = sign_in(http, member)
        named = me(http, token, "POST", "/beneficiaries", person("ben-1", 31))
        assert named.status_code == 201, named.text
        bid = named.json()["beneficiary_id"]
        early = me(http, token, "POST", "/redemptions", ticket("for-li", beneficiary_id=bid))
        http.refused(early, 409, "beneficiary_not_effective")

        later = START + timedelta(days=61)
        at(http, later)
        token = sign_in_at(http, member, later)
        body = ticket(
            "for-li", beneficiary_id=bid, departure_at=(later + timedelta(days=5)).isoformat()
        )
        held = me(http, token, "POST", "/redemptions", body)
        assert held.status_code == 201, held.text
        rid = held.json()["redemption_id"]
        shown = me(http, token, "GET", f"/redemptions/{rid}").json()
        assert shown["passenger"] == {"member_id": None, "beneficiary_id": bid}

        gone = me(http, token, "DELETE", f"/beneficiaries/{bid}")
        assert gone.json()["status"] == "removed"
        assert me(http, token, "GET", "/beneficiaries").json()["items"] == []

    def test_a_member_buys_in_the_mall(self, http: Http):
        member = rider(http, 725)
        http.events([activity("a-725", member_id=member, points=500, on=date(2025, 5, 20))])
        product = {"sku": "MUG", "name": "Mug", "price_points": 200, "stock": 5}
        assert http.post("/v1/mall/products", product).status_code == 201
        token = sign_in(http, member)
        order = {"id": "o-1", "sku": "MUG", "quantity": 2}
        placed = me(http, token, "POST", "/orders", order)
        assert placed.status_code == 201, placed.text
        assert placed.json()["points"] == 400
        assert me(http, token, "POST", "/orders", order).json() == placed.json()
        oid = placed.json()["order_id"]
        assert me(http, token, "GET", f"/orders/{oid}").json() == placed.json()
        assert me(http, token, "GET", "").json()["balances"]["activity"] == 100

    def test_a_member_cancels_their_paid_order_and_gets_the_same_lots_back(self, http: Http):
        member = rider(http, 726)
        http.events([activity("a-726", member_id=member, points=500, on=date(2025, 5, 20))])
        product = {"sku": "CUP", "name": "Cup", "price_points": 200, "stock": 5}
        assert http.post("/v1/mall/products", product).status_code == 201
        token = sign_in(http, member)
        lots_before = member_lots(http.engine, member)
        oid = me(http, token, "POST", "/orders", {"id": "o-1", "sku": "CUP", "quantity": 2})
        oid = oid.json()["order_id"]

        cancelled = me(http, token, "POST", f"/orders/{oid}/cancel", {"id": "c-1"})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "refunded"
        assert me(http, token, "GET", "").json()["balances"]["activity"] == 500
        assert member_lots(http.engine, member) == lots_before  # the very lots, not a new one
        [cup] = [p for p in http.get("/v1/mall/products").json()["items"] if p["sku"] == "CUP"]
        assert cup["stock"] == 5
        again = me(http, token, "POST", f"/orders/{oid}/cancel", {"id": "c-1"})
        assert (again.status_code, again.json()) == (200, cancelled.json())
        assert me(http, token, "GET", "").json()["balances"]["activity"] == 500

    def test_a_fulfilled_order_is_not_cancelled(self, http: Http):
        member = rider(http, 727)
        http.events([activity("a-727", member_id=member, points=500, on=date(2025, 5, 20))])
        voucher = {
            "sku": "TEA-V",
            "name": "Tea voucher",
            "price_points": 100,
            "stock": 5,
            "kind": "coupon",
            "coupon_valid_days": 30,
        }
        assert http.post("/v1/mall/products", voucher).status_code == 201
        token = sign_in(http, member)
        placed = me(http, token, "POST", "/orders", {"id": "v-1", "sku": "TEA-V", "quantity": 1})
        assert placed.json()["status"] == "fulfilled"  # a coupon order is fulfilled at once
        oid = placed.json()["order_id"]
        refused = me(http, token, "POST", f"/orders/{oid}/cancel", {"id": "c-1"})
        http.refused(refused, 409, "order_not_cancellable")
        assert me(http, token, "GET", "").json()["balances"]["activity"] == 400

    def test_an_order_paid_partly_in_cash_is_left_to_customer_service(self, http: Http):
        member = rider(http, 728)
        http.events([activity("a-728", member_id=member, points=500, on=date(2025, 5, 20))])
        mixed = {"sku": "BAG", "name": "Bag", "price_points": 100, "cash_fen": 2000, "stock": 5}
        assert http.post("/v1/mall/products", mixed).status_code == 201
        token = sign_in(http, member)
        placed = me(http, token, "POST", "/orders", {"id": "b-1", "sku": "BAG", "quantity": 1})
        oid = placed.json()["order_id"]
        refused = me(http, token, "POST", f"/orders/{oid}/cancel", {"id": "c-1"})
        assert http.refused(refused, 409, "order_not_cancellable")["details"]["cash_fen"] == 2000
        assert me(http, token, "GET", f"/orders/{oid}").json()["status"] == "paid"
        assert me(http, token, "GET", "").json()["balances"]["activity"] == 400
        # Customer service, who can refund the cash too, still cancels it.
        assert http.post(f"/v1/mall/orders/{oid}/cancel", {"id": "cs-1"}).status_code == 200
        assert me(http, token, "GET", "").json()["balances"]["activity"] == 500

    def test_no_member_reads_or_touches_anothers(self, http: Http):
        alice, bob = rider(http, 731), rider(http, 732)
        http.events([activity("a-731", member_id=alice, points=500, on=date(2025, 5, 20))])
        product = {"sku": "TEA", "name": "Tea", "price_points": 100, "stock": 5}
        assert http.post("/v1/mall/products", product).status_code == 201
        a, b = sign_in(http, alice), sign_in(http, bob)
        rid = me(http, a, "POST", "/redemptions", ticket("same-id")).json()["redemption_id"]
        oid = me(http, a, "POST", "/orders", {"id": "o-a", "sku": "TEA", "quantity": 1})
        oid = oid.json()["order_id"]
        bid = me(http, a, "POST", "/beneficiaries", person("b-a", 41)).json()["beneficiary_id"]

        http.refused(me(http, b, "GET", f"/redemptions/{rid}"), 404, "not_found")
        http.refused(me(http, b, "GET", f"/orders/{oid}"), 404, "not_found")
        unknown = me(http, b, "POST", "/orders/m0-none/cancel", {"id": "c-b"})
        alices = me(http, b, "POST", f"/orders/{oid}/cancel", {"id": "c-b"})
        theirs = http.refused(alices, 404, "not_found")
        none = http.refused(unknown, 404, "not_found")
        assert theirs["message"].replace(oid, "?") == none["message"].replace("m0-none", "?")
        http.refused(me(http, b, "DELETE", f"/beneficiaries/{bid}"), 404, "not_found")
        for_alices = ticket("x", beneficiary_id=bid)
        http.refused(me(http, b, "POST", "/redemptions", for_alices), 404, "not_found")
        # Bob's ids are his own: the id Alice used is no conflict, and no clue.
        bobs = me(http, b, "POST", "/redemptions", ticket("same-id", fare_fen=5000))
        assert bobs.status_code == 201, bobs.text
        assert bobs.json()["redemption_id"] != rid
        for path in ("/redemptions", "/orders", "/beneficiaries"):
            items = me(http, b, "GET", path).json()["items"]
            assert all(i.get("member_id", bob) == bob for i in items), path
        assert [i["redemption_id"] for i in me(http, b, "GET", "/redemptions").json()["items"]] == [
            bobs.json()["redemption_id"]
        ]
        assert me(http, b, "GET", "/orders").json()["items"] == []
        assert me(http, b, "GET", "/beneficiaries").json()["items"] == []
        # Alice's things stand as she left them.
        assert me(http, a, "GET", f"/orders/{oid}").json()["status"] == "paid"
        assert me(http, a, "GET", "/beneficiaries").json()["items"][0]["status"] != "removed"
        assert me(http, a, "GET", f"/redemptions/{rid}").json()["points"] == 3000


def member_lots(engine: Engine, member: int) -> list[tuple[Any, ...]]:
    """The member's lots as stored: id, kind, expiry and what is left of each."""
    c = lots.c
    query = select(c.id, c.kind, c.expires_on, c.remaining).where(c.member_id == member)
    with engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(query.order_by(c.id)))


def sign_in_at(http: Http, member: int, moment: datetime) -> str:
    link = portal_sign_in.create_link(SqlUnitOfWork(http.engine), member_id=member, now=moment)
    response = http.post("/v1/me/sign-in", {"link_token": link}, role=None)
    assert response.status_code == 201, response.text
    return str(response.json()["token"])
