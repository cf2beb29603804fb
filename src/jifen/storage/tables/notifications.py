"""Webhook notifications (migration 0008): endpoints, notifications and deliveries."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False, unique=True),
    sa.Column("topics", sa.JSON, nullable=False),  # a list of topics (domain/webhooks.TOPICS)
    sa.Column("secret_enc", sa.Text, nullable=False),  # encrypted by the vault; needed to sign
    sa.Column("description", sa.String(200), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("topic", sa.String(40), nullable=False),
    # What the notification is about (`tier.changed:42:2025-03-20`): a rerun adds nothing.
    sa.Column("dedupe_key", sa.String(300), nullable=False, unique=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("fanned_out", sa.Boolean, nullable=False, server_default=sa.false(), index=True),
)

notification_deliveries = sa.Table(
    "notification_deliveries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("notification_id", Id, sa.ForeignKey("notifications.id"), nullable=False),
    sa.Column("endpoint_id", Id, sa.ForeignKey("webhook_endpoints.id"), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("notification_id", "endpoint_id", name="uq_notification_deliveries_pair"),
    sa.Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
)
