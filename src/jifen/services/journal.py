"""Recording commands in the journal, in the same unit of work as the write they describe.

A use case that changed a member's points or state calls `record` just before it commits, so
the entry and the write commit or roll back together, and a replayed request (a duplicate, an
idempotent retry) that changed nothing records nothing. Arguments are kept as JSON; identity
fields go through `seal` (encrypted with the vault: never masked, never plain), so that
`jifen replay` can give every command back its exact arguments (`services/replay.py`).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Protocol

from jifen.services.ports import JournalStore
from jifen.storage.crypto import IdentityVault
from jifen.storage.journal_repository import JournalEntry

SEALED = ("id_number", "phone")  # the identity fields kept encrypted wherever they appear


class Journaled(Protocol):
    """What `record` needs of a unit of work: its journal (the database's, or a batch's)."""

    @property
    def journal(self) -> JournalStore: ...


def record(uow: Journaled, command: str, *, at: datetime | None, **args: Any) -> None:
    """Append `command` with `args` (made JSON-ready) to the journal of the open unit of work."""
    uow.journal.add(JournalEntry(command, plain(args), at))


def plain(value: Any) -> Any:
    """`value` as JSON: dataclasses as objects, times as ISO text, enums as their value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    return value


def seal(value: Any, vault: IdentityVault) -> Any:
    """`value` with every ID number and phone in it encrypted under the vault's newest key."""
    return _walk(value, vault.encrypt)


def unseal(value: Any, vault: IdentityVault) -> Any:
    """`value` with what `seal` encrypted decrypted again."""
    return _walk(value, vault.decrypt)


def _walk(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {
            k: change(v) if k in SEALED and isinstance(v, str) else _walk(v, change)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_walk(v, change) for v in value]
    return value
