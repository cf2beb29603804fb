"""Partners (migration 0009): partners, their operations and monthly counters."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("code", sa.String(24), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("point_kind", sa.String(24), nullable=False),
    sa.Column("max_points_per_award", sa.BigInteger, nullable=False),
    sa.Column("max_points_per_member_day", sa.BigInteger, nullable=False),
    sa.Column("max_points_per_month", sa.BigInteger, nullable=False),
    # Miles exchange: `exchange_points` points for every `exchange_miles` miles, rounded down.
    sa.Column("exchange_miles", sa.Integer, nullable=True),
    sa.Column("exchange_points", sa.Integer, nullable=True),
    sa.Column("min_miles", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column("price_per_1000_points_fen", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(
        "max_points_per_award > 0 AND max_points_per_member_day > 0 AND max_points_per_month > 0",
        name="limits_positive",
    ),
    sa.CheckConstraint(
        "(exchange_miles IS NULL AND exchange_points IS NULL)"
        " OR (exchange_miles > 0 AND exchange_points > 0)",
        name="rate_positive",
    ),
    sa.CheckConstraint("price_per_1000_points_fen >= 0", name="price_not_negative"),
)

partner_operations = sa.Table(
    "partner_operations",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("partner_code", sa.String(24), sa.ForeignKey("partners.code"), nullable=False),
    sa.Column("op_id", sa.String(200), nullable=False),  # the partner's id: idempotency per partner
    sa.Column("type", sa.String(16), nullable=False),  # award | exchange | reversal
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),  # credited (or taken back, for a reversal)
    sa.Column("miles", sa.BigInteger, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("reverses_op_id", sa.String(200), nullable=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("transaction_id", Id, sa.ForeignKey("ledger_transactions.id"), nullable=False),
    sa.Column(
        "day", sa.Date, nullable=False
    ),  # the program-local day: limits and settlement months
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("partner_code", "op_id", name="uq_partner_operations_partner_op"),
    sa.Index("ix_partner_operations_partner_day", "partner_code", "day"),
    sa.Index("ix_partner_operations_member_day", "member_id", "day"),
)

partner_months = sa.Table(
    "partner_months",
    metadata,
    # The partner's monthly counter row: its conditional update is the monthly cap's lock.
    sa.Column("partner_code", sa.String(24), sa.ForeignKey("partners.code"), primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),  # YYYY-MM, program-local
    sa.Column("points", sa.BigInteger, nullable=False, server_default="0"),
    sa.CheckConstraint("points >= 0", name="points_not_negative"),
)
