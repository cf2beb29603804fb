"""Events as received, the tickets they tell of, and the earnings they gave."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Date, ForeignKey, Index, String, Table

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

events = Table(
    "events",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("type", String(40), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True, index=True),
    # The event as received, with ID numbers masked; `fingerprint` (a keyed hash of the event as
    # sent) tells a resend from a different event under the same id.
    Column("payload", JSON, nullable=False),
    Column("fingerprint", String(64), nullable=False, server_default=""),
    Column("outcome", JSON, nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True, index=True),
    Column("status", String(16), nullable=False),
    Column("fare_fen", BigInteger, nullable=True),
    Column("departure_at", UTCDateTime, nullable=True),
    Column("data", JSON, nullable=True),
    Column("pending_id", Id, ForeignKey("pending_points.id"), nullable=True),
    Column("travelled_at", UTCDateTime, nullable=True),
    # The daily job finds tickets still awaiting travel whose claim window has closed.
    Index("ix_tickets_status_departure", "status", "departure_at"),
)

earnings = Table(
    "earnings",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("rule_code", String(60), nullable=False),
    Column("day", Date, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("event_id", String(200), nullable=False),
    Index("ix_earnings_member_day", "member_id", "day"),
    Index("ix_earnings_rule", "rule_code"),
)
