"""Events as received, the tickets they tell of, and the earnings they gave."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=True, index=True),
    # The event as received, with ID numbers masked; `fingerprint` (a keyed hash of the event as
    # sent) tells a resend from a different event under the same id.
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False, server_default=""),
    sa.Column("outcome", sa.JSON, nullable=False),
)

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=True, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("fare_fen", sa.BigInteger, nullable=True),
    sa.Column("departure_at", UTCDateTime, nullable=True),
    sa.Column("data", sa.JSON, nullable=True),
    sa.Column("pending_id", Id, sa.ForeignKey("pending_points.id"), nullable=True),
    sa.Column("travelled_at", UTCDateTime, nullable=True),
    # The daily job finds tickets still awaiting travel whose claim window has closed.
    sa.Index("ix_tickets_status_departure", "status", "departure_at"),
)

earnings = sa.Table(
    "earnings",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
    sa.Column("rule_code", sa.String(60), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("event_id", sa.String(200), nullable=False),
    sa.Index("ix_earnings_member_day", "member_id", "day"),
    sa.Index("ix_earnings_rule", "rule_code"),
)
