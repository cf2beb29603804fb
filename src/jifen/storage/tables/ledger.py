"""The points ledger: transactions, their entries, lots, pending points and balances."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

ledger_transactions = sa.Table(
    "ledger_transactions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("type", sa.String(24), nullable=False),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=True, index=True),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    # A transaction is reversed at most once: the unique index makes a second reversal fail.
    sa.Column(
        "reverses_id", Id, sa.ForeignKey("ledger_transactions.id"), nullable=True, unique=True
    ),
    sa.Column("memo", sa.JSON, nullable=False, default=dict),
)

lots = sa.Table(
    "lots",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("credited_on", sa.Date, nullable=False),
    sa.Column("expires_on", sa.Date, nullable=True),
    sa.Column("original", sa.BigInteger, nullable=False),
    sa.Column("remaining", sa.BigInteger, nullable=False),
    sa.Column("transaction_id", Id, sa.ForeignKey("ledger_transactions.id"), nullable=False),
    sa.CheckConstraint("remaining >= 0 AND remaining <= original", name="remaining_in_range"),
    sa.Index("ix_lots_member_kind_expiry", "member_id", "kind", "expires_on"),
    sa.Index("ix_lots_expires_on", "expires_on"),
)

pending_points = sa.Table(
    "pending_points",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reference", sa.String(200), nullable=True, index=True),
    sa.Column("transaction_id", Id, sa.ForeignKey("ledger_transactions.id"), nullable=False),
    sa.CheckConstraint("points > 0", name="points_positive"),
)

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column(
        "transaction_id", Id, sa.ForeignKey("ledger_transactions.id"), nullable=False, index=True
    ),
    sa.Column("account", sa.String(40), nullable=False),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("lot_id", Id, sa.ForeignKey("lots.id"), nullable=True, index=True),
    sa.Column("pending_id", Id, sa.ForeignKey("pending_points.id"), nullable=True, index=True),
    sa.Index("ix_ledger_entries_member_kind", "member_id", "kind"),
)

balances = sa.Table(
    "balances",
    metadata,
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), primary_key=True),
    sa.Column("kind", sa.String(24), primary_key=True),
    sa.Column("available", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("pending", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint("available >= 0", name="available_not_negative"),
    sa.CheckConstraint("pending >= 0", name="pending_not_negative"),
)
