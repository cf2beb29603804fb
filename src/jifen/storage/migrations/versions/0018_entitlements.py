"""entitlements: countable tier benefits issued to members, and their uses

Revision ID: 0018
Revises: 0016

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "entitlements",
        sa.Column("id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("tier_code", sa.String(length=24), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("issued_for", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lapsed_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "used >= 0 AND used <= quantity",
            name=op.f("ck_entitlements_used_within_quantity"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_entitlements_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entitlements")),
        sa.UniqueConstraint("member_id", "code", "issued_for", name=op.f("uq_entitlements_issue")),
    )
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.create_index("ix_entitlements_member_id", ["member_id"], unique=False)
        batch_op.create_index("ix_entitlements_valid_until", ["valid_until"], unique=False)
    op.create_table(
        "entitlement_uses",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("entitlement_id", ID, nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entitlement_id"],
            ["entitlements.id"],
            name=op.f("fk_entitlement_uses_entitlement_id_entitlements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entitlement_uses")),
    )
    with op.batch_alter_table("entitlement_uses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_entitlement_uses_entitlement_id"), ["entitlement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("entitlement_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entitlement_uses_entitlement_id"))
    op.drop_table("entitlement_uses")
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.drop_index("ix_entitlements_valid_until")
        batch_op.drop_index("ix_entitlements_member_id")
    op.drop_table("entitlements")
