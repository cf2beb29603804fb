"""edges: housekeeping of no-shows, stale holds and late cancels

Revision ID: 0013
Revises: 0012

The daily job looks up tickets still awaiting travel, and holds, by status and departure.
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_status_departure", "tickets", ["status", "departure_at"], unique=False
    )
    op.create_index(
        "ix_redemptions_status_departure", "redemptions", ["status", "departure_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_redemptions_status_departure", table_name="redemptions")
    op.drop_index("ix_tickets_status_departure", table_name="tickets")
