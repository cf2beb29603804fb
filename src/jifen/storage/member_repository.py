"""SQL for members: real-name identity (encrypted, hashed for lookup), status and tier."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Row,
    Select,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from jifen.domain.tiers import TierDecision, TierState
from jifen.storage.ledger_repository import Balance
from jifen.storage.rows import inserted_id
from jifen.storage.tables import balances, lots, members, tier_history


class IdentityTaken(Exception):
    """A member with this identity hash exists (raised inside a rolled-back unit of work)."""


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A member as stored; the ID number and phone stay encrypted here."""

    id: int
    status: str
    joined_at: datetime
    name: str | None
    id_type: str | None
    id_number_enc: str | None
    phone_enc: str | None
    birth_date: date | None
    tier: TierState | None
    redemption_unlocked_on: date | None = None


@dataclass(frozen=True, slots=True)
class LotFigures:
    """A member's open lots on a day, in the three sums the member summary shows.

    `credited` is by kind the points left in lots credited in the window asked for; `lapsing` the
    points of lots whose expiry is after the day and on or before the horizon, as `(first day
    void, kind, points)`, soonest first; `lapsed` by kind the points of lots already expired on
    the day (the daily job has not run yet), which cannot be spent.
    """

    credited: dict[str, int]
    lapsing: list[tuple[date, str, int]]
    lapsed: dict[str, int]


@dataclass(frozen=True, slots=True)
class TierChange:
    """One row of a member's tier history."""

    decided_on: date
    old_code: str | None
    new_code: str
    valid_until: date | None
    reason: str
    qualifying_points: int


def _record(row: Row[Any]) -> MemberRecord:
    tier = (
        None
        if row.tier_code is None
        else TierState(row.tier_code, row.tier_valid_until, row.tier_in_grace)
    )
    return MemberRecord(
        row.id,
        row.status,
        row.joined_at,
        row.name,
        row.id_type,
        row.id_number_enc,
        row.phone_enc,
        row.birth_date,
        tier,
        row.redemption_unlocked_on,
    )


# Built once: the API reads these on every `GET /v1/members/{id}`.
_BY_ID = select(members).where(members.c.id == bindparam("member_id"))
_WITH_BALANCES = (
    select(
        members,
        balances.c.kind.label("balance_kind"),
        balances.c.available.label("balance_available"),
        balances.c.pending.label("balance_pending"),
        balances.c.version.label("balance_version"),
    )
    .select_from(members.outerjoin(balances, balances.c.member_id == members.c.id))
    .where(members.c.id == bindparam("member_id"))
    .order_by(balances.c.kind)
)


def _lots_query() -> Select[Any]:
    l_ = lots.c
    today = bindparam("today", type_=Date)
    soon = case(
        (
            and_(l_.expires_on > today, l_.expires_on <= bindparam("horizon", type_=Date)),
            l_.expires_on,
        )
    )
    lapsed = case((l_.expires_on <= today, 1), else_=0)
    credited = case(
        (
            and_(l_.credited_on >= bindparam("since", type_=Date), l_.credited_on <= today),
            l_.remaining,
        )
    )
    return (
        select(
            l_.kind,
            soon.label("soon"),
            lapsed.label("lapsed"),
            func.sum(l_.remaining),
            func.coalesce(func.sum(credited), 0),
        )
        .where(l_.member_id == bindparam("member_id"), l_.remaining > 0)
        .group_by(l_.kind, literal_column("soon"), literal_column("lapsed"))
    )


_LOTS = _lots_query()


