"""Services are given the instant `now` and decide on the program's local day (Asia/Shanghai).

23:30 UTC is already 07:30 the next morning in Shanghai, so a beneficiary named, a balance read or
a coupon granted then belongs to the next day; 15:59 UTC is still 23:59 the same day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from jifen.programs.schema import Program
from jifen.services import beneficiaries, ledger, mall
from jifen.services.views import member as member_view
from jifen.storage.crypto import IdentityVault
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import resident_id


def test_a_beneficiary_named_late_in_the_utc_evening_is_added_on_the_next_local_day(
    uow: SqlUnitOfWork, railway: Program, vault: IdentityVault, enrol_member
) -> None:
    member = enrol_member()
    added = beneficiaries.add_beneficiary(
        uow,
        program=railway,
        vault=vault,
        member_id=member,
        request_id="b1",
        name="李四",
        id_type="resident_id",
        id_number=resident_id(date(1992, 5, 1), 555),
        birth_date=None,
        now=datetime(2025, 3, 19, 23, 30, tzinfo=UTC),  # 2025-03-20 07:30 in Shanghai
    )

    assert added.added_on == date(2025, 3, 20)
    assert added.effective_from == date(2025, 5, 19)  # the railway's 60 days' wait
    assert added.status == "waiting"


def test_points_expiring_on_a_day_are_not_spendable_once_that_day_begins_in_shanghai(
    uow: SqlUnitOfWork, railway: Program, enrol_member
) -> None:
    member = enrol_member()
    ledger.credit(
        uow,
        key="act",
        member_id=member,
        kind="activity",
        points=300,
        occurred_at=datetime(2025, 3, 1, 9, tzinfo=UTC),
        expires_on=date(2025, 3, 20),  # the first day they can no longer be spent
    )

    def spendable(now: datetime) -> int:
        summary = member_view.member_summary(uow, program=railway, member_id=member, now=now)
        return summary.available["activity"]

    assert spendable(datetime(2025, 3, 19, 15, 59, tzinfo=UTC)) == 300  # 23:59 on the 19th
    assert spendable(datetime(2025, 3, 19, 16, 0, tzinfo=UTC)) == 0  # midnight, the 20th


def test_a_coupon_is_valid_through_local_days_not_utc_ones(
    uow: SqlUnitOfWork, railway: Program, enrol_member
) -> None:
    member = enrol_member()
    granted = datetime(2025, 5, 31, 23, 30, tzinfo=UTC)  # 2025-06-01 07:30 in Shanghai
    coupon = mall.grant_coupon(
        uow, program=railway, member_id=member, type="tea", valid_days=1, source="g1", now=granted
    )

    assert coupon.valid_until == date(2025, 6, 1)
    last_minute = datetime(2025, 6, 1, 15, 59, tzinfo=UTC)  # 23:59 on June 1st in Shanghai
    next_day = datetime(2025, 6, 1, 16, 30, tzinfo=UTC)  # 00:30 on June 2nd
    assert mall.coupon_status(coupon, program=railway, now=last_minute) == "active"
    assert mall.coupon_status(coupon, program=railway, now=next_day) == "expired"
    with pytest.raises(mall.CouponExpired):
        mall.redeem_coupon(uow, program=railway, code=coupon.code, redemption_id="r1", now=next_day)
