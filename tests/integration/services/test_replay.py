"""Replay (SPEC §2 invariant 5): a program rebuilt from its journal has the same books."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text, update

from jifen.demo.run import run_demo
from jifen.domain.partners import MilesRate
from jifen.programs.schema import Program
from jifen.services import adjustments, partners
from jifen.services.beneficiaries import add_beneficiary, remove_beneficiary
from jifen.services.campaigns.definitions import CampaignDraft, create_campaign, stop_campaign
from jifen.services.daily import run_daily
from jifen.services.events import apply_events
from jifen.services.mall.donations import donate
from jifen.services.mall.orders import cancel_order, place_order
from jifen.services.mall.products import adjust_stock, define_product
from jifen.services.mall.warehouse import InProcessWarehouse
from jifen.services.member_status import close_member, freeze_member, unfreeze_member
from jifen.services.members import change_phone
from jifen.services.privacy import erase_member
from jifen.services.programs import install_program
from jifen.services.redemption.lifecycle import commit, release
from jifen.services.redemption.tickets import TicketRequest, Train, redeem_ticket
from jifen.services.replay import compare, replay
from jifen.services.segments import assign_segments
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine, upgrade
from jifen.storage.mall_repository import Product
from jifen.storage.tables import lots
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, resident_id
from tests.e2e.cli.test_crash_safety import Databases
from tests.integration.services.test_events import ticket

DAY = date(2025, 11, 3)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def target(engine: Engine, tmp_path: Path, sqlite_template: Path) -> Iterator[SqlUnitOfWork]:
    """A second empty, migrated database on the same kind of server."""
    if engine.dialect.name == "sqlite":
        path = tmp_path / "target.db"
        shutil.copyfile(sqlite_template, path)
        other = make_engine(f"sqlite:///{path}")
        yield SqlUnitOfWork(other)
        other.dispose()
        return
    databases = Databases(engine, tmp_path)
    other = make_engine(databases.fresh("replay"))
    upgrade(other)
    yield SqlUnitOfWork(other)
    other.dispose()
    databases.drop()


def test_the_demo_program_replayed_into_an_empty_database_has_the_same_books(
    uow, target, railway: Program, vault: IdentityVault
):
    install_program(uow, program=railway, source="preset:railway")
    summary = run_demo(
        uow,
        program=railway,
        vault=vault,
        members=25,
        start=date(2025, 1, 1),
        end=date(2025, 1, 31),
        seed=3,
    )
    assert summary.events["applied"] > 100

    report = replay(uow, target, vault=vault)

    assert report.refused == []
    differences = compare(uow, target)
    assert differences == [], [(d.table, d.only_in_source, d.only_in_target) for d in differences]
    with target:
        assert target.journal.count() == report.replayed  # the rebuilt program is replayable too


def test_a_changed_lot_in_the_rebuilt_program_is_reported(
    uow, target, railway: Program, vault: IdentityVault, enrol_member
):
    install_program(uow, program=railway, source="preset:railway")
    member = enrol_member(date(1990, 3, 7))
    bought = {"member_id": member}
    events = [
        {"id": "p1", "type": "ticket.purchased", "occurred_at": at(DAY, 8).isoformat(),
         "data": ticket("T1", departure=at(DAY, 10), passenger=bought)},
        {"id": "t1", "type": "ticket.travelled", "occurred_at": at(DAY, 16).isoformat(),
         "data": {"ticket_id": "T1"}},
    ]  # fmt: skip
    apply_events(uow, program=railway, vault=vault, raw_events=events, received_at=at(DAY, 17))
    replay(uow, target, vault=vault)
    with target.engine.begin() as connection:
        ride = update(lots).where(lots.c.kind == "ride")
        connection.execute(ride.values(remaining=lots.c.remaining - 1))

    (difference,) = compare(uow, target)

    assert difference.table == "lots"
    assert len(difference.only_in_source) == len(difference.only_in_target) == 1


def test_every_kind_of_command_replays_to_the_same_books(
    uow, target, railway: Program, vault: IdentityVault, enrol_member: Callable[..., int]
):
    Scenario(uow, railway, vault, enrol_member).run()

    report = replay(uow, target, vault=vault)

    assert report.refused == []
    differences = compare(uow, target)
    assert differences == [], [(d.table, d.only_in_source, d.only_in_target) for d in differences]
    with uow:
        kinds = {r.entry.command for r in uow.journal.read(after=0, limit=10_000)}
    assert kinds >= {
        "program", "enrol", "event", "daily", "redeem_ticket", "redemption.commit",
        "redemption.release", "define_product", "adjust_stock", "place_order", "cancel_order",
        "donate", "request_adjustment", "decide_adjustment", "add_beneficiary",
        "remove_beneficiary", "freeze_member", "unfreeze_member", "close_member", "add_partner",
        "partner_operation", "create_campaign", "stop_campaign", "assign_segments", "erase_member",
    }  # fmt: skip


def test_a_request_repeated_is_journaled_once(uow, railway, vault, enrol_member):
    install_program(uow, program=railway, source="preset:railway")
    member = enrol_member(date(1990, 3, 7))
    data = ticket("T1", departure=at(DAY, 10), passenger={"member_id": member})
    event = {"id": "p1", "type": "ticket.purchased", "occurred_at": at(DAY, 8).isoformat(),
             "data": data}  # fmt: skip
    for _ in range(2):
        apply_events(uow, program=railway, vault=vault, raw_events=[event], received_at=at(DAY))
    with uow:
        commands = [r.entry.command for r in uow.journal.read(after=0, limit=100)]
    assert commands == ["program", "enrol", "event"]


def test_identity_is_journaled_encrypted_never_plain(uow, engine, railway, vault, enrol_member):
    install_program(uow, program=railway, source="preset:railway")
    number = resident_id(date(1990, 3, 7), 555)
    enrol_member(date(1990, 3, 7), id_number=number)
    rider = {"id_type": "resident_id", "id_number": number}
    event = {"id": "p1", "type": "ticket.purchased", "occurred_at": at(DAY, 8).isoformat(),
             "data": ticket("T1", departure=at(DAY, 10), passenger=rider)}  # fmt: skip
    apply_events(uow, program=railway, vault=vault, raw_events=[event], received_at=at(DAY))
    with engine.connect() as connection:
        stored = " ".join(str(a) for (a,) in connection.execute(text("SELECT args FROM journal")))
    assert number not in stored
    assert "*" not in stored  # nor masked


class Scenario:
    """One member's life touching every journaled command, in a month of the railway program."""

    def __init__(self, uow, program, vault, enrol_member) -> None:
        self.uow, self.program, self.vault = uow, program, vault
        self.enrol_member = enrol_member

    def run(self) -> None:
        uow, program = self.uow, self.program
        install_program(uow, program=program, source="preset:railway")
        rich, other, leaving = (self.enrol_member(date(1970 + n, 3, 7)) for n in range(3))
        self._earn(rich)
        partners.add_partner(uow, program=program, terms=AIRLINE, actor="op", now=at(DAY))
        partners.award(uow, program=program, partner_code="air", op_id="f1", member_id=rich,
                       points=12_000, reason="PVG-PEK", actor="pk", now=at(DAY, 10))  # fmt: skip
        partners.award(uow, program=program, partner_code="air", op_id="f2", member_id=rich,
                       points=500, reason="PEK-PVG", actor="pk", now=at(DAY, 11))  # fmt: skip
        partners.reverse(uow, program=program, partner_code="air", op_id="r2",
                         reverses_op_id="f2", reason="cancelled", actor="pk",
                         now=at(DAY, 12))  # fmt: skip
        self._redeem(rich, other)
        self._shop(rich)
        self._correct(rich)
        self._people(rich, other, leaving)
        for n in range(3):
            run_daily(uow, program=program, as_of=DAY + timedelta(days=n))

    def _earn(self, member: int) -> None:
        bought = {"member_id": member}
        events = [
            {"id": "p1", "type": "ticket.purchased", "occurred_at": at(DAY, 8).isoformat(),
             "data": ticket("T1", departure=at(DAY, 10), passenger=bought)},
            {"id": "t1", "type": "ticket.travelled", "occurred_at": at(DAY, 16).isoformat(),
             "data": {"ticket_id": "T1"}},
        ]  # fmt: skip
        apply_events(
            self.uow, program=self.program, vault=self.vault, raw_events=events,
            received_at=at(DAY, 17),
        )  # fmt: skip

    def _redeem(self, member: int, other: int) -> None:
        uow, program = self.uow, self.program
        for rid in ("r-kept", "r-back"):
            request = TicketRequest(
                id=rid, member_id=member, fare_fen=5_000, train=Train("G7"),
                departure_at=at(DAY + timedelta(days=5)), passenger_member_id=member,
            )  # fmt: skip
            redeem_ticket(uow, program=program, request=request, now=at(DAY, 13))
        commit(uow, program=program, redemption_id="r-kept", key="c1", now=at(DAY, 14))
        release(uow, program=program, redemption_id="r-back", key="x1", now=at(DAY, 14))
        release(uow, program=program, redemption_id="r-back", key="x1", now=at(DAY, 14))

    def _shop(self, member: int) -> None:
        uow, program = self.uow, self.program
        adjustments.request_adjustment(
            uow, program=program, adjustment_id="a-act", member_id=member, kind="goodwill",
            points=1_000, reason="survey", point_kind="activity", actor="op1", now=at(DAY, 15),
        )  # fmt: skip
        mug = Product("mug", "Mug", "goods", 300, 0, 5, 3, None, None, None, True)
        define_product(uow, product=mug)
        adjust_stock(uow, adjustment_id="s1", sku="mug", change=2, reason="delivery", actor="op1",
                     now=at(DAY, 15))  # fmt: skip
        for order_id in ("o1", "o2"):
            place_order(uow, program=program, warehouse=InProcessWarehouse(), order_id=order_id,
                        member_id=member, sku="mug", quantity=1, now=at(DAY, 15))  # fmt: skip
        cancel_order(uow, program=program, order_id="o2", cancel_id="c-o2", now=at(DAY, 16))
        donate(uow, program=program, donation_id="d1", member_id=member, charity=_charity(program),
               points=100, now=at(DAY, 16))  # fmt: skip

    def _correct(self, member: int) -> None:
        uow, program = self.uow, self.program
        adjustments.request_adjustment(
            uow, program=program, adjustment_id="a-small", member_id=member, kind="goodwill",
            points=50, reason="late train", actor="op1", now=at(DAY, 17),
        )  # fmt: skip
        adjustments.request_adjustment(
            uow, program=program, adjustment_id="a-big", member_id=member, kind="goodwill",
            points=40_000, reason="lost trips", actor="op1", now=at(DAY, 17),
        )  # fmt: skip
        adjustments.decide_adjustment(
            uow, program=program, adjustment_id="a-big", approve=True, decision_id="d-1",
            note=None, actor="op2", now=at(DAY, 18),
        )  # fmt: skip

    def _name(self, member: int, n: int):
        return add_beneficiary(
            self.uow, program=self.program, vault=self.vault, member_id=member,
            request_id=f"b{n}", name="李四", id_type="resident_id",
            id_number=resident_id(date(1980 + n, 5, 1), 700 + n), birth_date=None, now=at(DAY, 9),
        )  # fmt: skip

    def _people(self, member: int, other: int, leaving: int) -> None:
        uow, program, vault = self.uow, self.program, self.vault
        named = [self._name(member, n) for n in range(2)]
        remove_beneficiary(uow, program=program, vault=vault, member_id=member,
                           beneficiary_id=named[1].id, now=at(DAY, 9))  # fmt: skip
        change_phone(uow, vault=vault, member_id=member, phone="13800138999", actor="op",
                     now=at(DAY, 18))  # fmt: skip
        freeze_member(uow, member_id=other, reason="abuse", actor="op", now=at(DAY, 18))
        unfreeze_member(uow, member_id=other, reason="cleared", actor="op", now=at(DAY, 19))
        assign_segments(uow, member_id=other, segments=["vip"], actor="op", now=at(DAY, 19))
        close_member(uow, program=program, member_id=leaving, reason="asked", actor="op",
                     now=at(DAY, 20))  # fmt: skip
        erase_member(uow, program=program, vault=vault, member_id=other, reason="asked",
                     actor="op", now=at(DAY, 21))  # fmt: skip
        draft = CampaignDraft(
            id="winter", name="Winter", starts_at=at(DAY), ends_at=at(DAY + timedelta(days=30)),
            budget_points=10_000, effect={"kind": "ride", "percent": 50},
            target={"member_ids": [member]}, control_percent=0,
        )  # fmt: skip
        create_campaign(uow, program=program, draft=draft, actor="op", now=at(DAY, 8))
        stop_campaign(uow, campaign_id="winter", actor="op", now=at(DAY + timedelta(days=1)))


def _charity(program: Program) -> str:
    return program.charities[0].code


AIRLINE = partners.PartnerTerms(
    code="air",
    name="China Eastern",
    point_kind="ride",
    max_points_per_award=20_000,
    max_points_per_member_day=50_000,
    max_points_per_month=1_000_000,
    price_per_1000_points_fen=7_500,
    rate=MilesRate(10, 7),
    min_miles=100,
)
