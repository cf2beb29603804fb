"""SQL for entitlements: who is due one today, issuing them, lapsing them, and each use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, extract, insert, or_, select, tuple_, update
from sqlalchemy.engine import Row

from jifen.domain.entitlements import Entitlement, Issue, Trigger
from jifen.domain.tiers import TierChangeReason, TierState
from jifen.storage.tables import entitlement_uses, entitlements, members, tier_history

STARTS = (TierChangeReason.UPGRADE, TierChangeReason.REQUALIFIED, TierChangeReason.DOWNGRADE)
"""Tier decisions that start a new tier period (a grace only extends the old one)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """An active member due an issue today, in the tier they hold now."""

    member_id: int
    tier: TierState


@dataclass(frozen=True, slots=True)
class EntitlementUse:
    """One use of an entitlement, under the integrator's id."""

    id: str
    entitlement_id: int
    used_at: datetime
    location: str | None
    recorded_at: datetime


class EntitlementRepository:
    """Reads and writes of `entitlements` and `entitlement_uses`."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def tier_starts(self, *, day: date, tiers: list[str]) -> list[Candidate]:
        """Active members whose tier period in one of `tiers` started on `day` and still runs."""
        m, h = members.c, tier_history.c
        query = (
            select(m.id, m.tier_code, m.tier_valid_until, m.tier_in_grace)
            .select_from(members.join(tier_history, h.member_id == m.id))
            .where(
                h.decided_on == day,
                h.reason.in_([str(reason) for reason in STARTS]),
                h.new_code == m.tier_code,
                m.tier_code.in_(tiers),
                m.status == "active",
            )
            .distinct()
            .order_by(m.id)
        )
        return [_candidate(row) for row in self.connection.execute(query)]

    def birthdays(self, *, day: date, tiers: list[str]) -> list[Candidate]:
        """Active members in one of `tiers` born on `day`'s month and day (29 Feb on 28 Feb)."""
        m = members.c
        month, mday = extract("month", m.birth_date), extract("day", m.birth_date)
        same = and_(month == day.month, mday == day.day)
        if (day.month, day.day) == (2, 28):
            same = or_(same, and_(month == 2, mday == 29))  # refined by `is_birthday`
        query = (
            select(m.id, m.tier_code, m.tier_valid_until, m.tier_in_grace)
            .where(same, m.tier_code.in_(tiers), m.status == "active")
            .order_by(m.id)
        )
        return [_candidate(row) for row in self.connection.execute(query)]

    def birth_dates(self, member_ids: list[int]) -> dict[int, date]:
        """The birth dates of these members (those that have one)."""
        query = select(members.c.id, members.c.birth_date).where(members.c.id.in_(member_ids))
        return {row.id: row.birth_date for row in self.connection.execute(query) if row.birth_date}

    def issue(self, issues: list[Issue]) -> list[Entitlement]:
        """Store the issues not stored before (by member, code and day issued for); the new ones."""
        if not issues:
            return []
        c = entitlements.c
        keys = [(i.member_id, i.code, i.issued_for) for i in issues]
        taken = {
            (row.member_id, row.code, row.issued_for)
            for row in self.connection.execute(
                select(c.member_id, c.code, c.issued_for).where(
                    tuple_(c.member_id, c.code, c.issued_for).in_(keys)
                )
            )
        }
        fresh = [i for i in issues if (i.member_id, i.code, i.issued_for) not in taken]
        if not fresh:
            return []
        self.connection.execute(
            insert(entitlements),
            [
                {
                    "member_id": i.member_id,
                    "code": i.code,
                    "tier_code": i.tier_code,
                    "trigger": str(i.trigger),
                    "issued_for": i.issued_for,
                    "issued_on": i.issued_on,
                    "valid_until": i.valid_until,
                    "quantity": i.quantity,
                    "used": 0,
                }
                for i in fresh
            ],
        )
        made = [(i.member_id, i.code, i.issued_for) for i in fresh]
        query = (
            select(entitlements)
            .where(tuple_(c.member_id, c.code, c.issued_for).in_(made))
            .order_by(c.id)
        )
        return [_entitlement(row) for row in self.connection.execute(query)]

    def lapse(self, *, day: date) -> int:
        """Mark lapsed on `day` the still-valid entitlements whose member left their tier."""
        c = entitlements.c
        current = select(members.c.tier_code).where(members.c.id == c.member_id)
        result = self.connection.execute(
            update(entitlements)
            .where(
                c.lapsed_on.is_(None),
                c.valid_until >= day,
                or_(current.scalar_subquery().is_(None), c.tier_code != current.scalar_subquery()),
            )
            .values(lapsed_on=day)
        )
        return result.rowcount

    def of_member(self, member_id: int) -> list[Entitlement]:
        """A member's entitlements, newest first."""
        c = entitlements.c
        query = (
            select(entitlements)
            .where(c.member_id == member_id)
            .order_by(c.issued_on.desc(), c.id.desc())
        )
        return [_entitlement(row) for row in self.connection.execute(query)]

    def get(self, entitlement_id: int, *, lock: bool = False) -> Entitlement | None:
        """One entitlement, its row locked for a use when `lock`."""
        query = select(entitlements).where(entitlements.c.id == entitlement_id)
        row = self.connection.execute(query.with_for_update() if lock else query).first()
        return None if row is None else _entitlement(row)

    def get_use(self, use_id: str) -> EntitlementUse | None:
        """The use recorded under `use_id`, if any."""
        query = select(entitlement_uses).where(entitlement_uses.c.id == use_id)
        row = self.connection.execute(query).first()
        return None if row is None else EntitlementUse(*row)

    def record_use(self, use: EntitlementUse) -> bool:
        """Count one use and keep it; False when none was left (the row is locked by `get`)."""
        c = entitlements.c
        counted = self.connection.execute(
            update(entitlements)
            .where(c.id == use.entitlement_id, c.used < c.quantity)
            .values(used=c.used + 1)
        )
        if counted.rowcount != 1:
            return False
        self.connection.execute(
            insert(entitlement_uses).values(
                id=use.id,
                entitlement_id=use.entitlement_id,
                used_at=use.used_at,
                location=use.location,
                recorded_at=use.recorded_at,
            )
        )
        return True


def _candidate(row: Row[*tuple[Any, ...]]) -> Candidate:
    return Candidate(row[0], TierState(row[1], row[2], bool(row[3])))


def _entitlement(row: Row[Any]) -> Entitlement:
    r = row._mapping
    return Entitlement(
        id=r["id"],
        member_id=r["member_id"],
        code=r["code"],
        tier_code=r["tier_code"],
        trigger=Trigger(r["trigger"]),
        issued_for=r["issued_for"],
        issued_on=r["issued_on"],
        valid_until=r["valid_until"],
        quantity=r["quantity"],
        used=r["used"],
        lapsed_on=r["lapsed_on"],
    )
