"""Corrections and audit: manual adjustments and the audit log."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, String, Table, Text

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

adjustments = Table(
    "adjustments",
    metadata,
    Column("id", String(200), primary_key=True),  # the caller's id
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("kind", String(24), nullable=False),
    Column("point_kind", String(24), nullable=False),
    Column("points", BigInteger, nullable=False),  # signed
    Column("reason", Text, nullable=False),
    Column("status", String(24), nullable=False),  # applied | pending_approval | rejected
    Column("request_hash", String(64), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("balance_before", BigInteger, nullable=True),
    Column("balance_after", BigInteger, nullable=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    # The decider's id for the approval or rejection and its hash (migration 0015).
    Column("decision_id", String(200), nullable=True),
    Column("decision_hash", String(64), nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("details", JSON, nullable=False),
)
