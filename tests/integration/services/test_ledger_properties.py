"""Property tests: random ledger histories keep SPEC §2's invariants 1–5 on both databases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, insert

from jifen.domain.errors import InsufficientPoints, NotReversible
from jifen.services import ledger
from jifen.services.ledger_check import check_ledger
from jifen.storage.tables import members
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, reset_database

KIND = "ride"


@dataclass
class ModelLot:
    """The test's own idea of a lot, kept without looking at the database."""

    expires_on: date
    remaining: int


@dataclass
class Model:
    """Expected state: lots and pending points per member, computed independently of Jifen."""

    lots: dict[int, ModelLot] = field(default_factory=dict)
    lot_owner: dict[int, int] = field(default_factory=dict)
    pending: dict[int, tuple[int, int]] = field(default_factory=dict)

    def available(self, member: int) -> int:
        return sum(lot.remaining for i, lot in self.lots.items() if self.lot_owner[i] == member)

    def spendable(self, member: int, day: date) -> list[int]:
        ids = [
            i
            for i, lot in self.lots.items()
            if self.lot_owner[i] == member and lot.remaining > 0 and day < lot.expires_on
        ]
        return sorted(ids, key=lambda i: (self.lots[i].expires_on, i))


def snapshot(uow: SqlUnitOfWork, member_ids: list[int]) -> tuple[object, ...]:
    """Balances and lots of the members, for comparing two databases."""
    with uow:
        return tuple(
            (
                [(b.kind, b.available, b.pending) for b in uow.ledger.balances_of(m)],
                [
                    (x.kind, x.credited_on, x.expires_on, x.original, x.remaining)
                    for x in uow.ledger.lots_of(m)
                ],
            )
            for m in member_ids
        )


