"""Member tokens of /v1/me at the service: issue, slide, cap, revoke; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from jifen.services import member_tokens
from jifen.services.keys import create_key
from jifen.services.member_tokens import MemberTokenInvalid
from jifen.storage.tables import member_tokens as table
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0

MINUTE = timedelta(minutes=1)


def test_a_token_lasts_thirty_minutes_from_its_last_use(
    uow: SqlUnitOfWork, enrol_member: Callable[..., int]
):
    member = enrol_member()
    issued = member_tokens.issue(uow, member_id=member, now=T0)
    assert issued.expires_at == T0 + 30 * MINUTE

    used = member_tokens.authenticate(uow, token=issued.token, now=T0 + 20 * MINUTE)
    assert (used.member_id, used.expires_at) == (member, T0 + 50 * MINUTE)
    member_tokens.authenticate(uow, token=issued.token, now=T0 + 49 * MINUTE)
    with pytest.raises(MemberTokenInvalid):
        member_tokens.authenticate(uow, token=issued.token, now=T0 + 80 * MINUTE)


def test_however_often_it_is_used_a_token_ends_twelve_hours_after_sign_in(
    uow: SqlUnitOfWork, enrol_member: Callable[..., int]
):
    issued = member_tokens.issue(uow, member_id=enrol_member(), now=T0)
    for step in range(1, 29):  # a use every 25 minutes, to 11 h 40
        used = member_tokens.authenticate(uow, token=issued.token, now=T0 + 25 * step * MINUTE)
    assert used.expires_at == T0 + timedelta(hours=12)  # not 12 h 10
    with pytest.raises(MemberTokenInvalid):
        member_tokens.authenticate(uow, token=issued.token, now=T0 + timedelta(hours=12))


def test_only_the_hash_is_stored_and_a_revoked_token_is_refused(
    uow: SqlUnitOfWork, enrol_member: Callable[..., int]
):
    issued = member_tokens.issue(uow, member_id=enrol_member(), now=T0)
    with uow:
        stored = uow.connection.execute(select(table.c.token_hash)).scalars().all()
    assert issued.token not in stored
    assert len(stored) == 1

    bearer = member_tokens.authenticate(uow, token=issued.token, now=T0 + MINUTE)
    member_tokens.sign_out(uow, bearer=bearer, now=T0 + 2 * MINUTE)
    with pytest.raises(MemberTokenInvalid):
        member_tokens.authenticate(uow, token=issued.token, now=T0 + 3 * MINUTE)


def test_an_api_key_is_no_member_token(uow: SqlUnitOfWork, enrol_member: Callable[..., int]):
    enrol_member()
    key = create_key(uow, role="admin", label=None, now=T0).token
    for token in (key, None, "", "jm_", "jm_" + "A" * 43):
        with pytest.raises(MemberTokenInvalid):
            member_tokens.authenticate(uow, token=token, now=T0)


def test_uses_within_a_minute_of_the_last_recorded_one_write_nothing(
    uow: SqlUnitOfWork, enrol_member: Callable[..., int]
):
    issued = member_tokens.issue(uow, member_id=enrol_member(), now=T0)

    def stored() -> tuple[object, object]:
        with uow:
            return uow.connection.execute(select(table.c.last_used_at, table.c.expires_at)).one()

    member_tokens.authenticate(uow, token=issued.token, now=T0 + 10 * MINUTE)
    recorded = stored()
    for seconds in (1, 30, 59):
        again = member_tokens.authenticate(
            uow, token=issued.token, now=T0 + 10 * MINUTE + timedelta(seconds=seconds)
        )
        assert again.expires_at == T0 + 40 * MINUTE
    assert stored() == recorded, "a burst of calls within a minute wrote to the token's row"

    later = member_tokens.authenticate(uow, token=issued.token, now=T0 + 11 * MINUTE)
    assert later.expires_at == T0 + 41 * MINUTE
    assert stored() != recorded
