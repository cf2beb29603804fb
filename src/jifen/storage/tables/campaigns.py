"""Campaigns (migration 0007) and the trips they boosted."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the operator's id
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # active | stopped | exhausted
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("target", sa.JSON, nullable=False),
    sa.Column("effect", sa.JSON, nullable=False),
    sa.Column("control_percent", sa.Integer, nullable=False),
    sa.Column("budget_points", sa.BigInteger, nullable=False),
    sa.Column("spent_points", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("stopped_at", UTCDateTime, nullable=True),
    # The last line of defence: a campaign never gives more than its budget.
    sa.CheckConstraint("spent_points >= 0 AND spent_points <= budget_points", name="within_budget"),
    sa.Index("ix_campaigns_status_window", "status", "starts_at"),
)

campaign_trips = sa.Table(
    "campaign_trips",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("campaign_id", sa.String(64), sa.ForeignKey("campaigns.id"), nullable=False),
    sa.Column("event_id", sa.String(200), nullable=False),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
    sa.Column("arm", sa.String(8), nullable=False),  # treated | control
    sa.Column("fare_fen", sa.BigInteger, nullable=False),
    sa.Column("base_points", sa.BigInteger, nullable=False),
    sa.Column("bonus_points", sa.BigInteger, nullable=False),
    sa.Column("transaction_id", Id, sa.ForeignKey("ledger_transactions.id"), nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("campaign_id", "event_id", name="uq_campaign_trips_event"),
    sa.Index("ix_campaign_trips_campaign_member", "campaign_id", "member_id"),
)
