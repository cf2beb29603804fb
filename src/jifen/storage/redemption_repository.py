"""SQL for beneficiaries and ticket redemptions (with their idempotent steps)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from jifen.domain.redemptions import RedemptionState
from jifen.storage.rows import from_row, inserted_id, newest_first, to_row
from jifen.storage.tables import (
    beneficiaries,
    beneficiary_requests,
    members,
    redemption_actions,
    redemptions,
)


class RedemptionTaken(Exception):
    """A concurrent request stored this redemption or step id first (the UoW is spoilt)."""


@dataclass(frozen=True, slots=True)
class BeneficiaryRecord:
    """A beneficiary (受让人) as stored; the ID number stays encrypted here."""

    id: int
    member_id: int
    name: str
    id_type: str
    id_number_enc: str
    id_hash: str
    added_on: date
    effective_from: date
    removed_on: date | None

    def status_on(self, day: date) -> str:
        """`removed`, `waiting` (before `effective_from`) or `effective` on `day`."""
        if self.removed_on is not None:
            return "removed"
        return "effective" if self.effective_from <= day else "waiting"


@dataclass(frozen=True, slots=True)
class RedemptionRecord:
    """A redemption: what it is for, what it has cost so far, and where it stands."""

    id: str
    member_id: int
    type: str
    passenger_member_id: int | None
    beneficiary_id: int | None
    ticket_ref: str | None
    fare_fen: int
    points: int
    status: str
    train: dict[str, Any]
    departure_at: datetime
    changes: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredAction:
    """One step of a redemption under the caller's id, with its request hash and first result."""

    id: str
    redemption_id: str
    action: str
    request_hash: str
    result: dict[str, Any]
    at: datetime


def _is_duplicate(error: IntegrityError) -> bool:
    # SQLite says "UNIQUE constraint failed", PostgreSQL "violates unique constraint".
    return "unique" in str(error.orig).lower()


