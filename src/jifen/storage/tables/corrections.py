"""Corrections and audit: manual adjustments and the audit log."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

adjustments = sa.Table(
    "adjustments",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),  # the caller's id
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("point_kind", sa.String(24), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),  # signed
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),  # applied | pending_approval | rejected
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("requested_by", sa.String(64), nullable=False),
    sa.Column("decided_by", sa.String(64), nullable=True),
    sa.Column("transaction_id", Id, sa.ForeignKey("ledger_transactions.id"), nullable=True),
    sa.Column("balance_before", sa.BigInteger, nullable=True),
    sa.Column("balance_after", sa.BigInteger, nullable=True),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=True),
    # The decider's id for the approval or rejection and its hash (migration 0015).
    sa.Column("decision_id", sa.String(200), nullable=True),
    sa.Column("decision_hash", sa.String(64), nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
)
