"""edges: reports, approvals and idempotent beneficiaries

Revision ID: 0015
Revises: 0014

"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401 - used once this revision has content
from alembic import op  # noqa: F401 - used once this revision has content

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
