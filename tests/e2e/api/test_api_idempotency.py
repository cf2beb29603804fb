"""Every write that takes a caller's `id` is idempotent by it, on SQLite and PostgreSQL (SPEC §12).

For each endpoint: the same `id` with the same request gives the first answer again (status and
body) and changes nothing more; the same `id` with another request is 409 `idempotency_conflict`
and changes nothing. "Changes nothing" is checked on the database itself: the row count of every
table and every member's balances, before and after.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from jifen.domain.calendar import period_end
from jifen.domain.tiers import TierChangeReason, TierDecision, TierState
from jifen.programs.loader import load_preset
from jifen.services.entitlements import issue_due
from jifen.services.keys import create_key
from jifen.services.ledger_check import check_ledger
from jifen.services.portal_sign_in import create_link
from jifen.storage.tables import (
    adjustments,
    balances,
    coupons,
    mall_orders,
    mall_products,
    metadata,
    redemptions,
)
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, Api, resident_id
from tests.e2e.api.test_api_contract import Http, activity, local
from tests.e2e.api.test_api_redemptions import DEPARTURE, NOW, RIDE_DAYS, ticket_body

PARTNER = {
    "code": "hotel",
    "name": "Jinjiang Hotels",
    "point_kind": "activity",
    "max_points_per_award": 5000,
    "max_points_per_member_day": 8000,
    "max_points_per_month": 20000,
    "price_per_1000_points_fen": 7500,
    "exchange": {"miles": 10, "points": 7},
    "min_miles": 100,
}
CAMPAIGN = {
    "id": "idem-campaign",
    "name": "高铁周末加成",
    "starts_at": "2025-06-01T00:00:00+08:00",
    "ends_at": "2025-07-01T00:00:00+08:00",
    "budget_points": 2_000,
    "effect": {"kind": "ride", "percent": 50},
    "target": {"trains": ["G"]},
    "control_percent": 0,
}


@dataclass
class World:
    """Two members (the first rode four trips and holds activity points), a partner, a product."""

    http: Http
    member: int = 0
    other: int = 0
    ctx: dict[str, Any] = field(default_factory=dict)

    def ok(self, path: str, body: Any, role: str = "admin") -> dict[str, Any]:
        response = self.http.post(path, body, role=role)
        assert response.status_code < 300, response.text
        return response.json()


@pytest.fixture
def world(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Iterator[World]:
    http = Http(api, engine, vault_keys)
    http.set_clock(local(2025, 5, 1))
    w = World(http, http.enrol(serial=701), http.enrol(serial=702))
    http.set_clock(NOW)
    http.ride(w.member, *RIDE_DAYS)
    http.events([activity("idem-a0", member_id=w.member, points=5000, on=date(2025, 5, 20))])
    w.ok("/v1/partners", PARTNER)
    key = create_key(
        SqlUnitOfWork(engine), role="partner", label="hotel", now=T0, partner_code="hotel"
    )
    api.keys["hotel"] = key.token
    w.ok("/v1/mall/products", {"sku": "idem-p", "name": "Mug", "price_points": 100, "stock": 10})
    yield w
    assert check_ledger(SqlUnitOfWork(engine)).ok


def snapshot(engine: Engine) -> dict[str, Any]:
    """What a second effect would change: every table's row count, every balance, and how many
    adjustments, redemptions and orders stand in each status, how many coupons were used and
    what stock each product has left."""
    with engine.connect() as connection:
        counts = {
            t.name: connection.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }
        b = balances.c
        held = connection.execute(select(b.member_id, b.kind, b.available, b.pending)).all()
        statuses = {
            t.name: sorted(
                tuple(r)
                for r in connection.execute(select(t.c.status, func.count()).group_by(t.c.status))
            )
            for t in (adjustments, redemptions, mall_orders)
        }
        used = select(func.count()).where(coupons.c.used_at.is_not(None))
        statuses["coupons_used"] = connection.execute(used).scalar_one()
        stock = select(mall_products.c.sku, mall_products.c.stock).order_by(mall_products.c.sku)
        statuses["stock"] = [tuple(row) for row in connection.execute(stock)]
    return {"counts": counts, "balances": sorted(tuple(r) for r in held), "statuses": statuses}


Body = Callable[[World], dict[str, Any]]
Prepare = Callable[[World], None]


@dataclass(frozen=True)
class Case:
    """One write endpoint: its path, a request, and another request under the same `id`.

    `other_path` is where the other request goes when it differs from the first only by its
    target (a step id used for another step of the same redemption). `other` is None where the
    body holds nothing but the id and the id is scoped to its target (see the test's note).
    """

    name: str
    path: str
    first: Body
    other: Body | None
    role: str = "admin"
    other_path: str | None = None
    prepare: Prepare = lambda w: None


def hold(rid: str) -> Prepare:
    def prepare(w: World) -> None:
        w.ok("/v1/redemptions", ticket_body(rid, w.member), role="integrator")

    return prepare


def held_and_committed(rid: str) -> Prepare:
    def prepare(w: World) -> None:
        hold(rid)(w)
        w.ok(f"/v1/redemptions/{rid}/commit", {"id": f"{rid}-commit"}, role="operator")

    return prepare


def ordered(order_id: str) -> Prepare:
    def prepare(w: World) -> None:
        body = {"id": order_id, "member_id": w.member, "sku": "idem-p", "quantity": 1}
        w.ok("/v1/mall/orders", body, role="integrator")

    return prepare


def another_product(w: World) -> None:
    w.ok("/v1/mall/products", {"sku": "idem-q", "name": "Cup", "price_points": 50, "stock": 1})


def granted(w: World) -> None:
    coupon = w.ok(f"/v1/members/{w.member}/coupons", {"id": "g0", "type": "tea", "valid_days": 30})
    w.ctx["code"] = coupon["code"]


def pending_adjustment(adjustment_id: str) -> Prepare:
    def prepare(w: World) -> None:
        body = {"id": adjustment_id, "kind": "goodwill", "points": 20_000, "reason": "Delay"}
        w.ok(f"/v1/members/{w.member}/adjustments", body, role="operator")

    return prepare


def awarded(w: World) -> None:
    body = {"id": "aw0", "member_id": w.member, "points": 300, "reason": "1 night"}
    w.ok("/v1/partner/awards", body, role="hotel")


def beneficiary(rid: str, serial: int) -> Body:
    def body(w: World) -> dict[str, Any]:
        number = resident_id(date(1988, 8, 8), serial)
        return {"id": rid, "name": "李四", "id_type": "resident_id", "id_number": number}

    return body


def lounge_visits(w: World) -> None:
    """The member made 3★ two days before: two lounge visits, issued by the daily job's step."""
    upgraded_on = date(2025, 5, 30)
    uow = SqlUnitOfWork(w.http.engine)
    with uow:
        new = TierState("star3", period_end(upgraded_on, 12))
        old = uow.members.get(w.member).tier
        decision = TierDecision(w.member, old, new, TierChangeReason.UPGRADE, 50_000, upgraded_on)
        uow.members.apply_tier(decision)
        uow.commit()
    issue_due(uow, load_preset("railway"), upgraded_on, lambda _step, _n: None)
    [held] = w.http.get(f"/v1/members/{w.member}/entitlements").json()["items"]
    w.ctx["entitlement"] = held["entitlement_id"]


def lounge_use(location: str) -> Body:
    return lambda w: {
        "id": "use-1",
        "at": local(2025, 5, 31, 20),
        "location": location,
    }


def event_body(points: int) -> Body:
    def body(w: World) -> dict[str, Any]:
        sent = activity("idem-ev", member_id=w.member, points=points, on=date(2025, 5, 21))
        return {"events": [sent]}

    return body


def order(quantity: int) -> Body:
    return lambda w: {"id": "o1", "member_id": w.member, "sku": "idem-p", "quantity": quantity}


def program_draft(raise_by: int) -> Body:
    def body(w: World) -> dict[str, Any]:
        program = w.http.get("/v1/program", role="admin").json()["program"]
        program["earning_rules"][0]["effect"]["rate_per_yuan"] += raise_by
        return {"id": "draft-1", "yaml": json.dumps(program)}  # JSON is YAML

    return body


def signed_in(w: World) -> None:
    """The first member signs in to their own API; their token goes as the role `me`."""
    link = create_link(
        SqlUnitOfWork(w.http.engine), member_id=w.member, now=datetime.fromisoformat(NOW)
    )
    w.http.api.keys["me"] = w.ok("/v1/me/sign-in", {"link_token": link})["token"]


def signed_in_with_order(order_id: str) -> Prepare:
    """The first member signs in, and holds a paid order placed for them by an integrator."""

    def prepare(w: World) -> None:
        signed_in(w)
        ordered(order_id)(w)

    return prepare


def own_ticket(fare_fen: int) -> Body:
    return lambda w: {
        "id": "r1",
        "fare_fen": fare_fen,
        "train": {"number": "G1"},
        "departure_at": DEPARTURE,
    }


MOVED = DEPARTURE.replace("06-20", "06-21")
CASES = [
    Case(
        "own_redemption",
        "/v1/me/redemptions",
        own_ticket(3000),
        own_ticket(4000),
        role="me",
        prepare=signed_in,
    ),
    Case(
        "own_order",
        "/v1/me/orders",
        lambda w: {"id": "o1", "sku": "idem-p", "quantity": 1},
        lambda w: {"id": "o1", "sku": "idem-p", "quantity": 2},
        role="me",
        prepare=signed_in,
    ),
    Case(
        "own_order_cancel",
        "/v1/me/orders/o3/cancel",
        lambda w: {"id": "c1"},
        None,
        role="me",
        prepare=signed_in_with_order("o3"),
    ),
    Case(
        "own_beneficiary",
        "/v1/me/beneficiaries",
        beneficiary("ben-1", 11),
        beneficiary("ben-1", 12),
        role="me",
        prepare=signed_in,
    ),
    Case("event", "/v1/events", event_body(100), event_body(200), role="integrator"),
    Case(
        "beneficiary",
        "/v1/members/{member}/beneficiaries",
        beneficiary("ben-1", 1),
        beneficiary("ben-1", 2),
        role="integrator",
    ),
    Case(
        "beneficiary_of_another_member",
        "/v1/members/{member}/beneficiaries",
        beneficiary("ben-2", 3),
        beneficiary("ben-2", 3),
        role="integrator",
        other_path="/v1/members/{other}/beneficiaries",
    ),
    Case(
        "redemption",
        "/v1/redemptions",
        lambda w: ticket_body("r1", w.member),
        lambda w: ticket_body("r1", w.member, fare_fen=4000),
        role="integrator",
    ),
    Case(
        "redemption_commit",
        "/v1/redemptions/r2/commit",
        lambda w: {"id": "s1"},
        lambda w: {"id": "s1"},
        role="operator",
        other_path="/v1/redemptions/r2/release",
        prepare=hold("r2"),
    ),
    Case(
        "redemption_release",
        "/v1/redemptions/r3/release",
        lambda w: {"id": "s1"},
        lambda w: {"id": "s1"},
        role="operator",
        other_path="/v1/redemptions/r3/commit",
        prepare=hold("r3"),
    ),
    Case(
        "redemption_change",
        "/v1/redemptions/r4/change",
        lambda w: {"id": "s1", "fare_fen": 3500, "departure_at": MOVED},
        lambda w: {"id": "s1", "fare_fen": 3600, "departure_at": MOVED},
        role="operator",
        prepare=held_and_committed("r4"),
    ),
    Case(
        "redemption_cancel",
        "/v1/redemptions/r5/cancel",
        lambda w: {"id": "s1", "reason": "force_majeure"},
        lambda w: {"id": "s1", "reason": "railway_fault"},
        role="operator",
        prepare=held_and_committed("r5"),
    ),
    Case("mall_order", "/v1/mall/orders", order(1), order(2), role="integrator"),
    Case(
        "stock_adjustment",
        "/v1/mall/products/idem-p/stock",
        lambda w: {"id": "s1", "change": 5, "reason": "Delivery"},
        lambda w: {"id": "s1", "change": -5, "reason": "Delivery"},
    ),
    Case(
        "stock_adjustment_of_another_product",
        "/v1/mall/products/idem-p/stock",
        lambda w: {"id": "s2", "change": 5, "reason": "Delivery"},
        lambda w: {"id": "s2", "change": 5, "reason": "Delivery"},
        other_path="/v1/mall/products/idem-q/stock",
        prepare=another_product,
    ),
    Case(
        "mall_order_cancel",
        "/v1/mall/orders/o2/cancel",
        lambda w: {"id": "c1"},
        None,
        role="operator",
        prepare=ordered("o2"),
    ),
    Case(
        "coupon_grant",
        "/v1/members/{member}/coupons",
        lambda w: {"id": "g1", "type": "tea", "valid_days": 30},
        lambda w: {"id": "g1", "type": "tea", "valid_days": 60},
        role="operator",
    ),
    Case(
        "coupon_grant_to_another_member",
        "/v1/members/{member}/coupons",
        lambda w: {"id": "g2", "type": "tea", "valid_days": 30},
        lambda w: {"id": "g2", "type": "tea", "valid_days": 30},
        role="operator",
        other_path="/v1/members/{other}/coupons",
    ),
    Case(
        "coupon_redeem",
        "/v1/coupons/{code}/redeem",
        lambda w: {"id": "till-1"},
        None,
        role="integrator",
        prepare=granted,
    ),
    Case(
        "donation",
        "/v1/members/{member}/donations",
        lambda w: {"id": "d1", "charity": "red_cross", "points": 100},
        lambda w: {"id": "d1", "charity": "red_cross", "points": 200},
        role="integrator",
    ),
    Case(
        "adjustment",
        "/v1/members/{member}/adjustments",
        lambda w: {"id": "adj-1", "kind": "goodwill", "points": 100, "reason": "Delay"},
        lambda w: {"id": "adj-1", "kind": "goodwill", "points": 200, "reason": "Delay"},
        role="operator",
    ),
    Case(
        "adjustment_approval",
        "/v1/adjustments/adj-2/approve",
        lambda w: {"id": "ok-1", "note": "Checked"},
        lambda w: {"id": "ok-1", "note": "Checked twice"},
        prepare=pending_adjustment("adj-2"),
    ),
    Case(
        "adjustment_rejection",
        "/v1/adjustments/adj-5/reject",
        lambda w: {"id": "no-1", "note": "Not our delay"},
        lambda w: {"id": "no-1", "note": "Not our fault"},
        prepare=pending_adjustment("adj-5"),
    ),
    Case(
        "adjustment_approval_after_rejection",
        "/v1/adjustments/adj-6/reject",
        lambda w: {"id": "d-1"},
        lambda w: {"id": "d-1"},
        other_path="/v1/adjustments/adj-6/approve",
        prepare=pending_adjustment("adj-6"),
    ),
    Case(
        "campaign",
        "/v1/campaigns",
        lambda w: CAMPAIGN,
        lambda w: {**CAMPAIGN, "budget_points": 5},
        role="operator",
    ),
    Case(
        "partner_award",
        "/v1/partner/awards",
        lambda w: {"id": "aw1", "member_id": w.member, "points": 300, "reason": "1 night"},
        lambda w: {"id": "aw1", "member_id": w.member, "points": 600, "reason": "2 nights"},
        role="hotel",
    ),
    Case(
        "partner_exchange",
        "/v1/partner/exchanges",
        lambda w: {"id": "ex1", "member_id": w.member, "miles": 1000},
        lambda w: {"id": "ex1", "member_id": w.member, "miles": 2000},
        role="hotel",
    ),
    Case(
        "partner_reversal",
        "/v1/partner/reversals",
        lambda w: {"id": "rv1", "operation_id": "aw0", "reason": "Stay cancelled"},
        lambda w: {"id": "rv1", "operation_id": "aw0", "reason": "Booked in error"},
        role="hotel",
        prepare=awarded,
    ),
    Case(
        "entitlement_use",
        "/v1/entitlements/{entitlement}/use",
        lounge_use("北京南"),
        lounge_use("上海虹桥"),
        role="integrator",
        prepare=lounge_visits,
    ),
    Case(
        "program_draft",
        "/v1/program/drafts",
        program_draft(1),
        program_draft(2),
    ),
    Case(
        "breakage_estimate",
        "/v1/accounting/estimates",
        lambda w: {"as_of": "2025-05-31", "key": "est-1"},
        lambda w: {"as_of": "2025-05-30", "key": "est-1"},
    ),
]


def _path(path: str, w: World) -> str:
    return path.format(member=w.member, other=w.other, **w.ctx)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_same_id_gives_the_first_answer_and_another_request_under_it_is_a_conflict(
    world: World, engine: Engine, case: Case
):
    w, http = world, world.http
    case.prepare(w)
    path, before = _path(case.path, w), snapshot(engine)

    first = http.post(path, case.first(w), role=case.role)
    assert first.status_code < 300, first.text
    after = snapshot(engine)
    assert after != before, "the first request changed nothing"

    again = http.post(path, case.first(w), role=case.role)
    if case.name == "event":  # events answer a resend `duplicate` (SPEC §12)
        [was], [now] = first.json()["results"], again.json()["results"]
        assert now == {**was, "status": "duplicate"}
    else:
        assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert snapshot(engine) == after

    if case.other is None:
        # The body holds only the id, and a step's id is scoped to what it acts on (as a
        # redemption step's is): there is no other request under the same id to send.
        return
    other = http.post(_path(case.other_path or case.path, w), case.other(w), role=case.role)
    if case.name == "event":
        [result] = other.json()["results"]
        assert (result["status"], result["error"]["code"]) == ("rejected", "idempotency_conflict")
    else:
        http.refused(other, 409, "idempotency_conflict")
    assert snapshot(engine) == after


# Every write endpoint whose body carries the caller's `id` (or `key`), and the events (each event's
# `id`): a new one fails the test below until it has a case above.
COVERED = {
    "/v1/events",
    "/v1/me/redemptions",
    "/v1/me/orders",
    "/v1/me/orders/{order_id}/cancel",
    "/v1/me/beneficiaries",
    "/v1/members/{member_id}/beneficiaries",
    "/v1/redemptions",
    "/v1/redemptions/{redemption_id}/commit",
    "/v1/redemptions/{redemption_id}/release",
    "/v1/redemptions/{redemption_id}/change",
    "/v1/redemptions/{redemption_id}/cancel",
    "/v1/mall/orders",
    "/v1/mall/orders/{order_id}/cancel",
    "/v1/mall/products/{sku}/stock",
    "/v1/members/{member_id}/coupons",
    "/v1/coupons/{code}/redeem",
    "/v1/members/{member_id}/donations",
    "/v1/members/{member_id}/adjustments",
    "/v1/adjustments/{adjustment_id}/approve",
    "/v1/adjustments/{adjustment_id}/reject",
    "/v1/campaigns",
    "/v1/partner/awards",
    "/v1/partner/exchanges",
    "/v1/partner/reversals",
    "/v1/accounting/estimates",
    "/v1/entitlements/{entitlement_id}/use",
    "/v1/program/drafts",
}


def _fields(spec: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    if "$ref" in schema:
        return _fields(spec, spec["components"]["schemas"][schema["$ref"].split("/")[-1]])
    found = set(schema.get("properties", {}))
    for part in schema.get("oneOf", []) + schema.get("anyOf", []):
        found |= _fields(spec, part)
    return found


def test_every_write_that_takes_a_caller_id_has_a_case_here(api: Api):
    spec = api.client.app.openapi()
    writes = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            fields = set() if body is None else _fields(spec, body["schema"])
            if method in {"post", "put", "patch", "delete"} and fields & {"id", "key", "events"}:
                writes.add(path)
    assert writes == COVERED
