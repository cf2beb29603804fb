"""Spending on travel and charity: beneficiaries, redemptions and donations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

beneficiaries = Table(
    "beneficiaries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("id_type", String(24), nullable=False),
    Column("id_number_enc", Text, nullable=False),
    Column("id_hash", String(64), nullable=False, index=True),
    Column("added_on", Date, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("removed_on", Date, nullable=True),
)

# Each request that named a beneficiary, under the caller's id (migration 0015): the same id
# again answers with the beneficiary it named; another request under it is a conflict.
beneficiary_requests = Table(
    "beneficiary_requests",
    metadata,
    Column("id", String(200), primary_key=True),  # the caller's id
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("beneficiary_id", Id, ForeignKey("beneficiaries.id"), nullable=False),
    Column("request_hash", String(64), nullable=False),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", String(200), primary_key=True),  # the caller's id
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("type", String(16), nullable=False),  # ticket | seat_upgrade
    Column("passenger_member_id", Id, ForeignKey("members.id"), nullable=True),
    Column("beneficiary_id", Id, ForeignKey("beneficiaries.id"), nullable=True),
    Column("ticket_ref", String(100), nullable=True),
    Column("fare_fen", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # held | committed | released | cancelled
    Column("train", JSON, nullable=False),
    Column("departure_at", UTCDateTime, nullable=False),
    Column("changes", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_redemptions_member_created", "member_id", "created_at"),
    # The daily job finds holds whose train has left.
    Index("ix_redemptions_status_departure", "status", "departure_at"),
)

redemption_actions = Table(
    "redemption_actions",
    metadata,
    Column("id", String(200), primary_key=True),  # the caller's id for the step
    Column("redemption_id", String(200), ForeignKey("redemptions.id"), nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("result", JSON, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

donations = Table(
    "donations",
    metadata,
    Column("id", String(200), primary_key=True),  # the caller's id
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("charity", String(40), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("receipt_no", String(40), nullable=False, unique=True),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
