"""Campaigns (migration 0007) and the trips they boosted."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(64), primary_key=True),  # the operator's id
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # active | stopped | exhausted
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("target", JSON, nullable=False),
    Column("effect", JSON, nullable=False),
    Column("control_percent", Integer, nullable=False),
    Column("budget_points", BigInteger, nullable=False),
    Column("spent_points", BigInteger, nullable=False, server_default="0"),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime, nullable=True),
    # The last line of defence: a campaign never gives more than its budget.
    CheckConstraint("spent_points >= 0 AND spent_points <= budget_points", name="within_budget"),
    Index("ix_campaigns_status_window", "status", "starts_at"),
)

campaign_trips = Table(
    "campaign_trips",
    metadata,
    Column("id", Id, primary_key=True),
    Column("campaign_id", String(64), ForeignKey("campaigns.id"), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("arm", String(8), nullable=False),  # treated | control
    Column("fare_fen", BigInteger, nullable=False),
    Column("base_points", BigInteger, nullable=False),
    Column("bonus_points", BigInteger, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("campaign_id", "event_id", name="uq_campaign_trips_event"),
    Index("ix_campaign_trips_campaign_member", "campaign_id", "member_id"),
)
