"""program drafts: a whole program proposed by one admin, activated only by another

Revision ID: 0020
Revises: 0019

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "program_drafts",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("based_on", ID, nullable=False),
        sa.Column("based_on_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("previewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["based_on"], ["programs.id"], name=op.f("fk_program_drafts_based_on_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_drafts")),
    )
    with op.batch_alter_table("program_drafts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_program_drafts_proposed_at"), ["proposed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("program_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_drafts_proposed_at"))
    op.drop_table("program_drafts")
