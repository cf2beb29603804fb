"""Partners (migration 0009): partners, their operations and monthly counters."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

partners = Table(
    "partners",
    metadata,
    Column("code", String(24), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("point_kind", String(24), nullable=False),
    Column("max_points_per_award", BigInteger, nullable=False),
    Column("max_points_per_member_day", BigInteger, nullable=False),
    Column("max_points_per_month", BigInteger, nullable=False),
    # Miles exchange: `exchange_points` points for every `exchange_miles` miles, rounded down.
    Column("exchange_miles", Integer, nullable=True),
    Column("exchange_points", Integer, nullable=True),
    Column("min_miles", BigInteger, nullable=False, server_default="1"),
    Column("price_per_1000_points_fen", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(
        "max_points_per_award > 0 AND max_points_per_member_day > 0 AND max_points_per_month > 0",
        name="limits_positive",
    ),
    CheckConstraint(
        "(exchange_miles IS NULL AND exchange_points IS NULL)"
        " OR (exchange_miles > 0 AND exchange_points > 0)",
        name="rate_positive",
    ),
    CheckConstraint("price_per_1000_points_fen >= 0", name="price_not_negative"),
)

partner_operations = Table(
    "partner_operations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_code", String(24), ForeignKey("partners.code"), nullable=False),
    Column("op_id", String(200), nullable=False),  # the partner's id: idempotency per partner
    Column("type", String(16), nullable=False),  # award | exchange | reversal
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("points", BigInteger, nullable=False),  # credited (or taken back, for a reversal)
    Column("miles", BigInteger, nullable=True),
    Column("reason", Text, nullable=True),
    Column("reverses_op_id", String(200), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    Column("day", Date, nullable=False),  # the program-local day: limits and settlement months
    Column("actor", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("partner_code", "op_id", name="uq_partner_operations_partner_op"),
    Index("ix_partner_operations_partner_day", "partner_code", "day"),
    Index("ix_partner_operations_member_day", "member_id", "day"),
)

partner_months = Table(
    "partner_months",
    metadata,
    # The partner's monthly counter row: its conditional update is the monthly cap's lock.
    Column("partner_code", String(24), ForeignKey("partners.code"), primary_key=True),
    Column("month", String(7), primary_key=True),  # YYYY-MM, program-local
    Column("points", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("points >= 0", name="points_not_negative"),
)
