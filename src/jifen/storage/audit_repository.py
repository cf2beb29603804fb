"""SQL for adjustments (with their approvals), what closing a member settles, and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from jifen.domain.adjustments import AdjustmentState
from jifen.domain.postings import PendingItem
from jifen.storage.rows import from_row, inserted_id, newest_first
from jifen.storage.tables import adjustments, audit_log, pending_points


class AdjustmentTaken(Exception):
    """Another request stored an adjustment under this id first (the unit of work is spoilt)."""


@dataclass(frozen=True, slots=True)
class AdjustmentRecord:
    """An operator's adjustment as stored: `points` signed, balances of `point_kind`."""

    id: str
    member_id: int
    kind: str
    point_kind: str
    points: int
    reason: str
    status: str
    request_hash: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    transaction_id: int | None = None
    balance_before: int | None = None
    balance_after: int | None = None
    decision_id: str | None = None  # the decider's id for the approval or rejection
    decision_hash: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the append-only audit log."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]


class AuditRepository:
    """Adjustments (with their approvals) and the append-only audit log."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # -- adjustments ---------------------------------------------------------------------------
    def get_adjustment(self, adjustment_id: str, *, lock: bool = False) -> AdjustmentRecord | None:
        """An adjustment by the caller's id; `lock` holds its row until the transaction ends."""
        query = select(adjustments).where(adjustments.c.id == adjustment_id)
        if lock:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else from_row(AdjustmentRecord, row)

    def add_adjustment(self, record: AdjustmentRecord) -> None:
        """Store a new adjustment; `AdjustmentTaken` when its id is already stored."""
        try:
            self.connection.execute(
                insert(adjustments).values(
                    id=record.id,
                    member_id=record.member_id,
                    kind=record.kind,
                    point_kind=record.point_kind,
                    points=record.points,
                    reason=record.reason,
                    status=record.status,
                    request_hash=record.request_hash,
                    requested_by=record.requested_by,
                    requested_at=record.requested_at,
                    decided_by=record.decided_by,
                    decided_at=record.decided_at,
                    transaction_id=record.transaction_id,
                    balance_before=record.balance_before,
                    balance_after=record.balance_after,
                )
            )
        except IntegrityError as error:
            # SQLite names the column, PostgreSQL the primary key's constraint.
            if "adjustments.id" in str(error.orig) or "pk_adjustments" in str(error.orig):
                raise AdjustmentTaken(record.id) from error
            raise

    def decide_adjustment(self, record: AdjustmentRecord) -> None:
        """Store the decision on a pending adjustment (the caller holds its row lock)."""
        self.connection.execute(
            update(adjustments)
            .where(
                and_(
                    adjustments.c.id == record.id,
                    adjustments.c.status == AdjustmentState.PENDING_APPROVAL,
                )
            )
            .values(
                status=record.status,
                decided_by=record.decided_by,
                decided_at=record.decided_at,
                transaction_id=record.transaction_id,
                balance_before=record.balance_before,
                balance_after=record.balance_after,
                decision_id=record.decision_id,
                decision_hash=record.decision_hash,
            )
        )

    def points_requested(self, *, member_id: int, requested_by: str, since: datetime) -> int:
        """The points, either way, `requested_by` asked to adjust the member by after `since`.

        Applied and pending adjustments count; rejected ones moved nothing and do not.
        """
        a = adjustments.c
        query = select(func.coalesce(func.sum(func.abs(a.points)), 0)).where(
            a.member_id == member_id,
            a.requested_by == requested_by,
            a.requested_at > since,
            a.status != AdjustmentState.REJECTED,
        )
        return int(self.connection.execute(query).scalar_one())

    def list_adjustments(
        self,
        *,
        member_id: int | None,
        status: str | None,
        limit: int,
        before: tuple[datetime, str] | None = None,
    ) -> list[AdjustmentRecord]:
        """Adjustments of one member and/or in one status, newest request first.

        With `before`, the page after that position (`requested_at`, id).
        """
        a = adjustments.c
        conditions = []
        if member_id is not None:
            conditions.append(a.member_id == member_id)
        if status is not None:
            conditions.append(a.status == status)
        query = select(adjustments).where(and_(true(), *conditions))
        query = newest_first(query, a.requested_at, a.id, before=before, limit=limit)
        return [from_row(AdjustmentRecord, row) for row in self.connection.execute(query)]

    # -- closing a member ----------------------------------------------------------------------
    def open_pending_of(self, member_id: int) -> list[PendingItem]:
        """The member's pending points not yet confirmed or voided, oldest first."""
        p = pending_points.c
        query = (
            select(pending_points)
            .where(and_(p.member_id == member_id, p.status == "open"))
            .order_by(p.id)
        )
        return [
            PendingItem(r.id, r.member_id, r.kind, r.points, r.status, r.reference)
            for r in self.connection.execute(query)
        ]

    # -- the audit log (insert and read only: nothing here updates or deletes a row) -----------
    def add_entry(
        self, *, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]
    ) -> int:
        """Append one row to the audit log and return its id."""
        result = self.connection.execute(
            insert(audit_log).values(
                at=at, actor=actor, action=action, subject=subject, details=details
            )
        )
        return inserted_id(result)

    def entries(
        self,
        *,
        since: datetime | None,
        until: datetime | None,
        action: str | None = None,
        subject: str | None = None,
        beyond_id: int | None = None,
        newest_first: bool,
        limit: int,
    ) -> list[AuditEntry]:
        """Rows with `since <= at < until` in id order, after `beyond_id` in that order."""
        c = audit_log.c
        conditions = []
        if since is not None:
            conditions.append(c.at >= since)
        if until is not None:
            conditions.append(c.at < until)
        if action is not None:
            conditions.append(c.action == action)
        if subject is not None:
            conditions.append(c.subject == subject)
        if beyond_id is not None:
            conditions.append(c.id < beyond_id if newest_first else c.id > beyond_id)
        query = (
            select(audit_log)
            .where(and_(true(), *conditions))
            .order_by(c.id.desc() if newest_first else c.id)
            .limit(limit)
        )
        return [
            AuditEntry(r.id, r.at, r.actor, r.action, r.subject, r.details)
            for r in self.connection.execute(query)
        ]
