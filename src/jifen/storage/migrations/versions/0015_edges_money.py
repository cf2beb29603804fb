"""edges: reports, approvals and idempotent beneficiaries

Revision ID: 0015
Revises: 0014

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "beneficiary_requests",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("beneficiary_id", ID, nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_beneficiary_requests_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_beneficiary_requests_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beneficiary_requests")),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coupons_source"), ["source"], unique=False)
    with op.batch_alter_table("adjustments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("decision_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("adjustments", schema=None) as batch_op:
        batch_op.drop_column("decision_hash")
        batch_op.drop_column("decision_id")
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupons_source"))
    op.drop_table("beneficiary_requests")
