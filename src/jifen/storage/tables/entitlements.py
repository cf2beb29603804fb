"""Entitlements: countable tier benefits issued to members, and each use of one."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

entitlements = Table(
    "entitlements",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("tier_code", String(24), nullable=False),  # the tier it came with, and lapses with
    Column("trigger", String(16), nullable=False),  # tier_start | birthday
    # The tier start or the birthday it was issued for: a rerun of the daily job adds nothing.
    Column("issued_for", Date, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("used", Integer, nullable=False, server_default="0"),
    Column("lapsed_on", Date, nullable=True),
    UniqueConstraint("member_id", "code", "issued_for", name="uq_entitlements_issue"),
    CheckConstraint("used >= 0 AND used <= quantity", name="used_within_quantity"),
    Index("ix_entitlements_member_id", "member_id"),
    Index("ix_entitlements_valid_until", "valid_until"),
)

entitlement_uses = Table(
    "entitlement_uses",
    metadata,
    Column("id", String(200), primary_key=True),  # the integrator's use id: a retry replays
    Column("entitlement_id", Id, ForeignKey("entitlements.id"), nullable=False, index=True),
    Column("used_at", UTCDateTime, nullable=False),
    Column("location", String(200), nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
)
