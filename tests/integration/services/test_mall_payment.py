"""Paying in the mall from several point kinds in the program's order, and refunding them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jifen.domain.errors import InsufficientPoints
from jifen.programs.schema import Program
from jifen.services import ledger, mall
from jifen.services.ledger_check import check_ledger
from jifen.services.mall.payment import split_payment
from jifen.storage.mall_repository import Product
from tests.conftest import T0

NOW = T0 + timedelta(days=30)


def test_the_first_kind_pays_as_far_as_it_goes_then_the_next():
    available = {"activity": 100, "ride": 500}
    assert split_payment(300, available, member_id=1) == [("activity", 100), ("ride", 200)]
    assert split_payment(80, available, member_id=1) == [("activity", 80)]
    assert split_payment(0, available, member_id=1) == []
    with pytest.raises(InsufficientPoints) as refused:
        split_payment(601, available, member_id=1)
    assert refused.value.details == {
        "member_id": 1,
        "kind": "activity+ride",
        "needed": 601,
        "available": 600,
    }


@pytest.fixture
def two_kinds(railway: Program) -> Program:
    """The railway preset with the mall paid by activity points, then ride points."""
    redemption = railway.redemption.model_copy(update={"mall_kinds": ("activity", "ride")})
    return railway.model_copy(update={"redemption": redemption})


def test_an_order_paid_from_two_kinds_is_refunded_to_both(uow, new_member, two_kinds):
    member = new_member()
    for kind, points in (("activity", 100), ("ride", 500)):
        ledger.credit(
            uow,
            key=f"c-{kind}",
            member_id=member,
            kind=kind,
            points=points,
            occurred_at=T0,
            expires_on=None,
        )
    product = Product("LAMP", "Lamp", "goods", 150, 0, 5, None, None, None, None, True)
    mall.define_product(uow, product=product)

    placed = mall.place_order(
        uow,
        program=two_kinds,
        warehouse=mall.InProcessWarehouse(),
        order_id="o",
        member_id=member,
        sku="LAMP",
        quantity=2,
        now=NOW,
    )

    assert placed.order.points == 300
    with uow:
        assert {b.kind: b.available for b in uow.ledger.balances_of(member)} == {
            "activity": 0,
            "ride": 300,
        }
        first = uow.ledger.find_by_key("mall:order:o:activity")
    assert first is not None
    assert placed.order.transaction_id == first.id
    with pytest.raises(InsufficientPoints):
        mall.place_order(
            uow,
            program=two_kinds,
            warehouse=mall.InProcessWarehouse(),
            order_id="o2",
            member_id=member,
            sku="LAMP",
            quantity=3,
            now=NOW,
        )

    refunded = mall.cancel_order(uow, program=two_kinds, order_id="o", cancel_id="c", now=NOW)

    assert refunded.status == "refunded"
    with uow:
        assert {b.kind: b.available for b in uow.ledger.balances_of(member)} == {
            "activity": 100,
            "ride": 500,
        }
        assert [lot.remaining for lot in uow.ledger.lots_of(member)] == [100, 500]
        assert uow.mall.get_product("LAMP").stock == 5
    assert check_ledger(uow).ok
