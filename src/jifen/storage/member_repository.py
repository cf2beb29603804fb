"""SQL for members: real-name identity (encrypted, hashed for lookup), status and tier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from jifen.domain.tiers import TierDecision, TierState
from jifen.storage.tables import members, tier_history


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


@dataclass(frozen=True, slots=True)
class TierChange:
    """One row of a member's tier history."""

    decided_on: date
    old_code: str | None
    new_code: str
    valid_until: date | None
    reason: str
    qualifying_points: int


def _record(row: object) -> MemberRecord:
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
    )


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
        phone_enc: str | None,
        phone_hash: str | None,
        birth_date: date,
        joined_at: datetime,
        tier: TierState,
    ) -> int:
        """Insert a member; `IdentityTaken` when the identity hash is already enrolled."""
        statement = insert(members).values(
            name=name,
            id_type=id_type,
            id_number_enc=id_number_enc,
            id_hash=id_hash,
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
            if "id_hash" in str(error.orig):
                raise IdentityTaken(id_hash) from error
            raise
        return int(result.inserted_primary_key[0])

    def get(self, member_id: int) -> MemberRecord | None:
        """A member by id."""
        row = self.connection.execute(select(members).where(members.c.id == member_id)).first()
        return None if row is None else _record(row)

    def find_by_identity(self, id_hash: str) -> MemberRecord | None:
        """The member enrolled with this identity hash, if any."""
        row = self.connection.execute(select(members).where(members.c.id_hash == id_hash)).first()
        return None if row is None else _record(row)

    def find_by_phone(self, phone_hash: str) -> list[MemberRecord]:
        """Members with this phone hash (a phone is not unique across members)."""
        query = select(members).where(members.c.phone_hash == phone_hash).order_by(members.c.id)
        return [_record(row) for row in self.connection.execute(query)]

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
