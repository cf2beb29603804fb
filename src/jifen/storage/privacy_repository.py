"""SQL for privacy rights: everything held about a member, pseudonymising them, re-encryption."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Column, Connection, Table, and_, bindparam, func, select, update

from jifen.storage.tables import (
    adjustments,
    audit_log,
    balances,
    beneficiaries,
    coupons,
    donations,
    earnings,
    events,
    ledger_entries,
    ledger_transactions,
    lots,
    mall_orders,
    members,
    pending_points,
    redemption_actions,
    redemptions,
    reminders,
    tickets,
    tier_history,
    webhook_endpoints,
)

Row = dict[str, Any]

ENCRYPTED_COLUMNS: tuple[tuple[Table, str], ...] = (
    (members, "id_number_enc"),
    (members, "phone_enc"),
    (beneficiaries, "id_number_enc"),
    (webhook_endpoints, "secret_enc"),
)
"""Every column holding a value encrypted by the identity vault, as (table, column)."""


def _rows(connection: Connection, query: Any) -> list[Row]:
    return [dict(row._mapping) for row in connection.execute(query)]


def _except(table: Table, *left_out: str) -> list[Column[Any]]:
    return [c for c in table.columns if c.name not in left_out]


class PrivacyRepository:
    """Reads everything about one member; pseudonymises them; rewrites encrypted columns."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # -- the member ----------------------------------------------------------------------------
    def lock_member(self, member_id: int) -> Row | None:
        """The member's row, locked until the transaction ends; None when there is none.

        FOR NO KEY UPDATE: rows that merely reference the member (entries, events) still insert.
        """
        query = select(members).where(members.c.id == member_id).with_for_update(key_share=True)
        row = self.connection.execute(query).first()
        return None if row is None else dict(row._mapping)

    def member(self, member_id: int) -> Row | None:
        """The member's row as stored (identity encrypted)."""
        row = self.connection.execute(select(members).where(members.c.id == member_id)).first()
        return None if row is None else dict(row._mapping)

    def pseudonymise_member(
        self, member_id: int, *, name: str, id_hash: str, phone_hash: str | None
    ) -> None:
        """Replace the member's identity: new name and hashes, no ID number, phone or birth date."""
        self.connection.execute(
            update(members)
            .where(members.c.id == member_id)
            .values(
                name=name,
                id_number_enc=None,
                phone_enc=None,
                id_hash=id_hash,
                number_hash=None,
                phone_hash=phone_hash,
                birth_date=None,
            )
        )

    def pseudonymise_beneficiary(
        self, beneficiary_id: int, *, name: str, id_number_enc: str, id_hash: str, removed_on: date
    ) -> None:
        """Replace a beneficiary's identity and remove them (if not removed already)."""
        b = beneficiaries.c
        self.connection.execute(
            update(beneficiaries)
            .where(b.id == beneficiary_id)
            .values(
                name=name,
                id_number_enc=id_number_enc,
                id_hash=id_hash,
                removed_on=func.coalesce(b.removed_on, removed_on),
            )
        )

    # -- everything held about a member, each list oldest first --------------------------------
    def balances(self, member_id: int) -> list[Row]:
        """Stored balances per point kind."""
        c = balances.c
        query = select(c.kind, c.available, c.pending, c.version).where(c.member_id == member_id)
        return _rows(self.connection, query.order_by(c.kind))

    def tier_history(self, member_id: int) -> list[Row]:
        """Every tier decision."""
        c = tier_history.c
        query = select(tier_history).where(c.member_id == member_id).order_by(c.decided_on, c.id)
        return _rows(self.connection, query)

    def lots(self, member_id: int) -> list[Row]:
        """Every lot, open or spent."""
        query = select(lots).where(lots.c.member_id == member_id).order_by(lots.c.id)
        return _rows(self.connection, query)

    def pending_points(self, member_id: int) -> list[Row]:
        """Every pending item, open, confirmed or voided."""
        p = pending_points.c
        query = select(pending_points).where(p.member_id == member_id).order_by(p.id)
        return _rows(self.connection, query)

    def ledger_entries(self, member_id: int) -> list[Row]:
        """Every entry on the member's accounts, with its transaction's type, time and memo."""
        e, t = ledger_entries.c, ledger_transactions.c
        query = (
            select(
                e.id.label("entry_id"),
                e.transaction_id,
                t.type,
                t.occurred_at,
                t.idempotency_key,
                t.reverses_id,
                e.account,
                e.kind,
                e.points,
                e.lot_id,
                e.pending_id,
                t.memo,
            )
            .join(ledger_transactions, t.id == e.transaction_id)
            .where(e.member_id == member_id)
            .order_by(e.id)
        )
        return _rows(self.connection, query)

    def events(self, member_id: int) -> list[Row]:
        """Applied events about the member, as kept (ID numbers masked)."""
        c = events.c
        query = (
            select(c.id, c.type, c.occurred_at, c.payload, c.outcome)
            .where(c.member_id == member_id)
            .order_by(c.occurred_at, c.id)
        )
        return _rows(self.connection, query)

    def tickets(self, member_id: int) -> list[Row]:
        """Tickets the member rides, as kept (ID numbers masked)."""
        c = tickets.c
        query = select(tickets).where(c.member_id == member_id).order_by(c.departure_at, c.id)
        return _rows(self.connection, query)

    def earnings(self, member_id: int) -> list[Row]:
        """The points each rule gave the member."""
        c = earnings.c
        query = select(*_except(earnings, "member_id")).where(c.member_id == member_id)
        return _rows(self.connection, query.order_by(c.id))

    def reminders(self, member_id: int) -> list[Row]:
        """Expiry reminders queued for the member."""
        c = reminders.c
        query = select(*_except(reminders, "member_id")).where(c.member_id == member_id)
        return _rows(self.connection, query.order_by(c.id))

    def beneficiaries(self, member_id: int) -> list[Row]:
        """Every beneficiary the member named, removed ones too (ID numbers encrypted)."""
        c = beneficiaries.c
        query = select(*_except(beneficiaries, "id_hash")).where(c.member_id == member_id)
        return _rows(self.connection, query.order_by(c.id))

    def redemptions(self, member_id: int) -> list[Row]:
        """The member's redemptions."""
        c = redemptions.c
        query = select(redemptions).where(c.member_id == member_id)
        return _rows(self.connection, query.order_by(c.created_at, c.id))

    def redemption_actions(self, member_id: int) -> list[Row]:
        """Every step taken on the member's redemptions."""
        a, r = redemption_actions.c, redemptions.c
        query = (
            select(*_except(redemption_actions, "request_hash"))
            .join(redemptions, r.id == a.redemption_id)
            .where(r.member_id == member_id)
            .order_by(a.at, a.id)
        )
        return _rows(self.connection, query)

    def mall_orders(self, member_id: int) -> list[Row]:
        """The member's mall orders."""
        c = mall_orders.c
        query = select(*_except(mall_orders, "request_hash")).where(c.member_id == member_id)
        return _rows(self.connection, query.order_by(c.created_at, c.id))

    def coupons(self, member_id: int) -> list[Row]:
        """Coupons issued to the member."""
        c = coupons.c
        query = select(coupons).where(c.member_id == member_id).order_by(c.issued_at, c.code)
        return _rows(self.connection, query)

    def donations(self, member_id: int) -> list[Row]:
        """The member's donations."""
        c = donations.c
        query = select(donations).where(c.member_id == member_id).order_by(c.at, c.id)
        return _rows(self.connection, query)

    def adjustments(self, member_id: int) -> list[Row]:
        """Adjustments of the member's points, applied, pending or rejected."""
        c = adjustments.c
        query = select(*_except(adjustments, "request_hash")).where(c.member_id == member_id)
        return _rows(self.connection, query.order_by(c.requested_at, c.id))

    def audit_rows(self, member_id: int) -> list[Row]:
        """Audit log rows whose subject is the member."""
        c = audit_log.c
        query = select(audit_log).where(c.subject == f"member:{member_id}").order_by(c.id)
        return _rows(self.connection, query)

    def erased(self, member_id: int) -> bool:
        """Whether the member was erased (the audit log keeps that, append-only)."""
        c = audit_log.c
        query = select(c.id).where(
            and_(c.subject == f"member:{member_id}", c.action == "member.erased")
        )
        return self.connection.execute(query.limit(1)).first() is not None

    # -- re-encryption ---------------------------------------------------------------------------
    def count_encrypted(self, table: Table, column: str) -> int:
        """How many rows of `table` hold a value in the encrypted `column`."""
        query = select(func.count()).select_from(table).where(table.c[column].is_not(None))
        return int(self.connection.execute(query).scalar_one())

    def encrypted_chunk(
        self, table: Table, column: str, *, after_id: int, limit: int
    ) -> list[tuple[int, str]]:
        """Up to `limit` `(id, token)` pairs of `column`, by id after `after_id`."""
        c = table.c
        query = (
            select(c.id, c[column])
            .where(and_(c.id > after_id, c[column].is_not(None)))
            .order_by(c.id)
            .limit(limit)
        )
        return [(int(row[0]), str(row[1])) for row in self.connection.execute(query)]

    def replace_tokens(
        self, table: Table, column: str, changes: Sequence[tuple[int, str, str]]
    ) -> None:
        """Set `column` to the new token of each `(id, old, new)` where it still holds `old`.

        A row changed since it was read (an erasure, say) keeps its newer value: the old token
        is never written back over it.
        """
        if not changes:
            return
        c = table.c
        statement = (
            update(table)
            .where(and_(c.id == bindparam("row_id"), c[column] == bindparam("old")))
            .values({column: bindparam("new")})
        )
        rows = [{"row_id": row_id, "old": old, "new": new} for row_id, old, new in changes]
        self.connection.execute(statement, rows)
