"""SQL for adjustments (with their approvals) and the append-only audit log."""

from __future__ import annotations

from sqlalchemy import Connection


class AuditRepository:
    """Adjustments (with their approvals) and the append-only audit log."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
