"""Webhook notifications (migration 0008): endpoints, notifications and deliveries."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Id, primary_key=True),
    Column("url", String(2000), nullable=False, unique=True),
    Column("topics", JSON, nullable=False),  # a list of topics (domain/webhooks.TOPICS)
    Column("secret_enc", Text, nullable=False),  # encrypted by the vault; needed to sign
    Column("description", String(200), nullable=True),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", UTCDateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True),
    Column("topic", String(40), nullable=False),
    # What the notification is about (`tier.changed:42:2025-03-20`): a rerun adds nothing.
    Column("dedupe_key", String(300), nullable=False, unique=True),
    Column("payload", JSON, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("fanned_out", Boolean, nullable=False, server_default=false(), index=True),
)

notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("notification_id", Id, ForeignKey("notifications.id"), nullable=False),
    Column("endpoint_id", Id, ForeignKey("webhook_endpoints.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    UniqueConstraint("notification_id", "endpoint_id", name="uq_notification_deliveries_pair"),
    Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
)
