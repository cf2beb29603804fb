"""The points ledger: transactions, their entries, lots, pending points and balances."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("type", String(24), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True, index=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    # A transaction is reversed at most once: the unique index makes a second reversal fail.
    Column("reverses_id", Id, ForeignKey("ledger_transactions.id"), nullable=True, unique=True),
    Column("memo", JSON, nullable=False, default=dict),
)

lots = Table(
    "lots",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("credited_on", Date, nullable=False),
    Column("expires_on", Date, nullable=True),
    Column("original", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    CheckConstraint("remaining >= 0 AND remaining <= original", name="remaining_in_range"),
    Index("ix_lots_member_kind_expiry", "member_id", "kind", "expires_on"),
    Index("ix_lots_expires_on", "expires_on"),
)

pending_points = Table(
    "pending_points",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("kind", String(24), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reference", String(200), nullable=True, index=True),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    CheckConstraint("points > 0", name="points_positive"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False, index=True),
    Column("account", String(40), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True),
    Column("kind", String(24), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=True, index=True),
    Column("pending_id", Id, ForeignKey("pending_points.id"), nullable=True, index=True),
    Index("ix_ledger_entries_member_kind", "member_id", "kind"),
)

balances = Table(
    "balances",
    metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("kind", String(24), primary_key=True),
    Column("available", BigInteger, nullable=False, server_default="0"),
    Column("pending", BigInteger, nullable=False, server_default="0"),
    Column("version", Integer, nullable=False, server_default="0"),
    CheckConstraint("available >= 0", name="available_not_negative"),
    CheckConstraint("pending >= 0", name="pending_not_negative"),
)
