"""Analytics rollups (migration 0005)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id

# Rollups of the ledger up to a watermark (the last ledger transaction folded in); reports add
# what lies beyond the watermark live. Days are program-local.

analytics_points_daily = Table(
    "analytics_points_daily",
    metadata,
    Column("day", Date, primary_key=True),
    Column("account", String(40), primary_key=True),
    Column("kind", String(24), primary_key=True),
    Column("points", BigInteger, nullable=False),  # net of the day's entries on the account
)

analytics_member_days = Table(
    "analytics_member_days",
    metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("earnings", Integer, nullable=False),  # earning transactions of spendable kinds
    Column("points", BigInteger, nullable=False),  # spendable points they put in the member's lots
    Index("ix_analytics_member_days_day", "day"),
)

analytics_active_months = Table(
    "analytics_active_months",
    metadata,
    Column("month", String(7), primary_key=True),  # YYYY-MM, program-local
    # Bit n (little-endian) set: member n earned in the month / earned twice or more in it.
    Column("earners", LargeBinary, nullable=False),
    Column("repeaters", LargeBinary, nullable=False),
)

analytics_state = Table(
    "analytics_state",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)
