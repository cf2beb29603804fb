"""Program reports straight from the ledger: members, points, rates and liability over a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from jifen.domain.errors import InvalidRequest
from jifen.domain.ledger import PROGRAM_EXPIRED, PROGRAM_REDEEMED
from jifen.programs.schema import Program
from jifen.storage.uow import UnitOfWork

MAX_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Summary:
    """The summary report of SPEC §12; definitions in docs/api.md."""

    members_total: int
    members_new: int
    members_active: int
    issued: int
    redeemed: int
    expired: int
    outstanding: int
    repurchase_rate: float
    breakage_rate: float
    liability_fen: int
    tiers: dict[str, int]


def _rate(part: int, whole: int) -> Fraction:
    return Fraction(part, whole) if whole else Fraction(0)


def summary(uow: UnitOfWork, *, program: Program, start: date, end: date) -> Summary:
    """Members, points and rates for `start`..`end` (program-local days, both included).

    Liability values the points outstanding at the end at the redemption value (100 points =
    ¥1 in the presets), less the share the period's breakage says will never be redeemed.
    """
    if end < start or (end - start).days > MAX_DAYS:
        raise InvalidRequest(
            f"The period {start}..{end} is not valid: `to` must not be before `from`, and a "
            f"report covers at most {MAX_DAYS} days.",
            start=str(start),
            end=str(end),
        )
    zone = ZoneInfo(program.timezone)
    since = datetime.combine(start, time(0), tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
    kinds = [k.code for k in program.point_kinds if k.spendable]
    with uow:
        r = uow.reports
        total, new = r.member_counts(since=since, until=until)
        active, again = r.earners(kinds=kinds, since=since, until=until)
        issued = r.issued(kinds=kinds, since=since, until=until)
        redeemed = r.account_total(PROGRAM_REDEEMED, kinds=kinds, since=since, until=until)
        expired = r.account_total(PROGRAM_EXPIRED, kinds=kinds, since=since, until=until)
        outstanding = r.account_total("member:available", kinds=kinds, since=None, until=until)
        tiers = r.tier_counts()
    breakage = _rate(expired, expired + redeemed)
    value_fen = Fraction(outstanding * 100, program.redemption.points_per_yuan)
    liability = value_fen * (1 - breakage)
    return Summary(
        total,
        new,
        active,
        issued,
        redeemed,
        expired,
        outstanding,
        float(_rate(again, active)),
        float(breakage),
        int(liability + Fraction(1, 2)),
        {level.code: tiers.get(level.code, 0) for level in program.tiers.levels},
    )
