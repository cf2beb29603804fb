"""Program documents and the points each budgeted earning rule has given."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Integer,
    String,
    Table,
    Text,
)

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id

programs = Table(
    "programs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Column("source", Text, nullable=False),
    Column("active", Boolean, nullable=False),
)

# Points each budgeted earning rule has promised or given, all members together (migration 0014);
# the row is locked while an award is taken from it, so concurrent events never overshoot.
rule_budgets = Table(
    "rule_budgets",
    metadata,
    Column("rule_code", String(64), primary_key=True),
    Column("spent_points", BigInteger, nullable=False),
    CheckConstraint("spent_points >= 0", name="spent_not_negative"),
)
