"""Analytics rollups (migration 0005)."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id

# Rollups of the ledger up to a watermark (the last ledger transaction folded in); reports add
# what lies beyond the watermark live. Days are program-local.

analytics_points_daily = sa.Table(
    "analytics_points_daily",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("account", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(24), primary_key=True),
    sa.Column("points", sa.BigInteger, nullable=False),  # net of the day's entries on the account
)

analytics_member_days = sa.Table(
    "analytics_member_days",
    metadata,
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("earnings", sa.Integer, nullable=False),  # earning transactions of spendable kinds
    sa.Column(
        "points", sa.BigInteger, nullable=False
    ),  # spendable points they put in the member's lots
    sa.Index("ix_analytics_member_days_day", "day"),
)

analytics_active_months = sa.Table(
    "analytics_active_months",
    metadata,
    sa.Column("month", sa.String(7), primary_key=True),  # YYYY-MM, program-local
    # Bit n (little-endian) set: member n earned in the month / earned twice or more in it.
    sa.Column("earners", sa.LargeBinary, nullable=False),
    sa.Column("repeaters", sa.LargeBinary, nullable=False),
)

analytics_state = sa.Table(
    "analytics_state",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
