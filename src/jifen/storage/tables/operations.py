"""The daily job's steps and reminders, and the sandbox clock."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("job", sa.String(40), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("step", sa.String(40), nullable=False),
    sa.Column("figures", sa.JSON, nullable=False),
    sa.UniqueConstraint("job", "as_of", "step", name="uq_job_runs_step"),
)

reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("expires_on", sa.Date, nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("queued_on", sa.Date, nullable=False),
    sa.UniqueConstraint("member_id", "kind", "expires_on", name="uq_reminders_member_kind_date"),
)

sandbox_clock = sa.Table(
    "sandbox_clock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("now", UTCDateTime, nullable=False),
)
