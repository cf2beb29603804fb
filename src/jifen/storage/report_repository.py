"""SQL for the summary report that is not analytics: members per tier now.

Everything else the summary reports comes from the analytics rollups
(`jifen.storage.analytics_repository`).
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from jifen.storage.tables import members


class ReportRepository:
    """Counts for the summary report."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def tier_counts(self) -> dict[str, int]:
        """Members per current tier."""
        m = members.c
        query = (
            select(m.tier_code, func.count()).where(m.tier_code.is_not(None)).group_by(m.tier_code)
        )
        return {code: int(n) for code, n in self.connection.execute(query)}
