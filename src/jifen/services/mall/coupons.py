"""Coupons and vouchers: codes issued by mall orders or granted as benefits, redeemed once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from jifen.domain.calendar import local_date, local_datetime
from jifen.domain.errors import IdempotencyConflict, InvalidRequest, JifenError, NotFound
from jifen.programs.schema import Program
from jifen.services.members import require_active_member
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.mall_repository import Coupon

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O or U to misread
CODE_LENGTH = 12  # 60 random bits


class CouponUsed(JifenError):
    """The coupon was redeemed already: each code is good for one use."""

    code = "coupon_used"
    status = 409


class CouponExpired(JifenError):
    """The coupon's last valid day has passed."""

    code = "coupon_expired"
    status = 409


@dataclass(frozen=True, slots=True)
class Redeemed:
    """A coupon after redemption; `replayed` when this redemption id had already used it."""

    coupon: Coupon
    replayed: bool = False


def new_code() -> str:
    """A fresh random coupon code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """A code as stored, from one typed with spaces, dashes or in lower case."""
    return code.strip().upper().replace("-", "").replace(" ", "")


def coupon_status(coupon: Coupon, *, program: Program, now: datetime) -> str:
    """`used`, `expired` (its last valid day is before the local day of `now`) or `active`."""
    if coupon.used_at is not None:
        return "used"
    return "expired" if local_date(now, program.timezone) > coupon.valid_until else "active"


def issue_coupons(
    uow: UnitOfWork,
    *,
    member_id: int,
    coupon_type: str,
    count: int,
    valid_days: int,
    source: str,
    issued_at: datetime,
) -> list[Coupon]:
    """Issue `count` coupons valid `valid_days` days from `issued_at`'s date (that day included).

    Runs inside the caller's unit of work; `issued_at` is the program's local time.
    """
    if not 1 <= valid_days <= 3650:
        raise InvalidRequest(f"A coupon is valid for 1 to 3650 days, not {valid_days}.")
    valid_until = issued_at.date() + timedelta(days=valid_days - 1)
    codes: set[str] = set()
    while len(codes) < count:
        fresh = {new_code() for _ in range(count - len(codes))} - codes
        codes |= fresh - uow.mall.taken_codes(sorted(fresh))
    issued = [
        Coupon(code, coupon_type, member_id, source, issued_at, valid_until, None, None)
        for code in sorted(codes)
    ]
    uow.mall.insert_coupons(issued)
    return issued


def grant_coupon(
    uow: UnitOfWork,
    *,
    program: Program,
    member_id: int,
    type: str,  # noqa: A002 - the coupon's type, as the API names it
    valid_days: int,
    source: str,
    now: datetime,
) -> Coupon:
    """Give a member one coupon without points (a tier benefit, a goodwill gesture).

    `source` is the idempotency key (e.g. `grant:<caller id>`, `benefit:birthday:2025:<member>`): a
    second grant from the same source to the member returns the first coupon; one to another
    member or with another type or validity raises `IdempotencyConflict`. `now` is the instant;
    the coupon is valid from its program-local day.
    """
    now = local_datetime(now, program.timezone)
    with uow:
        if not uow.mall.lock_member(member_id):
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        for coupon in uow.mall.coupons_from(source):
            if (coupon.member_id, coupon.type, _valid_days(coupon, now)) != (
                member_id,
                type,
                valid_days,
            ):
                raise IdempotencyConflict(source)
            return coupon
        require_active_member(uow, member_id)
        [coupon] = issue_coupons(
            uow,
            member_id=member_id,
            coupon_type=type,
            count=1,
            valid_days=valid_days,
            source=source,
            issued_at=now,
        )
        uow.commit()
    return coupon


def _valid_days(coupon: Coupon, now: datetime) -> int:
    issued_on = coupon.issued_at.astimezone(now.tzinfo).date()
    return (coupon.valid_until - issued_on).days + 1


def redeem_coupon(
    uow: UnitOfWork, *, program: Program, code: str, redemption_id: str, now: datetime
) -> Redeemed:
    """Use a coupon once, for the integrator's `redemption_id`; the same id again is a repeat.

    Raises `NotFound` for an unknown code, `CouponUsed` when another redemption used it and
    `CouponExpired` after its last valid day (`now` is the instant; days are the program's).
    """
    now = local_datetime(now, program.timezone)
    code = normalise_code(code)
    with uow:
        coupon = uow.mall.get_coupon(code)
        if coupon is None:
            raise NotFound(f"No coupon {code!r}.", code=code)
        if coupon.used_at is None:
            require_active_member(uow, coupon.member_id)
            if now.date() > coupon.valid_until:
                raise CouponExpired(
                    f"Coupon {code} was valid until {coupon.valid_until}.",
                    code=code,
                    valid_until=coupon.valid_until.isoformat(),
                )
            if uow.mall.use_coupon(code, at=now, used_by=redemption_id):
                coupon = uow.mall.get_coupon(code)
                uow.commit()
                assert coupon is not None  # noqa: S101 - just updated
                return Redeemed(coupon)
            coupon = uow.mall.get_coupon(code)  # a concurrent redemption won; see whose it was
            assert coupon is not None  # noqa: S101 - coupons are never deleted
    if coupon.used_by != redemption_id:
        used_at = None if coupon.used_at is None else coupon.used_at.astimezone(now.tzinfo)
        when = "" if used_at is None else f" at {used_at.isoformat()}"
        raise CouponUsed(
            f"Coupon {code} was already used{when}; each coupon is good for one use.",
            code=code,
            used_at=None if used_at is None else used_at.isoformat(),
        )
    return Redeemed(coupon, replayed=True)


def member_coupons(uow: UnitOfWork, *, member_id: int) -> list[Coupon]:
    """A member's coupons, newest first."""
    with uow:
        if uow.members.get(member_id) is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        return uow.mall.coupons_of(member_id)
