"""Group commit: one-event requests gathered into one transaction answer as if applied alone."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from jifen.api.group_commit import EventCommitter
from jifen.services.events import apply_event
from jifen.services.ledger_check import check_ledger
from jifen.storage.db import make_engine
from jifen.storage.uow import SqlUnitOfWork
from tests.integration.services.test_events import at, ticket
from tests.integration.services.test_ledger_concurrency import run_together

DAY = date(2025, 5, 10)
TOLERANCE = timedelta(minutes=10)


def purchases(member: int, prefix: str, count: int) -> list[dict]:
    """`count` tickets of different fares bought by `member`, departing the next day."""
    return [
        {
            "id": f"{prefix}-{n}",
            "type": "ticket.purchased",
            "occurred_at": at(DAY, 8).isoformat(),
            "data": ticket(
                f"{prefix}T{n}",
                fare_fen=10_000 + 1_337 * n,
                departure=at(DAY + timedelta(days=1)),
                passenger={"member_id": member},
            ),
        }
        for n in range(count)
    ]


class Batches:
    """What the committer reports: each batch's size."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, size: int, _waits: object) -> None:
        self.sizes.append(size)


@pytest.mark.postgres_only
def test_two_hundred_requests_at_once_give_the_points_of_applying_them_one_by_one(
    engine, railway, vault, enrol_member
):
    members = [enrol_member(date(1970 + n, 3, 7)) for n in range(20)]
    twins = [enrol_member(date(1970 + n, 4, 8)) for n in range(20)]
    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=20)
    batches = Batches()
    committer = EventCommitter(wide, vault, window=0.005, most=200, observe=batches)
    together = [e for i, m in enumerate(members) for e in purchases(m, f"m{i}", 10)]
    alone = [e for i, m in enumerate(twins) for e in purchases(m, f"t{i}", 10)]

    results = run_together(
        len(together),
        lambda i: committer.apply(
            together[i], program=railway, received_at=at(DAY, 9), tolerance=TOLERANCE
        ),
    )
    for raw in alone:
        apply_event(
            SqlUnitOfWork(wide), program=railway, vault=vault, raw=raw, received_at=at(DAY, 9)
        )

    assert [getattr(r, "status", r) for r in results] == ["applied"] * 200
    assert sum(batches.sizes) == 200
    assert len(batches.sizes) < 100, f"the requests were not gathered: {batches.sizes}"
    uow = SqlUnitOfWork(wide)
    with uow:
        balances = [
            [(b.kind, b.available, b.pending) for b in uow.ledger.balances_of(m)]
            for m in members + twins
        ]
    assert balances[:20] == balances[20:]
    assert all(pending > 0 for row in balances for _k, _a, pending in row if _k == "ride")
    assert check_ledger(uow).ok
    wide.dispose()


def test_a_bad_event_in_a_busy_batch_is_refused_alone(engine, railway, vault, enrol_member):
    member = enrol_member()
    batches = Batches()
    committer = EventCommitter(engine, vault, window=0.2, most=50, observe=batches)
    events = purchases(member, "ok", 12)
    events[3] = {**events[3], "data": {**events[3]["data"], "passenger": {"member_id": 999_999}}}
    events[7] = {**events[7], "type": "ticket.exploded"}
    events[9] = {**events[9], "occurred_at": at(DAY + timedelta(days=30)).isoformat()}

    results = run_together(
        len(events),
        lambda i: committer.apply(
            events[i], program=railway, received_at=at(DAY, 9), tolerance=TOLERANCE
        ),
    )

    refused = {r.id: r.error["code"] for r in results if r.status == "rejected"}
    assert refused == {
        "ok-3": "rider_not_member",
        "ok-7": "invalid_event",
        "ok-9": "event_in_future",
    }
    assert max(batches.sizes) > 3, f"the bad events were not in a busy batch: {batches.sizes}"
    uow = SqlUnitOfWork(engine)
    with uow:
        (ride,) = [b for b in uow.ledger.balances_of(member) if b.kind == "ride"]
        applied = [r.id for r in results if r.status == "applied"]
        assert len(applied) == 9
        assert all(uow.events.get(event_id) is not None for event_id in applied)
        assert uow.events.get("ok-3") is None
    assert ride.pending > 0
    assert check_ledger(uow).ok


def test_an_event_sent_twice_at_once_is_applied_once(engine, railway, vault, enrol_member):
    member = enrol_member()
    committer = EventCommitter(engine, vault, window=0.1, most=50)
    (event,) = purchases(member, "twice", 1)

    results = run_together(
        2,
        lambda _i: committer.apply(
            event, program=railway, received_at=at(DAY, 9), tolerance=TOLERANCE
        ),
    )

    assert sorted(r.status for r in results) == ["applied", "duplicate"]
    uow = SqlUnitOfWork(engine)
    with uow:
        promised = uow.ledger.find_by_key("twice-0:ride")
        (ride,) = [b for b in uow.ledger.balances_of(member) if b.kind == "ride"]
    assert promised is not None
    assert ride.pending == promised.entries[1].points > 0