class RedemptionRepository:
    """Beneficiaries and ticket redemptions (with their idempotent steps)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # -- beneficiaries -------------------------------------------------------------------------
    def lock_member(self, member_id: int) -> bool:
        """Lock the member's row until the transaction ends; False when there is no such member.

        Serialises changes to one member's beneficiaries, so two adds never pass the limit.
        """
        query = select(members.c.id).where(members.c.id == member_id).with_for_update()
        return self.connection.execute(query).first() is not None

    def member_identity(self, member_id: int) -> str | None:
        """The member's own identity hash (a member is not their own beneficiary)."""
        query = select(members.c.id_hash).where(members.c.id == member_id)
        return self.connection.execute(query).scalar_one_or_none()

    def add_beneficiary(
        self,
        *,
        member_id: int,
        name: str,
        id_type: str,
        id_number_enc: str,
        id_hash: str,
        added_on: date,
        effective_from: date,
    ) -> int:
        """Insert a beneficiary and return its id."""
        result = self.connection.execute(
            insert(beneficiaries).values(
                member_id=member_id,
                name=name,
                id_type=id_type,
                id_number_enc=id_number_enc,
                id_hash=id_hash,
                added_on=added_on,
                effective_from=effective_from,
            )
        )
        return inserted_id(result)

    def beneficiary_request(self, request_id: str) -> tuple[int, str] | None:
        """The beneficiary a caller's request named and the request's hash, if it was stored."""
        r = beneficiary_requests.c
        query = select(r.beneficiary_id, r.request_hash).where(r.id == request_id)
        row = self.connection.execute(query).first()
        return None if row is None else (int(row.beneficiary_id), row.request_hash)

    def add_beneficiary_request(
        self, request_id: str, *, member_id: int, beneficiary_id: int, request_hash: str
    ) -> None:
        """Keep the caller's request id; `RedemptionTaken` when a concurrent one stored it."""
        statement = insert(beneficiary_requests).values(
            id=request_id,
            member_id=member_id,
            beneficiary_id=beneficiary_id,
            request_hash=request_hash,
        )
        try:
            self.connection.execute(statement)
        except IntegrityError as error:
            if _is_duplicate(error):
                raise RedemptionTaken(request_id) from error
            raise

    def beneficiary(self, beneficiary_id: int) -> BeneficiaryRecord | None:
        """A beneficiary by id (removed ones too)."""
        query = select(beneficiaries).where(beneficiaries.c.id == beneficiary_id)
        row = self.connection.execute(query).first()
        return None if row is None else from_row(BeneficiaryRecord, row)

    def beneficiaries_of(
        self, member_id: int, *, include_removed: bool = False
    ) -> list[BeneficiaryRecord]:
        """A member's beneficiaries, oldest first; removed ones only when asked."""
        b = beneficiaries.c
        conditions = [b.member_id == member_id]
        if not include_removed:
            conditions.append(b.removed_on.is_(None))
        query = select(beneficiaries).where(and_(*conditions)).order_by(b.id)
        return [from_row(BeneficiaryRecord, row) for row in self.connection.execute(query)]

    def remove_beneficiary(self, beneficiary_id: int, *, on: date) -> None:
        """Mark a beneficiary removed on `on` (kept for the record and past redemptions)."""
        b = beneficiaries.c
        self.connection.execute(
            update(beneficiaries)
            .where(and_(b.id == beneficiary_id, b.removed_on.is_(None)))
            .values(removed_on=on)
        )

    def beneficiaries_effective_on(self, day: date) -> int:
        """How many beneficiaries still named become effective on `day`."""
        b = beneficiaries.c
        query = select(func.count()).where(and_(b.effective_from == day, b.removed_on.is_(None)))
        return int(self.connection.execute(query).scalar_one())

    # -- redemptions ---------------------------------------------------------------------------
    def add(self, record: RedemptionRecord) -> None:
        """Insert a redemption; `RedemptionTaken` when its id is already stored."""
        statement = insert(redemptions).values(**to_row(record))
        try:
            self.connection.execute(statement)
        except IntegrityError as error:
            if _is_duplicate(error):
                raise RedemptionTaken(record.id) from error
            raise

    def get(self, redemption_id: str, *, lock: bool = False) -> RedemptionRecord | None:
        """A redemption by id; with `lock`, its row is locked until the transaction ends."""
        query = select(redemptions).where(redemptions.c.id == redemption_id)
        if lock:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else from_row(RedemptionRecord, row)

    def of_member(
        self, member_id: int, *, before: tuple[datetime, str] | None, limit: int
    ) -> list[RedemptionRecord]:
        """The member's redemptions, newest first, from after the position `before`."""
        r = redemptions.c
        query = select(redemptions).where(r.member_id == member_id)
        query = newest_first(query, r.created_at, r.id, before=before, limit=limit)
        return [from_row(RedemptionRecord, row) for row in self.connection.execute(query)]

    def update(self, redemption_id: str, **values: Any) -> None:
        """Change a redemption's status, fare, departure, cost or count of changes."""
        self.connection.execute(
            update(redemptions).where(redemptions.c.id == redemption_id).values(**values)
        )

    def started_between(self, member_id: int, *, since: datetime, until: datetime) -> int:
        """How many redemptions the member started in `[since, until)`."""
        r = redemptions.c
        query = select(func.count()).where(
            and_(r.member_id == member_id, r.created_at >= since, r.created_at < until)
        )
        return int(self.connection.execute(query).scalar_one())

    def open_upgrades(self, ticket_ref: str) -> int:
        """Seat upgrades of a ticket that are held or committed."""
        r = redemptions.c
        query = select(func.count()).where(
            and_(
                r.type == "seat_upgrade",
                r.ticket_ref == ticket_ref,
                r.status.in_([RedemptionState.HELD, RedemptionState.COMMITTED]),
            )
        )
        return int(self.connection.execute(query).scalar_one())

    # -- idempotent steps ----------------------------------------------------------------------
    def action(self, action_id: str) -> StoredAction | None:
        """The step stored under this id, if any."""
        query = select(redemption_actions).where(redemption_actions.c.id == action_id)
        row = self.connection.execute(query).first()
        return None if row is None else from_row(StoredAction, row)

    def actions_of(self, redemption_id: str) -> list[StoredAction]:
        """Every step of a redemption, in the order they were taken."""
        a = redemption_actions.c
        query = (
            select(redemption_actions).where(a.redemption_id == redemption_id).order_by(a.at, a.id)
        )
        return [from_row(StoredAction, row) for row in self.connection.execute(query)]

    def add_action(self, action: StoredAction) -> None:
        """Store a step's first result; `RedemptionTaken` when its id is already stored."""
        statement = insert(redemption_actions).values(**to_row(action))
        try:
            self.connection.execute(statement)
        except IntegrityError as error:
            if _is_duplicate(error):
                raise RedemptionTaken(action.id) from error
            raise

    def held_count(self, member_id: int) -> int:
        """How many of the member's redemptions still hold points."""
        r = redemptions.c
        query = select(func.count()).where(
            and_(r.member_id == member_id, r.status == RedemptionState.HELD)
        )
        return int(self.connection.execute(query).scalar_one())
