"""Program documents and the points each budgeted earning rule has given."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

programs = sa.Table(
    "programs",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
)

# A whole program document proposed by one admin, activated only by another (migration 0020).
program_drafts = sa.Table(
    "program_drafts",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),  # the proposer's id
    sa.Column("yaml", sa.Text, nullable=False),  # as written
    sa.Column("document", sa.JSON, nullable=False),  # as validated
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("based_on", Id, sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("based_on_version", sa.Integer, nullable=False),
    # proposed | activated | rejected | withdrawn
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("proposed_by", sa.String(64), nullable=False),
    sa.Column("proposed_at", UTCDateTime, nullable=False, index=True),
    sa.Column("decided_by", sa.String(64), nullable=True),
    sa.Column("decided_at", UTCDateTime, nullable=True),
    sa.Column("version", sa.Integer, nullable=True),  # the program version it became
    sa.Column("previewed_at", UTCDateTime, nullable=True),  # its last what-if preview
)

# Points each budgeted earning rule has promised or given, all members together (migration 0014);
# the row is locked while an award is taken from it, so concurrent events never overshoot.
rule_budgets = sa.Table(
    "rule_budgets",
    metadata,
    sa.Column("rule_code", sa.String(64), primary_key=True),
    sa.Column("spent_points", sa.BigInteger, nullable=False),
    sa.CheckConstraint("spent_points >= 0", name="spent_not_negative"),
)