class MemberRepository:
    """Reads and writes members on one connection inside a unit of work."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(
        self,
        *,
        name: str,
        id_type: str,
        id_number_enc: str,
        id_hash: str,
        number_hash: str,
        phone_enc: str | None,
        phone_hash: str | None,
        birth_date: date,
        joined_at: datetime,
        tier: TierState,
    ) -> int:
        """Insert a member; `IdentityTaken` when the identity or the number is already enrolled."""
        statement = insert(members).values(
            name=name,
            id_type=id_type,
            id_number_enc=id_number_enc,
            id_hash=id_hash,
            number_hash=number_hash,
            phone_enc=phone_enc,
            phone_hash=phone_hash,
            birth_date=birth_date,
            joined_at=joined_at,
            status="active",
            tier_code=tier.code,
            tier_valid_until=tier.valid_until,
            tier_in_grace=tier.in_grace,
        )
        try:
            result = self.connection.execute(statement)
        except IntegrityError as error:
            if "id_hash" in str(error.orig) or "number_hash" in str(error.orig):
                raise IdentityTaken(id_hash) from error
            raise
        return inserted_id(result)

    def get(self, member_id: int) -> MemberRecord | None:
        """A member by id."""
        row = self.connection.execute(_BY_ID, {"member_id": member_id}).first()
        return None if row is None else _record(row)

    def with_balances(self, member_id: int) -> tuple[MemberRecord, list[Balance]] | None:
        """A member by id and their stored balances (one per point kind), in one query."""
        rows = self.connection.execute(_WITH_BALANCES, {"member_id": member_id}).all()
        if not rows:
            return None
        held = [
            Balance(
                member_id,
                r.balance_kind,
                r.balance_available,
                r.balance_pending,
                r.balance_version,
            )
            for r in rows
            if r.balance_kind is not None
        ]
        return _record(rows[0]), held

    def lot_figures(self, member_id: int, *, today: date, horizon: date, since: date) -> LotFigures:
        """The member's open lots summed for `today` in one query (see `LotFigures`).

        Lots credited from `since` to `today` count in `credited`; lots lapsing in
        `(today, horizon]` in `lapsing`; lots with an expiry on or before `today` in `lapsed`.
        """
        values = {"member_id": member_id, "today": today, "horizon": horizon, "since": since}
        figures = LotFigures({}, [], {})
        for kind, day, is_lapsed, points, credited in self.connection.execute(_LOTS, values):
            figures.credited[kind] = figures.credited.get(kind, 0) + int(credited)
            if day is not None:
                figures.lapsing.append((day, kind, int(points)))
            elif is_lapsed:
                figures.lapsed[kind] = int(points)
        figures.lapsing.sort()
        return figures

    def find_by_identity(self, id_hash: str) -> MemberRecord | None:
        """The member enrolled with this identity hash, if any."""
        row = self.connection.execute(select(members).where(members.c.id_hash == id_hash)).first()
        return None if row is None else _record(row)

    def find_by_number(self, number_hash: str, id_hashes: Collection[str]) -> MemberRecord | None:
        """The member enrolled with this ID number under any type, if any.

        `id_hashes` are the number's identity hashes under every type, which find the members
        enrolled before `number_hash` was stored.
        """
        m = members.c
        query = select(members).where(or_(m.number_hash == number_hash, m.id_hash.in_(id_hashes)))
        row = self.connection.execute(query.limit(1)).first()
        return None if row is None else _record(row)

    def find_by_phone(self, phone_hash: str) -> list[MemberRecord]:
        """Members with this phone hash (a phone is not unique across members)."""
        query = select(members).where(members.c.phone_hash == phone_hash).order_by(members.c.id)
        return [_record(row) for row in self.connection.execute(query)]

    def set_phone(self, member_id: int, *, phone_enc: str, phone_hash: str) -> None:
        """Replace the member's phone: its ciphertext and its lookup hash together."""
        self.connection.execute(
            update(members)
            .where(members.c.id == member_id)
            .values(phone_enc=phone_enc, phone_hash=phone_hash)
        )

    def set_status(self, member_id: int, status: str, *, current: str) -> bool:
        """Move the member from `current` to `status`; False when it is no longer `current`.

        The compare-and-set makes two concurrent changes of one member queue on its row: the
        second finds the status changed and is told so instead of overwriting it.
        """
        result = self.connection.execute(
            update(members)
            .where(members.c.id == member_id, members.c.status == current)
            .values(status=status)
        )
        return result.rowcount == 1

    def apply_tier(self, decision: TierDecision) -> None:
        """Store a tier decision on the member and in the tier history."""
        new = decision.new
        self.connection.execute(
            update(members)
            .where(members.c.id == decision.member_id)
            .values(
                tier_code=new.code, tier_valid_until=new.valid_until, tier_in_grace=new.in_grace
            )
        )
        self.record_tier(
            member_id=decision.member_id,
            change=TierChange(
                decision.decided_on,
                decision.old.code,
                new.code,
                new.valid_until,
                str(decision.reason),
                decision.qualifying_points,
            ),
        )

    def record_tier(self, *, member_id: int, change: TierChange) -> None:
        """Append a row to the member's tier history."""
        self.connection.execute(
            insert(tier_history).values(
                member_id=member_id,
                decided_on=change.decided_on,
                old_code=change.old_code,
                new_code=change.new_code,
                valid_until=change.valid_until,
                reason=change.reason,
                qualifying_points=change.qualifying_points,
            )
        )

    def tier_history(self, member_id: int) -> list[TierChange]:
        """A member's tier changes, oldest first."""
        h = tier_history.c
        query = select(tier_history).where(h.member_id == member_id).order_by(h.decided_on, h.id)
        return [
            TierChange(
                r.decided_on, r.old_code, r.new_code, r.valid_until, r.reason, r.qualifying_points
            )
            for r in self.connection.execute(query)
        ]
