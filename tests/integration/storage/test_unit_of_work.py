"""The SQL unit of work: a transaction per outermost `with`, every repository reached through it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

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
