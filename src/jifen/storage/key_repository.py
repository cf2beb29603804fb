"""SQL for API keys (stored hashed) and the sandbox clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from jifen.storage.rows import from_row, to_row
from jifen.storage.tables import api_keys, sandbox_clock


@dataclass(frozen=True, slots=True)
class StoredKey:
    """An API key as stored: never the secret, only its hash."""

    prefix: str
    secret_hash: str
    role: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
    partner_code: str | None = None  # a partner key acts for this partner only


_BY_PREFIX = select(api_keys).where(api_keys.c.prefix == bindparam("prefix"))  # every request


class KeyRepository:
    """Reads and writes API keys and the sandbox clock."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, key: StoredKey) -> None:
        """Store a new key."""
        self.connection.execute(insert(api_keys).values(**to_row(key)))

    def get(self, prefix: str) -> StoredKey | None:
        """A key by its public prefix."""
        row = self.connection.execute(_BY_PREFIX, {"prefix": prefix}).first()
        if row is None:
            return None
        return from_row(StoredKey, row)

    def all(self) -> list[StoredKey]:
        """Every key, oldest first."""
        rows = self.connection.execute(select(api_keys).order_by(api_keys.c.id))
        return [from_row(StoredKey, r) for r in rows]

    def revoke(self, prefix: str, at: datetime) -> bool:
        """Revoke a key; False when there is no such key that is still live."""
        result = self.connection.execute(
            update(api_keys)
            .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return result.rowcount == 1

    def clock(self) -> datetime | None:
        """The time a sandbox server was set to, if it was."""
        query = select(sandbox_clock.c.now).where(sandbox_clock.c.id == 1)
        return self.connection.execute(query).scalar_one_or_none()

    def set_clock(self, now: datetime) -> None:
        """Set the sandbox time shared by every worker."""
        if (
            self.connection.execute(
                update(sandbox_clock).where(sandbox_clock.c.id == 1).values(now=now)
            ).rowcount
            == 0
        ):
            self.connection.execute(insert(sandbox_clock).values(id=1, now=now))
