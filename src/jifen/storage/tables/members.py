"""Members: identity, tier decisions and the segments they are in."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

members = sa.Table(
    "members",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("joined_at", UTCDateTime, nullable=False),
    # Real-name identity: the ID number and phone are encrypted; lookups use keyed hashes.
    sa.Column("name", sa.String(100), nullable=True),
    sa.Column("id_type", sa.String(24), nullable=True),
    sa.Column("id_number_enc", sa.Text, nullable=True),
    sa.Column("id_hash", sa.String(64), nullable=True, unique=True),
    # The number alone, whatever type it was claimed under: one member per ID number. Null for
    # members enrolled before 0011 (enrolment also looks them up by `id_hash` under every type).
    sa.Column("number_hash", sa.String(64), nullable=True, unique=True, index=True),
    sa.Column("phone_enc", sa.Text, nullable=True),
    sa.Column("phone_hash", sa.String(64), nullable=True, index=True),
    sa.Column("birth_date", sa.Date, nullable=True),
    sa.Column("tier_code", sa.String(24), nullable=True),
    sa.Column("tier_valid_until", sa.Date, nullable=True),
    sa.Column("tier_in_grace", sa.Boolean, nullable=False, server_default=sa.false()),
    # The day the spendable balance first reached the program's redemption threshold.
    sa.Column("redemption_unlocked_on", sa.Date, nullable=True),
)

tier_history = sa.Table(
    "tier_history",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False, index=True),
    sa.Column("decided_on", sa.Date, nullable=False),
    sa.Column("old_code", sa.String(24), nullable=True),
    sa.Column("new_code", sa.String(24), nullable=False),
    sa.Column("valid_until", sa.Date, nullable=True),
    sa.Column("reason", sa.String(24), nullable=False),
    sa.Column("qualifying_points", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("member_id", "decided_on", "reason", name="uq_tier_history_decision"),
)

# Segments a member is in (migration 0014): `operator` ones are set over the API, the `rfm` one is
# the daily job's. Earning rules (`segment_in`) and campaigns (`target.segments`) read them.
member_segments = sa.Table(
    "member_segments",
    metadata,
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), primary_key=True),
    sa.Column("source", sa.String(16), primary_key=True),
    sa.Column("segment", sa.String(64), primary_key=True),
    sa.Index("ix_member_segments_segment", "segment"),
)
