"""Accounting (migration 0006): versioned breakage estimates."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Date, Integer, String, Table

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id

breakage_estimates = Table(
    "breakage_estimates",
    metadata,
    Column("id", Id, primary_key=True),
    # Append-only: a new estimate is a new version; old versions are never updated.
    Column("version", Integer, nullable=False, unique=True),
    Column("key", String(200), nullable=False, unique=True),  # the idempotency key
    Column("as_of", Date, nullable=False, index=True),
    Column("method", String(32), nullable=False),
    Column("rate_bps", Integer, nullable=False),
    Column("numerator", BigInteger, nullable=False),
    Column("denominator", BigInteger, nullable=False),
    Column("inputs", JSON, nullable=False),
    CheckConstraint("rate_bps >= 0 AND rate_bps <= 10000", name="rate_in_range"),
)
