"""Balance rows locked in one order by every writer: redemptions never deadlock a close or an order.

Every use case that writes several of a member's balance rows takes them sorted (member, then
kind), as the ledger's one door does. A program whose `redemption.ticket_kinds` are listed in
another order (ride before activity here) pays tickets in that order but must still lock sorted;
otherwise a ticket hold holding `ride` and wanting `activity` deadlocks against a close or a mall
order holding `activity` and wanting `ride`, and PostgreSQL kills one of them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from psycopg.errors import DeadlockDetected
from sqlalchemy import Engine

from jifen.domain.errors import InsufficientPoints
from jifen.programs.schema import Program
from jifen.services import ledger, mall, redemption
from jifen.services.ledger_check import check_ledger
from jifen.services.member_status import MemberClosed, OpenRedemptions, close_member
from jifen.services.members import MemberNotActive
from jifen.storage.db import make_engine
from jifen.storage.mall_repository import Product
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0

pytestmark = pytest.mark.postgres_only

NOW = T0 + timedelta(days=30)
ROUNDS = 4
MEMBERS_PER_ROUND = 6
REFUSALS = (OpenRedemptions, MemberNotActive, MemberClosed, InsufficientPoints)


@pytest.fixture
def wide_engine(engine: Engine) -> Iterator[Engine]:
    """The test database with a pool large enough for every thread to hold a connection."""
    url = engine.url.render_as_string(hide_password=False)
    wide = make_engine(url, pool_size=40, max_overflow=0, pool_timeout=60)
    yield wide
    wide.dispose()


@pytest.fixture
def unsorted_kinds(railway: Program) -> Program:
    """Tickets paid ride first, then activity (not sorted); the mall activity, then ride."""
    rules = railway.redemption.model_copy(
        update={
            "ticket_kinds": ("ride", "activity"),
            "mall_kinds": ("activity", "ride"),
            "eligibility_threshold": 0,
        }
    )
    risk = railway.risk.model_copy(update={"redemptions_per_day": None})
    return railway.model_copy(update={"redemption": rules, "risk": risk})


def is_deadlock(error: BaseException) -> bool:
    """PostgreSQL's `deadlock detected`, however deep SQLAlchemy wrapped it."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DeadlockDetected) or isinstance(
            getattr(seen, "orig", None), DeadlockDetected
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return "deadlock detected" in str(error)


def test_ticket_holds_race_closes_and_orders_of_the_same_member_without_deadlock(
    wide_engine: Engine, unsorted_kinds: Program, new_member: Callable[[], int]
):
    program = unsorted_kinds
    uow = SqlUnitOfWork(wide_engine)
    product = Product("MUG", "Mug", "goods", 300, 0, 10_000, None, None, None, None, True)
    mall.define_product(uow, product=product)

    def endowed() -> int:
        member_id = new_member()
        for kind, points in (("ride", 1_500), ("activity", 5_000)):
            ledger.credit(
                uow,
                key=f"c-{member_id}-{kind}",
                member_id=member_id,
                kind=kind,
                points=points,
                occurred_at=T0,
                expires_on=None,
            )
        return member_id

    def redeem(rid: str, member_id: int) -> object:
        """Hold a 1,000-point ticket (ride first, then activity) and issue it."""
        request = redemption.TicketRequest(
            id=rid,
            member_id=member_id,
            fare_fen=1_000,
            train=redemption.Train("G1"),
            departure_at=NOW + timedelta(days=3),
            passenger_member_id=member_id,
        )
        redemption.redeem_ticket(
            SqlUnitOfWork(wide_engine), program=program, request=request, now=NOW
        )
        return redemption.commit(
            SqlUnitOfWork(wide_engine), program=program, redemption_id=rid, key=f"{rid}-c", now=NOW
        )

    def close(member_id: int) -> object:
        return close_member(
            SqlUnitOfWork(wide_engine),
            program=program,
            member_id=member_id,
            reason="test",
            actor="test",
            now=NOW,
        )

    def order(order_id: str, member_id: int) -> object:
        return mall.place_order(
            SqlUnitOfWork(wide_engine),
            program=program,
            warehouse=mall.InProcessWarehouse(),
            order_id=order_id,
            member_id=member_id,
            sku="MUG",
            quantity=1,
            now=NOW,
        )

    outcomes: Counter[str] = Counter()
    deadlocks: Counter[str] = Counter()
    seen: list[str] = []
    unexpected: list[str] = []
    for round_ in range(ROUNDS):
        members = [endowed() for _ in range(MEMBERS_PER_ROUND)]
        work: list[tuple[str, Callable[[], object]]] = []
        for m in members:
            work += [
                ("redeem", lambda m=m: redeem(f"r{m}a", m)),
                ("redeem", lambda m=m: redeem(f"r{m}b", m)),
                ("close", lambda m=m: close(m)),
                ("order", lambda m=m: order(f"o{m}a", m)),
                ("order", lambda m=m: order(f"o{m}b", m)),
            ]
        barrier = threading.Barrier(len(work))

        def one(
            named: tuple[str, Callable[[], object]], barrier: threading.Barrier = barrier
        ) -> object:
            barrier.wait()
            try:
                return named[1]()
            except Exception as error:  # noqa: BLE001 - the test sorts what each thread got
                return error

        with ThreadPoolExecutor(max_workers=len(work)) as pool:
            results = list(pool.map(one, work))
        for (name, _call), result in zip(work, results, strict=True):
            outcomes[f"{name}: {type(result).__name__}"] += 1
            if isinstance(result, BaseException) and is_deadlock(result):
                deadlocks[name] += 1
                seen.append(f"round {round_}, {name}: " + " / ".join(str(result).splitlines()[:3]))
            elif isinstance(result, Exception) and not isinstance(result, REFUSALS):
                unexpected.append(f"round {round_}, {name}: {type(result).__name__}: {result}")

    assert not deadlocks, f"deadlocks by thread {dict(deadlocks)}, outcomes {dict(outcomes)}:\n" + (
        "\n".join(seen[:3])
    )
    assert not unexpected, "\n".join(unexpected)
    assert outcomes["close: StatusChange"] > 0  # some closes won their race
    assert outcomes["redeem: dict"] > 0  # some tickets were held and issued
    assert outcomes["order: PlacedOrder"] > 0
    report = check_ledger(SqlUnitOfWork(wide_engine))
    assert report.ok, report.violations
