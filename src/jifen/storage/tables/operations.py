"""The daily job's steps and reminders, and the sandbox clock."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

job_runs = Table(
    "job_runs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("job", String(40), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("step", String(40), nullable=False),
    Column("figures", JSON, nullable=False),
    UniqueConstraint("job", "as_of", "step", name="uq_job_runs_step"),
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("queued_on", Date, nullable=False),
    UniqueConstraint("member_id", "kind", "expires_on", name="uq_reminders_member_kind_date"),
)

sandbox_clock = Table(
    "sandbox_clock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("now", UTCDateTime, nullable=False),
)
