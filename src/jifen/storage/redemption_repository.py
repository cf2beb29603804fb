"""SQL for beneficiaries and ticket redemptions (with their idempotent steps)."""

from __future__ import annotations

from sqlalchemy import Connection


class RedemptionRepository:
    """Beneficiaries and ticket redemptions (with their idempotent steps)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
