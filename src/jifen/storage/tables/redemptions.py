"""Spending on travel and charity: beneficiaries, redemptions and donations."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

beneficiaries = sa.Table(
    "beneficiaries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("id_type", sa.String(24), nullable=False),
    sa.Column("id_number_enc", sa.Text, nullable=False),
    sa.Column("id_hash", sa.String(64), nullable=False, index=True),
    sa.Column("added_on", sa.Date, nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("removed_on", sa.Date, nullable=True),
)

# Each request that named a beneficiary, under the caller's id (migration 0015): the same id
# again answers with the beneficiary it named; another request under it is a conflict.
beneficiary_requests = sa.Table(
    "beneficiary_requests",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),  # the caller's id
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
    sa.Column("beneficiary_id", Id, sa.ForeignKey("beneficiaries.id"), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
)

redemptions = sa.Table(
    "redemptions",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),  # the caller's id
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False, index=True),
    sa.Column("type", sa.String(16), nullable=False),  # ticket | seat_upgrade
    sa.Column("passenger_member_id", Id, sa.ForeignKey("members.id"), nullable=True),
    sa.Column("beneficiary_id", Id, sa.ForeignKey("beneficiaries.id"), nullable=True),
    sa.Column("ticket_ref", sa.String(100), nullable=True),
    sa.Column("fare_fen", sa.BigInteger, nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # held | committed | released | cancelled
    sa.Column("train", sa.JSON, nullable=False),
    sa.Column("departure_at", UTCDateTime, nullable=False),
    sa.Column("changes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_redemptions_member_created", "member_id", "created_at"),
    # The daily job finds holds whose train has left.
    sa.Index("ix_redemptions_status_departure", "status", "departure_at"),
)

redemption_actions = sa.Table(
    "redemption_actions",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),  # the caller's id for the step
    sa.Column(
        "redemption_id", sa.String(200), sa.ForeignKey("redemptions.id"), nullable=False, index=True
    ),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

donations = sa.Table(
    "donations",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),  # the caller's id
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False, index=True),
    sa.Column("charity", sa.String(40), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("receipt_no", sa.String(40), nullable=False, unique=True),
    sa.Column("transaction_id", Id, sa.ForeignKey("ledger_transactions.id"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)