class LedgerMachine(RuleBasedStateMachine):
    """Earn, hold pending, confirm, void, spend, reverse and expire in any order."""

    pendings = Bundle("pendings")
    spends = Bundle("spends")

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.uow = SqlUnitOfWork(engine)
        self.model = Model()
        self.day = T0
        self.keys = 0
        self.log: list[tuple[str, dict[str, object]]] = []
        self.members: list[int] = []

    def _key(self) -> str:
        self.keys += 1
        return f"op-{self.keys}"

    def _do(self, op: str, **kwargs: object) -> ledger.Posted:
        posted = getattr(ledger, op)(self.uow, key=self._key(), **kwargs)
        self.log.append((op, {"key": f"op-{self.keys}", **kwargs}))
        return posted

    @initialize()
    def fresh_database(self) -> None:
        reset_database(self.engine)
        with self.engine.begin() as connection:
            for _ in range(2):
                result = connection.execute(insert(members).values(joined_at=T0))
                self.members.append(int(result.inserted_primary_key[0]))

    @rule(who=st.integers(0, 1), points=st.integers(1, 500), months=st.integers(1, 14))
    def earn(self, who: int, points: int, months: int) -> None:
        member = self.members[who]
        expires_on = self.day.date() + timedelta(days=30 * months)
        posted = self._do(
            "credit",
            member_id=member,
            kind=KIND,
            points=points,
            occurred_at=self.day,
            expires_on=expires_on,
        )
        self.model.lots[posted.lot_ids[0]] = ModelLot(expires_on, points)
        self.model.lot_owner[posted.lot_ids[0]] = member

    @rule(target=pendings, who=st.integers(0, 1), points=st.integers(1, 500))
    def promise(self, who: int, points: int) -> int:
        member = self.members[who]
        posted = self._do(
            "add_pending", member_id=member, kind=KIND, points=points, occurred_at=self.day
        )
        assert posted.pending_id is not None
        self.model.pending[posted.pending_id] = (member, points)
        return posted.pending_id

    @rule(pending_id=consumes(pendings))
    def confirm(self, pending_id: int) -> None:
        member, points = self.model.pending.pop(pending_id)
        expires_on = self.day.date() + timedelta(days=365)
        posted = self._do(
            "confirm_pending", pending_id=pending_id, occurred_at=self.day, expires_on=expires_on
        )
        self.model.lots[posted.lot_ids[-1]] = ModelLot(expires_on, points)
        self.model.lot_owner[posted.lot_ids[-1]] = member

    @rule(pending_id=consumes(pendings))
    def void(self, pending_id: int) -> None:
        self.model.pending.pop(pending_id)
        self._do("void_pending", pending_id=pending_id, occurred_at=self.day)

    @rule(target=spends, who=st.integers(0, 1), points=st.integers(1, 800))
    def spend(self, who: int, points: int) -> tuple[int, dict[int, int]]:
        member = self.members[who]
        order = self.model.spendable(member, self.day.date())
        if sum(self.model.lots[i].remaining for i in order) < points:
            with pytest.raises(InsufficientPoints):
                ledger.spend(
                    self.uow,
                    key=self._key(),
                    member_id=member,
                    kind=KIND,
                    points=points,
                    occurred_at=self.day,
                )
            return (-1, {})
        posted = self._do("spend", member_id=member, kind=KIND, points=points, occurred_at=self.day)
        taken: dict[int, int] = {}
        left = points
        for lot_id in order:  # oldest expiry first, computed by the test itself
            take = min(left, self.model.lots[lot_id].remaining)
            if take:
                taken[lot_id] = take
                self.model.lots[lot_id].remaining -= take
                left -= take
        return (posted.transaction_id, taken)

    @rule(spent=consumes(spends))
    def reverse(self, spent: tuple[int, dict[int, int]]) -> None:
        transaction_id, taken = spent
        if transaction_id < 0:
            return
        self._do("reverse", transaction_id=transaction_id, occurred_at=self.day)
        for lot_id, points in taken.items():
            self.model.lots[lot_id].remaining += points

    @rule(days=st.integers(1, 120))
    def time_passes(self, days: int) -> None:
        self.day += timedelta(days=days)

    @rule()
    def expire_due_lots(self) -> None:
        for lot_id, lot in self.model.lots.items():
            if lot.remaining > 0 and lot.expires_on <= self.day.date():
                self._do("expire_lot", lot_id=lot_id, occurred_at=self.day)
                lot.remaining = 0

    @rule(data=st.data())
    def repeat_an_earlier_write(self, data: st.DataObject) -> None:
        """Invariant 4: the same key and request again returns the first result, changes nothing."""
        if not self.log:
            return
        op, kwargs = data.draw(st.sampled_from(self.log))
        before = snapshot(self.uow, self.members)
        try:
            again = getattr(ledger, op)(self.uow, **kwargs)
        except NotReversible:  # pragma: no cover - a replayed reversal returns its first result
            pytest.fail("a repeated reversal was refused instead of replayed")
        assert again.replayed
        assert snapshot(self.uow, self.members) == before

    @invariant()
    def invariants_one_to_three_hold(self) -> None:
        if not self.members:
            return
        report = check_ledger(self.uow)
        assert report.ok, report.violations
        with self.uow:
            for member in self.members:
                stored = {
                    b.kind: (b.available, b.pending) for b in self.uow.ledger.balances_of(member)
                }
                pending = sum(p for m, p in self.model.pending.values() if m == member)
                assert stored.get(KIND, (0, 0)) == (self.model.available(member), pending)
                for lot in self.uow.ledger.lots_of(member):
                    assert lot.remaining == self.model.lots[lot.id].remaining

    def teardown(self) -> None:
        """Invariant 5: replaying the same writes into an empty database gives the same state."""
        if not self.members:
            return
        first = snapshot(self.uow, self.members)
        self.members.clear()
        self.fresh_database()
        for op, kwargs in self.log:
            getattr(ledger, op)(self.uow, **kwargs)
        assert snapshot(self.uow, self.members) == first


@pytest.mark.parametrize("steps", [30])
def test_random_ledger_histories_keep_every_invariant(engine: Engine, steps: int) -> None:
    run_state_machine_as_test(
        lambda: LedgerMachine(engine),
        settings=settings(
            max_examples=25,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
