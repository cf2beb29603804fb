"""Portal sign-in: one-time links and SMS codes (expiry, single use, tries, no enumeration)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

from jifen.domain.identity import InvalidIdentity
from jifen.programs.schema import Program
from jifen.services.members import enrol
from jifen.services.portal_sign_in import (
    CodeNotValid,
    LinkNotValid,
    OutboxSmsSender,
    TooManyCodes,
    check_code,
    create_link,
    request_code,
    use_link,
)
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine
from jifen.storage.tables import portal_links, portal_sms_codes
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, resident_id
from tests.integration.services.test_ledger_concurrency import run_together

PHONE = "13812345678"
STRANGER = "13900001111"


@pytest.fixture
def member(uow: SqlUnitOfWork, railway: Program, vault: IdentityVault) -> int:
    """A member enrolled with PHONE."""
    return enrol(
        uow,
        program=railway,
        vault=vault,
        name="王五",
        id_type="resident_id",
        id_number=resident_id(date(1988, 8, 8), 321),
        birth_date=date(1988, 8, 8),
        phone=PHONE,
        joined_at=T0,
    ).member_id


def _code(sender: OutboxSmsSender) -> str:
    match = re.search(r"\b(\d{6})\b", sender.sent[-1][1])
    assert match
    return match.group(1)


class TestOneTimeLinks:
    def test_a_link_signs_its_member_in_once(self, uow: SqlUnitOfWork, member: int) -> None:
        token = create_link(uow, member_id=member, now=T0)
        assert use_link(uow, token=token, now=T0 + timedelta(minutes=1)) == member
        with pytest.raises(LinkNotValid):
            use_link(uow, token=token, now=T0 + timedelta(minutes=2))

    def test_a_link_expires_after_its_minutes(self, uow: SqlUnitOfWork, member: int) -> None:
        token = create_link(uow, member_id=member, now=T0, minutes=15)
        with pytest.raises(LinkNotValid):
            use_link(uow, token=token, now=T0 + timedelta(minutes=15))
        fresh = create_link(uow, member_id=member, now=T0, minutes=15)
        assert use_link(uow, token=fresh, now=T0 + timedelta(minutes=14, seconds=59)) == member

    def test_only_a_hash_of_the_token_is_stored(
        self, uow: SqlUnitOfWork, engine: Engine, member: int
    ) -> None:
        token = create_link(uow, member_id=member, now=T0)
        assert len(token) >= 32  # 24 random bytes, URL-safe base64
        with engine.connect() as connection:
            stored = connection.execute(select(portal_links.c.token_hash)).scalar_one()
        assert token not in stored
        assert len(stored) == 64

    def test_an_unknown_token_is_refused(self, uow: SqlUnitOfWork, member: int) -> None:
        with pytest.raises(LinkNotValid):
            use_link(uow, token="made-up-token", now=T0)  # noqa: S106 - not a secret


class TestSmsCodes:
    def test_the_right_code_signs_in_once(
        self, uow: SqlUnitOfWork, vault: IdentityVault, member: int
    ) -> None:
        sender = OutboxSmsSender()
        asked = request_code(uow, vault=vault, sender=sender, phone=PHONE, now=T0)
        assert asked.masked_phone == "138****5678"
        assert sender.sent[0][0] == PHONE
        code = _code(sender)
        later = T0 + timedelta(minutes=1)
        assert check_code(uow, challenge_id=asked.challenge_id, code=code, now=later) == member
        with pytest.raises(CodeNotValid):
            check_code(uow, challenge_id=asked.challenge_id, code=code, now=later)

    def test_a_code_expires_after_five_minutes(
        self, uow: SqlUnitOfWork, vault: IdentityVault, member: int
    ) -> None:
        sender = OutboxSmsSender()
        asked = request_code(uow, vault=vault, sender=sender, phone=PHONE, now=T0)
        with pytest.raises(CodeNotValid):
            check_code(
                uow,
                challenge_id=asked.challenge_id,
                code=_code(sender),
                now=T0 + timedelta(minutes=5),
            )

    def test_five_wrong_tries_spoil_the_code(
        self, uow: SqlUnitOfWork, vault: IdentityVault, member: int
    ) -> None:
        sender = OutboxSmsSender()
        asked = request_code(uow, vault=vault, sender=sender, phone=PHONE, now=T0)
        right = _code(sender)
        wrong = f"{(int(right) + 1) % 10**6:06d}"
        for _ in range(5):
            with pytest.raises(CodeNotValid) as refused:
                check_code(uow, challenge_id=asked.challenge_id, code=wrong, now=T0)
            assert "attempts" not in refused.value.details
        with pytest.raises(CodeNotValid) as refused:
            check_code(uow, challenge_id=asked.challenge_id, code=right, now=T0)
        assert refused.value.details == {"attempts": 5}

    def test_an_unknown_phone_gets_the_same_answer_and_no_message(
        self, uow: SqlUnitOfWork, vault: IdentityVault, engine: Engine, member: int
    ) -> None:
        sender = OutboxSmsSender()
        known = request_code(uow, vault=vault, sender=sender, phone=PHONE, now=T0)
        unknown = request_code(uow, vault=vault, sender=sender, phone=STRANGER, now=T0)
        assert (known.sent, unknown.sent) == (True, True)
        assert unknown.masked_phone == "139****1111"
        assert [phone for phone, _ in sender.sent] == [PHONE]  # nothing went to the stranger
        with engine.connect() as connection:
            rows = connection.execute(select(portal_sms_codes.c.member_id)).scalars().all()
        assert sorted(rows, key=str) == sorted([member, None], key=str)
        for guess in ("000000", "123456"):
            with pytest.raises(CodeNotValid):
                check_code(uow, challenge_id=unknown.challenge_id, code=guess, now=T0)

    def test_one_code_a_minute_per_phone(
        self, uow: SqlUnitOfWork, vault: IdentityVault, member: int
    ) -> None:
        sender = OutboxSmsSender()
        first = request_code(uow, vault=vault, sender=sender, phone=PHONE, now=T0)
        again = request_code(
            uow, vault=vault, sender=sender, phone=PHONE, now=T0 + timedelta(seconds=59)
        )
        assert (again.challenge_id, again.sent, len(sender.sent)) == (first.challenge_id, False, 1)
        later = request_code(
            uow, vault=vault, sender=sender, phone="138 1234 5678", now=T0 + timedelta(minutes=1)
        )
        assert later.sent
        assert later.challenge_id != first.challenge_id
        assert len(sender.sent) == 2

    def test_five_codes_a_day_per_phone_then_none_until_a_day_has_passed(
        self, uow: SqlUnitOfWork, vault: IdentityVault, member: int
    ) -> None:
        sender = OutboxSmsSender()
        for n in range(5):
            asked = request_code(
                uow, vault=vault, sender=sender, phone=PHONE, now=T0 + timedelta(minutes=2 * n)
            )
            assert asked.sent
        with pytest.raises(TooManyCodes):
            request_code(uow, vault=vault, sender=sender, phone=PHONE, now=T0 + timedelta(hours=23))
        assert len(sender.sent) == 5
        assert request_code(
            uow, vault=vault, sender=sender, phone=PHONE, now=T0 + timedelta(days=1, minutes=1)
        ).sent

    def test_something_not_a_mobile_number_is_refused(
        self, uow: SqlUnitOfWork, vault: IdentityVault
    ) -> None:
        with pytest.raises(InvalidIdentity):
            request_code(uow, vault=vault, sender=OutboxSmsSender(), phone="12345", now=T0)


@pytest.mark.postgres_only
def test_a_link_opened_in_many_tabs_at_once_signs_in_once(engine: Engine, member: int) -> None:
    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=12)
    try:
        token = create_link(SqlUnitOfWork(wide), member_id=member, now=T0)
        results = run_together(8, lambda _: use_link(SqlUnitOfWork(wide), token=token, now=T0))
    finally:
        wide.dispose()
    assert results.count(member) == 1
    assert sum(isinstance(r, LinkNotValid) for r in results) == 7


@pytest.mark.postgres_only
def test_many_tries_at_once_count_at_most_five(
    engine: Engine, vault: IdentityVault, member: int
) -> None:
    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=12)
    sender = OutboxSmsSender()
    try:
        asked = request_code(SqlUnitOfWork(wide), vault=vault, sender=sender, phone=PHONE, now=T0)
        right = _code(sender)
        guesses = [f"{(int(right) + n) % 10**6:06d}" for n in range(1, 11)]
        results = run_together(
            10,
            lambda i: check_code(
                SqlUnitOfWork(wide), challenge_id=asked.challenge_id, code=guesses[i], now=T0
            ),
        )
        with pytest.raises(CodeNotValid) as spoilt:
            check_code(SqlUnitOfWork(wide), challenge_id=asked.challenge_id, code=right, now=T0)
    finally:
        wide.dispose()
    assert all(isinstance(r, CodeNotValid) for r in results)
    assert spoilt.value.details == {"attempts": 5}
    with engine.connect() as connection:
        tries = connection.execute(select(portal_sms_codes.c.attempts)).scalar_one()
    assert tries == 5
