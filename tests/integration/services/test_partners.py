"""Partners on SQLite and PostgreSQL: awards and miles exchanges in limits, reversals, settlement.

The hotel partner awards activity points: at most 5,000 at once, 8,000 per member per day and
20,000 a month; 7 points for every 10 miles (from 100 miles); it pays 7,500 fen per 1,000 points.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from jifen.domain.errors import (
    InvalidRequest,
    JifenError,
    NotFound,
    NotReversible,
)
from jifen.domain.partners import MilesRate, amount_owed_fen
from jifen.programs.schema import Program
from jifen.services import ledger, partners
from jifen.services.keys import create_key
from jifen.services.ledger_check import check_ledger
from jifen.services.member_status import freeze_member
from jifen.storage.db import make_engine
from jifen.storage.tables import audit_log, ledger_entries, lots, partner_months
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, T0

NOV3 = datetime(2025, 11, 3, 10, 0, tzinfo=SHANGHAI)
HOTEL = partners.PartnerTerms(
    code="hotel",
    name="Jinjiang Hotels",
    point_kind="activity",
    max_points_per_award=5_000,
    max_points_per_member_day=8_000,
    max_points_per_month=20_000,
    price_per_1000_points_fen=7_500,
    rate=MilesRate(10, 7),
    min_miles=100,
)


class Desk:
    """A partner desk: add partners, award, exchange and reverse as the API would."""

    def __init__(self, uow: SqlUnitOfWork, program: Program, new_member: Callable[[], int]) -> None:
        self.uow, self.program, self.new_member = uow, program, new_member
        self.n = 0

    def add(self, terms: partners.PartnerTerms = HOTEL) -> None:
        partners.add_partner(self.uow, program=self.program, terms=terms, actor="op", now=T0)

    def _id(self, op_id: str | None) -> str:
        self.n += 1
        return op_id or f"op-{self.n}"

    def award(
        self,
        member_id: int,
        points: int,
        *,
        at: datetime = NOV3,
        op_id: str | None = None,
        partner: str = "hotel",
        reason: str = "2 nights",
    ) -> Any:
        return partners.award(
            self.uow,
            program=self.program,
            partner_code=partner,
            op_id=self._id(op_id),
            member_id=member_id,
            points=points,
            reason=reason,
            actor="pk1",
            now=at,
        )

    def exchange(
        self, member_id: int, miles: int, *, at: datetime = NOV3, op_id: str | None = None
    ) -> Any:
        return partners.exchange(
            self.uow,
            program=self.program,
            partner_code="hotel",
            op_id=self._id(op_id),
            member_id=member_id,
            miles=miles,
            actor="pk1",
            now=at,
        )

    def reverse(self, original: str, *, at: datetime = NOV3, op_id: str | None = None) -> Any:
        return partners.reverse(
            self.uow,
            program=self.program,
            partner_code="hotel",
            op_id=self._id(op_id),
            reverses_op_id=original,
            reason="stay cancelled",
            actor="pk1",
            now=at,
        )

    def activity(self, member_id: int) -> int:
        with self.uow:
            balances = {b.kind: b.available for b in self.uow.ledger.balances_of(member_id)}
        return balances.get("activity", 0)

    def account(self, account: str) -> int:
        with self.uow:
            query = select(func.coalesce(func.sum(ledger_entries.c.points), 0)).where(
                ledger_entries.c.account == account
            )
            return int(self.uow.connection.execute(query).scalar_one())


@pytest.fixture
def desk(uow: SqlUnitOfWork, railway: Program, new_member: Callable[[], int]) -> Iterator[Desk]:
    desk = Desk(uow, railway, new_member)
    desk.add()
    yield desk
    assert check_ledger(uow).ok


def refused(code: str, call: Callable[[], Any]) -> JifenError:
    with pytest.raises(JifenError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    return caught.value


class TestAward:
    def test_credits_a_lot_of_the_partners_kind_from_the_partner_account(self, desk, uow):
        member = desk.new_member()
        record = desk.award(member, 3_000, op_id="stay-1")
        assert (record.type, record.points, record.day) == ("award", 3_000, date(2025, 11, 3))
        assert desk.activity(member) == 3_000
        assert desk.account("partner:hotel") == -3_000
        with uow:
            lot = uow.connection.execute(select(lots).where(lots.c.member_id == member)).one()
            audited = uow.connection.execute(
                select(audit_log.c.action, audit_log.c.actor, audit_log.c.subject).where(
                    audit_log.c.action.like("partner.%")
                )
            ).all()
        # Railway activity points are valid 12 months from the day they are credited.
        assert (lot.kind, lot.original, lot.expires_on) == ("activity", 3_000, date(2026, 11, 3))
        assert ("partner.created", "op", "partner:hotel") in audited
        assert ("partner.award", "pk1", f"member:{member}") in audited

    def test_the_same_id_again_returns_the_first_award_and_credits_nothing(self, desk):
        member = desk.new_member()
        first = desk.award(member, 3_000, op_id="stay-1")
        again = desk.award(member, 3_000, op_id="stay-1", at=NOV3 + timedelta(hours=2))
        assert again == first
        assert desk.activity(member) == 3_000
        refused("idempotency_conflict", lambda: desk.award(member, 2_999, op_id="stay-1"))

    def test_an_id_of_the_longest_allowed_length_works_and_stays_idempotent(self, desk):
        member, long_id = desk.new_member(), "x" * 200
        first = desk.award(member, 1_000, op_id=long_id)
        assert desk.award(member, 1_000, op_id=long_id) == first
        assert desk.activity(member) == 1_000

    def test_ids_are_the_partners_own_another_partner_may_use_the_same(self, desk):
        desk.add(partners.PartnerTerms(**{**_terms(HOTEL), "code": "air"}))
        member = desk.new_member()
        desk.award(member, 1_000, op_id="x-1")
        desk.award(member, 2_000, op_id="x-1", partner="air")
        assert desk.activity(member) == 3_000
        assert desk.account("partner:air") == -2_000

    def test_more_than_the_per_award_limit_is_refused(self, desk):
        member = desk.new_member()
        error = refused("partner_limit_exceeded", lambda: desk.award(member, 5_001))
        assert error.details["limit"] == "per_award"
        assert desk.activity(member) == 0

    def test_a_member_gets_at_most_the_daily_limit_from_one_partner(self, desk):
        member = desk.new_member()
        desk.award(member, 5_000)
        desk.award(member, 3_000, at=NOV3 + timedelta(hours=12))  # 22:00, still 3 November
        error = refused("partner_limit_exceeded", lambda: desk.award(member, 1))
        assert (error.details["limit"], error.details["used"]) == ("per_member_day", 8_000)
        desk.award(member, 1, at=NOV3 + timedelta(hours=14))  # 00:00 on 4 November
        assert desk.activity(member) == 8_001

    def test_the_monthly_cap_counts_every_member_by_the_programs_month(self, desk, uow):
        members = [desk.new_member() for _ in range(5)]
        for member in members[:4]:
            desk.award(member, 5_000)  # 20,000: November is full
        last_minute = datetime(2025, 11, 30, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
        error = refused("partner_limit_exceeded", lambda: desk.award(members[4], 1, at=last_minute))
        assert (error.details["limit"], error.details["used"]) == ("per_month", 20_000)
        desk.award(members[4], 5_000, at=last_minute + timedelta(minutes=1))  # 1 December
        with uow:
            rows = uow.connection.execute(
                select(partner_months.c.month, partner_months.c.points).order_by("month")
            ).all()
        assert [tuple(r) for r in rows] == [("2025-11", 20_000), ("2025-12", 5_000)]

    def test_a_suspended_partner_or_a_frozen_member_changes_nothing(self, desk, uow):
        member = desk.new_member()
        freeze_member(uow, member_id=member, reason="review", actor="op", now=T0)
        refused("member_not_active", lambda: desk.award(member, 100))
        partners.set_partner_status(
            uow, code="hotel", status="suspended", reason="contract ended", actor="op", now=T0
        )
        other = desk.new_member()
        refused("partner_inactive", lambda: desk.award(other, 100))
        refused("partner_inactive", lambda: desk.exchange(other, 1_000))
        assert (desk.activity(member), desk.activity(other)) == (0, 0)
        assert desk.account("partner:hotel") == 0
        with uow:
            assert (
                uow.connection.execute(select(func.count()).select_from(partner_months)).scalar()
                == 0
            )

    def test_an_unknown_member_or_partner_is_not_found(self, desk):
        refused("not_found", lambda: desk.award(999_999, 100))
        refused("not_found", lambda: desk.award(desk.new_member(), 100, partner="nobody"))


class TestExchange:
    def test_miles_become_points_at_the_rate_rounded_down(self, desk):
        member = desk.new_member()
        record = desk.exchange(member, 1_005)  # 1,005 × 7 / 10 = 703.5 → 703
        assert (record.type, record.miles, record.points) == ("exchange", 1_005, 703)
        assert desk.activity(member) == 703

    def test_below_the_minimum_is_refused(self, desk):
        member = desk.new_member()
        error = refused("miles_below_minimum", lambda: desk.exchange(member, 99))
        assert error.details["min_miles"] == 100
        assert desk.activity(member) == 0

    def test_exchanges_count_toward_the_limits(self, desk):
        member = desk.new_member()
        refused("partner_limit_exceeded", lambda: desk.exchange(member, 7_150))  # 5,005 points
        desk.exchange(member, 7_140)  # 4,998 points
        desk.award(member, 3_000)
        error = refused("partner_limit_exceeded", lambda: desk.exchange(member, 100))  # 70
        assert error.details["used"] == 7_998

    def test_a_partner_without_a_rate_offers_no_exchange(self, desk):
        desk.add(partners.PartnerTerms(**{**_terms(HOTEL), "code": "shop", "rate": None}))
        member = desk.new_member()
        with pytest.raises(partners.ExchangeNotOffered):
            partners.exchange(
                desk.uow,
                program=desk.program,
                partner_code="shop",
                op_id="m-1",
                member_id=member,
                miles=1_000,
                actor="pk",
                now=NOV3,
            )


class TestReversal:
    def test_takes_back_an_award_not_yet_spent_once(self, desk):
        member = desk.new_member()
        desk.award(member, 3_000, op_id="stay-1")
        record = desk.reverse("stay-1", op_id="undo-1")
        assert (record.type, record.points, record.member_id) == ("reversal", 3_000, member)
        assert desk.activity(member) == 0
        assert desk.account("partner:hotel") == 0
        assert desk.reverse("stay-1", op_id="undo-1") == record
        refused("not_reversible", lambda: desk.reverse("stay-1", op_id="undo-2"))
        refused("not_reversible", lambda: desk.reverse("undo-1", op_id="undo-3"))
        refused("not_found", lambda: desk.reverse("nothing", op_id="undo-4"))

    def test_points_already_spent_cannot_be_reversed(self, desk):
        member = desk.new_member()
        desk.award(member, 3_000, op_id="stay-1")
        ledger.spend(
            desk.uow,
            key="mall-1",
            member_id=member,
            kind="activity",
            points=1,
            occurred_at=NOV3,
            to_account="program:redeemed",
        )
        with pytest.raises(NotReversible):
            desk.reverse("stay-1")
        assert desk.activity(member) == 2_999


class TestSettlement:
    def test_a_month_of_awards_exchanges_and_reversals_and_what_it_costs(self, desk):
        one, two = desk.new_member(), desk.new_member()
        desk.award(one, 3_000, op_id="a-1", at=datetime(2025, 10, 31, 23, 0, tzinfo=SHANGHAI))
        desk.award(one, 2_000, op_id="a-2")
        desk.award(two, 3_000, op_id="a-3")
        desk.exchange(two, 1_005, op_id="m-1")  # 703 points
        desk.reverse("a-2", op_id="r-1")
        desk.reverse("a-1", op_id="r-2")  # an October award reversed in November
        desk.award(two, 4_000, op_id="a-4", at=datetime(2025, 12, 1, 0, 0, tzinfo=SHANGHAI))
        november = partners.settlement(desk.uow, code="hotel", month="2025-11")
        assert (november.awards.count, november.awards.points) == (2, 5_000)
        assert (november.exchanges.count, november.exchanges.points) == (1, 703)
        assert november.exchanges.miles == 1_005
        assert (november.reversals.count, november.reversals.points) == (2, 5_000)
        assert november.net_points == 703  # 5,000 + 703 − 5,000
        assert november.amount_fen == 5_273  # 703 × 7.5 = 5,272.5, half-up
        october = partners.settlement(desk.uow, code="hotel", month="2025-10")
        assert (october.awards.points, october.net_points, october.amount_fen) == (
            3_000,
            3_000,
            22_500,
        )
        # The ledger agrees: what the partner account gave out is what the months settle.
        december = partners.settlement(desk.uow, code="hotel", month="2025-12")
        total = october.net_points + november.net_points + december.net_points
        assert total == 7_703 == -desk.account("partner:hotel")

    def test_an_empty_month_and_bad_input(self, desk):
        empty = partners.settlement(desk.uow, code="hotel", month="2025-09")
        assert (empty.net_points, empty.amount_fen, empty.awards.count) == (0, 0, 0)
        refused(
            "invalid_request", lambda: partners.settlement(desk.uow, code="hotel", month="2025-13")
        )
        refused("not_found", lambda: partners.settlement(desk.uow, code="nobody", month="2025-09"))


class TestTerms:
    def test_the_same_terms_again_return_the_partner_other_terms_are_refused(self, desk):
        desk.add()  # again: nothing changes
        assert [p.code for p in partners.list_partners(desk.uow)] == ["hotel"]
        with pytest.raises(partners.PartnerExists):
            desk.add(partners.PartnerTerms(**{**_terms(HOTEL), "name": "Someone else"}))

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"code": "Hotel:1"}, "code"),
            ({"point_kind": "upgrade"}, "point_kind"),
            ({"max_points_per_month": 0}, "max_points_per_month"),
            ({"price_per_1000_points_fen": -1}, "price_per_1000_points_fen"),
        ],
    )
    def test_terms_that_make_no_sense_are_refused(self, desk, change, field):
        with pytest.raises(InvalidRequest) as caught:
            desk.add(partners.PartnerTerms(**{**_terms(HOTEL), "code": "new", **change}))
        assert caught.value.details["field"] == field

    def test_keys_bind_only_partner_roles_to_existing_partners(self, desk, uow):
        key = create_key(uow, role="partner", label="hotel", now=T0, partner_code="hotel")
        with uow:
            assert uow.keys.get(key.prefix).partner_code == "hotel"
        with pytest.raises(NotFound):
            create_key(uow, role="partner", label="x", now=T0, partner_code="nobody")
        with pytest.raises(InvalidRequest):
            create_key(uow, role="operator", label="x", now=T0, partner_code="hotel")


def test_a_miles_rate_reads_as_miles_to_points():
    assert MilesRate.parse("10:7") == MilesRate(10, 7)
    assert MilesRate.parse("1:2").points_for(150) == 300
    with pytest.raises(InvalidRequest):
        MilesRate.parse("0.5")
    assert [amount_owed_fen(p, 5) for p in (1_001, 1_100, -1_100, 0)] == [5, 6, -6, 0]


def _terms(terms: partners.PartnerTerms) -> dict[str, Any]:
    return {k: getattr(terms, k) for k in partners.PartnerTerms.__slots__}


# -- concurrency (PostgreSQL) --------------------------------------------------------------------
@pytest.mark.postgres_only
def test_the_monthly_cap_holds_under_a_rush_of_awards(
    engine: Engine, railway: Program, new_member: Callable[[], int]
):
    """40 threads ask for 200 awards of 100 points from 8 members against a 10,000 cap."""
    terms = partners.PartnerTerms(**{**_terms(HOTEL), "max_points_per_month": 10_000})
    partners.add_partner(SqlUnitOfWork(engine), program=railway, terms=terms, actor="op", now=T0)
    members = [new_member() for _ in range(8)]
    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=40)
    barrier = threading.Barrier(40)

    def rush(thread: int) -> list[str]:
        barrier.wait()
        outcomes = []
        for i in range(5):
            try:
                partners.award(
                    SqlUnitOfWork(wide),
                    program=railway,
                    partner_code="hotel",
                    op_id=f"t{thread}-{i}",
                    member_id=members[(thread + i) % 8],
                    points=100,
                    reason="rush",
                    actor="pk",
                    now=NOV3,
                )
                outcomes.append("applied")
            except partners.PartnerLimitExceeded:
                outcomes.append("refused")
        return outcomes

    try:
        with ThreadPoolExecutor(max_workers=40) as pool:
            outcomes = [o for result in pool.map(rush, range(40)) for o in result]
    finally:
        wide.dispose()
    assert (outcomes.count("applied"), outcomes.count("refused")) == (100, 100)
    uow = SqlUnitOfWork(engine)
    assert partners.settlement(uow, code="hotel", month="2025-11").awards.points == 10_000
    with uow:
        given = uow.connection.execute(
            select(func.sum(ledger_entries.c.points)).where(
                ledger_entries.c.account == "partner:hotel"
            )
        ).scalar()
    assert given == -10_000
    assert check_ledger(uow).ok


@pytest.mark.postgres_only
def test_one_award_id_sent_by_many_threads_at_once_credits_once(
    engine: Engine, railway: Program, new_member: Callable[[], int]
):
    """20 retries of one award, each stamped a second apart, all get the first result."""
    partners.add_partner(SqlUnitOfWork(engine), program=railway, terms=HOTEL, actor="op", now=T0)
    member = new_member()
    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=20)
    barrier = threading.Barrier(20)

    def send(i: int) -> Any:
        barrier.wait()
        return partners.award(
            SqlUnitOfWork(wide),
            program=railway,
            partner_code="hotel",
            op_id="stay-1",
            member_id=member,
            points=3_000,
            reason="2 nights",
            actor="pk",
            now=NOV3 + timedelta(seconds=i),
        )

    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            records = list(pool.map(send, range(20)))
    finally:
        wide.dispose()
    assert len({r.transaction_id for r in records}) == 1
    uow = SqlUnitOfWork(engine)
    with uow:
        assert [b.available for b in uow.ledger.balances_of(member)] == [3_000]
    assert partners.settlement(uow, code="hotel", month="2025-11").awards.count == 1
    assert check_ledger(uow).ok
