"""SQL for console sign-in accounts (operators, analysts, admins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from jifen.storage.rows import inserted_id
from jifen.storage.tables import console_users


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A console account; the password is kept only as a slow hash."""

    id: int
    username: str
    password_hash: str
    role: str
    created_at: datetime
    disabled_at: datetime | None


class ConsoleUserRepository:
    """Reads and writes console accounts."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, *, username: str, password_hash: str, role: str, now: datetime) -> int:
        """Store a new account and return its id."""
        result = self.connection.execute(
            insert(console_users).values(
                username=username, password_hash=password_hash, role=role, created_at=now
            )
        )
        return inserted_id(result)

    def set_password(self, user_id: int, *, password_hash: str, role: str) -> None:
        """Give an account a new password and role (and enable it)."""
        self.connection.execute(
            update(console_users)
            .where(console_users.c.id == user_id)
            .values(password_hash=password_hash, role=role, disabled_at=None)
        )

    def by_username(self, username: str) -> ConsoleUser | None:
        """The account called `username`, if any."""
        row = self.connection.execute(
            select(console_users).where(console_users.c.username == username)
        ).first()
        return ConsoleUser(**row._mapping) if row else None

    def by_id(self, user_id: int) -> ConsoleUser | None:
        """The account with `user_id`, if any."""
        row = self.connection.execute(
            select(console_users).where(console_users.c.id == user_id)
        ).first()
        return ConsoleUser(**row._mapping) if row else None

    def all(self) -> list[ConsoleUser]:
        """Every account, by name."""
        rows = self.connection.execute(select(console_users).order_by(console_users.c.username))
        return [ConsoleUser(**row._mapping) for row in rows]
