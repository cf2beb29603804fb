"""The in-memory unit of work tells the same story as the database: one scenario, run on both.

The service tests in `tests/unit` trust `tests/fakes.py`; these keep it honest. Each scenario runs
the core use cases (earning, spending, redemption, a mall order) once on a `FakeUnitOfWork` and
once on a real unit of work, and what a member or operator would see must be the same: results,
balances, lots, statuses and stock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from jifen.domain.errors import JifenError
from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.events import apply_event
from jifen.services.mall import InProcessWarehouse, cancel_order, define_product, place_order
from jifen.services.programs import install_program
from jifen.services.redemption import TicketRequest, Train, commit, redeem_ticket, release
from jifen.storage.crypto import IdentityVault
from jifen.storage.mall_repository import Product
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI
from tests.fakes import FakeUnitOfWork

DAY = date(2025, 5, 10)
NOW = datetime(2025, 6, 1, 10, tzinfo=SHANGHAI)
Scenario = Callable[[Any, Program, IdentityVault, int], list[Any]]


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def attempt(do: Callable[[], Any]) -> Any:
    """What a call returned, or the code of the error it raised."""
    try:
        return do()
    except JifenError as error:
        return error.code


def seen(uow: Any, member: int) -> list[Any]:
    """The member's balances and lots as stored."""
    with uow:
        return [uow.ledger.balances_of(member), uow.ledger.lots_of(member)]


def earning(uow: Any, program: Program, vault: IdentityVault, member: int) -> list[Any]:
    def send(event_id: str, type_: str, when: datetime, data: dict[str, Any]) -> Any:
        raw = {"id": event_id, "type": type_, "occurred_at": when.isoformat(), "data": data}
        return apply_event(uow, program=program, vault=vault, raw=raw, received_at=when)

    def ticket(ticket_id: str, fare_fen: int) -> dict[str, Any]:
        return {
            "ticket_id": ticket_id,
            "passenger": {"member_id": member},
            "fare_fen": fare_fen,
            "ticket_type": "adult",
            "real_name": True,
            "payment": "cash",
            "issue": "normal",
            "train": {"number": "G1", "participating": True},
            "departure_at": at(DAY).isoformat(),
            "arrival_at": at(DAY, 14).isoformat(),
        }

    before = at(DAY - timedelta(days=2))
    return [
        send("e1", "ticket.purchased", before, ticket("T1", 55350)),
        send("e2", "ticket.purchased", before, ticket("T2", 200000)),
        send("e2", "ticket.purchased", before, ticket("T2", 200000)),
        send("e3", "ticket.refunded", before, {"ticket_id": "T1"}),
        send("e4", "ticket.travelled", at(DAY, 15), {"ticket_id": "T2"}),
        send("e5", "ticket.travelled", at(DAY, 15), {"ticket_id": "T1"}),
        *seen(uow, member),
    ]


def credit(uow: Any, member: int, *, key: str, kind: str, points: int, expires_on: date) -> Any:
    return ledger.credit(
        uow,
        key=key,
        member_id=member,
        kind=kind,
        points=points,
        occurred_at=NOW - timedelta(days=1),
        expires_on=expires_on,
    )


def redeeming(uow: Any, program: Program, _vault: IdentityVault, member: int) -> list[Any]:
    def redeem(redemption_id: str, fare_fen: int) -> Any:
        request = TicketRequest(
            redemption_id, member, fare_fen, Train("G1"), NOW + timedelta(days=5), member
        )
        return attempt(lambda: redeem_ticket(uow, program=program, request=request, now=NOW))

    def step(do: Callable[..., Any], redemption_id: str, key: str) -> Any:
        return attempt(
            lambda: do(uow, program=program, redemption_id=redemption_id, key=key, now=NOW)
        )

    def spend(key: str, points: int) -> Any:
        return attempt(
            lambda: ledger.spend(
                uow, key=key, member_id=member, kind="ride", points=points, occurred_at=NOW
            )
        )

    return [
        redeem("R0", 1000),  # before the balance reached 10,000
        credit(uow, member, key="c1", kind="ride", points=8000, expires_on=date(2026, 3, 1)),
        credit(uow, member, key="c2", kind="ride", points=4000, expires_on=date(2025, 9, 1)),
        redeem("R1", 5000),
        redeem("R2", 9000),
        step(release, "R1", "r1"),
        redeem("R2", 9000),
        step(commit, "R2", "k1"),
        step(commit, "R1", "k2"),
        spend("s1", 2000),
        spend("s1", 9),
        *seen(uow, member),
    ]


def shopping(uow: Any, program: Program, _vault: IdentityVault, member: int) -> list[Any]:
    def order(order_id: str, sku: str, quantity: int) -> Any:
        return attempt(
            lambda: place_order(
                uow,
                program=program,
                warehouse=InProcessWarehouse(),
                order_id=order_id,
                member_id=member,
                sku=sku,
                quantity=quantity,
                now=NOW,
            )
        )

    mug = Product("mug", "Mug", "goods", 300, 0, 5, 3, None, None, None, True)
    define_product(uow, product=mug)
    credit(uow, member, key="a1", kind="activity", points=1000, expires_on=date(2026, 5, 1))
    placed = [order("o1", "mug", 2), order("o2", "mug", 2), order("o3", "mug", 1)]
    replayed = order("o1", "mug", 2)
    cancelled = cancel_order(uow, program=program, order_id="o1", cancel_id="x", now=NOW)
    after = [order("o4", "mug", 6), order("o5", "mug", 2)]  # a refunded order is no sale
    with uow:
        stock = uow.mall.get_product("mug").stock
    return [*placed, replayed, cancelled, *after, stock, *seen(uow, member)]


@pytest.mark.parametrize("scenario", [earning, redeeming, shopping])
def test_the_fake_and_the_database_agree(
    scenario: Scenario,
    engine: Engine,
    railway: Program,
    vault: IdentityVault,
    enrol_member: Callable[..., int],
) -> None:
    install_program(SqlUnitOfWork(engine), program=railway, source="preset:railway")
    member = enrol_member(date(1990, 3, 7))
    fake = FakeUnitOfWork(railway)
    fake_member = fake.add_member(joined_at=datetime(2025, 1, 6, 9, 30, tzinfo=SHANGHAI))

    on_fake = scenario(fake, railway, vault, fake_member)
    on_database = scenario(SqlUnitOfWork(engine), railway, vault, member)

    assert member == fake_member
    assert on_fake == on_database
