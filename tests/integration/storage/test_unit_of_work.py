"""The SQL unit of work: a transaction per outermost `with`, every repository reached through it."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from jifen.domain.errors import Contended
from jifen.storage.event_repository import StoredEvent
from jifen.storage.ledger_repository import KeyTaken
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0


def _event(event_id: str) -> StoredEvent:
    return StoredEvent(event_id, "activity.completed", T0, None, {}, "fingerprint", {})


def test_each_transaction_reads_through_its_own_connection(
    engine: Engine, new_member: Callable[[], int]
):
    uow = SqlUnitOfWork(engine)
    member = new_member()
    for _ in range(3):  # a repository kept from a closed transaction would fail here
        with uow:
            assert uow.members.get(member) is not None
            assert uow.partners.get("nobody") is None


def test_a_write_without_commit_is_rolled_back_with_the_repositories_it_used(engine: Engine):
    uow = SqlUnitOfWork(engine)
    with uow:
        uow.events.add(_event("e-rolled-back"))
    with uow:
        assert uow.events.get("e-rolled-back") is None


def test_a_nested_with_shares_the_outer_transaction_and_its_repositories(engine: Engine):
    uow = SqlUnitOfWork(engine)
    with uow:
        outer = uow.events
        with uow:
            assert uow.events is outer
            uow.events.add(_event("e-nested"))
            uow.commit()  # not the outermost: nothing is kept yet
        uow.commit()
    with uow:
        assert uow.events.get("e-nested") is not None


def test_entering_builds_no_repository_until_one_is_read(engine: Engine):
    uow = SqlUnitOfWork(engine)
    with uow:
        assert uow.built == []
        uow.ledger.member_exists(1)
        assert uow.built == ["ledger"]
    assert uow.built == []


def test_an_event_id_stored_twice_is_a_taken_key_not_a_database_error(engine: Engine):
    uow = SqlUnitOfWork(engine)
    with uow:
        uow.events.add(_event("e-once"))
        uow.commit()
    with uow, pytest.raises(KeyTaken):
        uow.events.add(_event("e-once"))


@pytest.mark.postgres_only
def test_the_loser_of_a_deadlock_hears_contended_and_nothing_of_it_is_kept(
    engine: Engine, new_member: Callable[[], int]
):
    first, second = new_member(), new_member()
    with SqlUnitOfWork(engine) as uow:
        uow.ledger.lock_balances([(first, "ride"), (second, "ride")])  # both rows exist
        uow.commit()
    both_hold_one = threading.Barrier(2)
    outcomes: dict[str, BaseException | None] = {}

    def take(name: str, order: list[int]) -> None:
        try:
            with SqlUnitOfWork(engine) as uow:
                uow.ledger.lock_balance(order[0], "ride")
                both_hold_one.wait(timeout=10)
                uow.ledger.lock_balance(order[1], "ride")  # crosswise: one of the two must lose
                uow.events.add(_event(f"e-{name}"))
                uow.commit()
            outcomes[name] = None
        except BaseException as error:  # noqa: BLE001 - the test reads it
            outcomes[name] = error

    threads = [
        threading.Thread(target=take, args=("a", [first, second])),
        threading.Thread(target=take, args=("b", [second, first])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lost = [name for name, error in outcomes.items() if error is not None]
    assert len(lost) == 1
    assert isinstance(outcomes[lost[0]], Contended)
    with SqlUnitOfWork(engine) as uow:
        assert uow.events.get(f"e-{lost[0]}") is None
        assert uow.events.get(f"e-{'ab'.replace(lost[0], '')}") is not None
