"""Members: identity, tier decisions and the segments they are in."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

members = Table(
    "members",
    metadata,
    Column("id", Id, primary_key=True),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("joined_at", UTCDateTime, nullable=False),
    # Real-name identity: the ID number and phone are encrypted; lookups use keyed hashes.
    Column("name", String(100), nullable=True),
    Column("id_type", String(24), nullable=True),
    Column("id_number_enc", Text, nullable=True),
    Column("id_hash", String(64), nullable=True, unique=True),
    # The number alone, whatever type it was claimed under: one member per ID number. Null for
    # members enrolled before 0011 (enrolment also looks them up by `id_hash` under every type).
    Column("number_hash", String(64), nullable=True, unique=True, index=True),
    Column("phone_enc", Text, nullable=True),
    Column("phone_hash", String(64), nullable=True, index=True),
    Column("birth_date", Date, nullable=True),
    Column("tier_code", String(24), nullable=True),
    Column("tier_valid_until", Date, nullable=True),
    Column("tier_in_grace", Boolean, nullable=False, server_default=false()),
    # The day the spendable balance first reached the program's redemption threshold.
    Column("redemption_unlocked_on", Date, nullable=True),
)

tier_history = Table(
    "tier_history",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("decided_on", Date, nullable=False),
    Column("old_code", String(24), nullable=True),
    Column("new_code", String(24), nullable=False),
    Column("valid_until", Date, nullable=True),
    Column("reason", String(24), nullable=False),
    Column("qualifying_points", BigInteger, nullable=False),
    UniqueConstraint("member_id", "decided_on", "reason", name="uq_tier_history_decision"),
)

# Segments a member is in (migration 0014): `operator` ones are set over the API, the `rfm` one is
# the daily job's. Earning rules (`segment_in`) and campaigns (`target.segments`) read them.
member_segments = Table(
    "member_segments",
    metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("source", String(16), primary_key=True),
    Column("segment", String(64), primary_key=True),
    Index("ix_member_segments_segment", "segment"),
)
