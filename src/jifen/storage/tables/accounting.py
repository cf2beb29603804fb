"""Accounting (migration 0006): versioned breakage estimates."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id

breakage_estimates = sa.Table(
    "breakage_estimates",
    metadata,
    sa.Column("id", Id, primary_key=True),
    # Append-only: a new estimate is a new version; old versions are never updated.
    sa.Column("version", sa.Integer, nullable=False, unique=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),  # the idempotency key
    sa.Column("as_of", sa.Date, nullable=False, index=True),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("rate_bps", sa.Integer, nullable=False),
    sa.Column("numerator", sa.BigInteger, nullable=False),
    sa.Column("denominator", sa.BigInteger, nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.CheckConstraint("rate_bps >= 0 AND rate_bps <= 10000", name="rate_in_range"),
)
