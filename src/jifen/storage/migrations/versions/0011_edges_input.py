"""edges: strict input and one member per ID number

Revision ID: 0011
Revises: 0010

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: the hash needs the vault's key, which a migration does not have. Members enrolled
    # before keep null here and are found by their (type, number) hash under every type.
    op.add_column("members", sa.Column("number_hash", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_members_number_hash"), "members", ["number_hash"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_members_number_hash"), table_name="members")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("number_hash")
