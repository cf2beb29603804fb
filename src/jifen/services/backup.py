"""Back up and restore the whole database: a consistent copy while the server runs, put back whole.

`backup_database` writes one file: a SQLite database (copied with SQLite's online backup API) or
a PostgreSQL custom-format dump (`pg_dump`). It is written beside the target and renamed into
place only when complete, so a failed run never leaves a half backup under the name asked for.
`restore_database` puts such a file back and refuses to write over a database that has tables
unless told to (`force`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jifen.domain.errors import JifenError, NotFound
from jifen.storage import backup as storage
from jifen.storage.db import make_engine, schema_is_current

TOOLS_HINT = (
    "Install the PostgreSQL client tools of the server's major version or newer "
    "(Debian/Ubuntu: `apt-get install postgresql-client`) and make sure they are on the PATH."
)


class BackupExists(JifenError):
    """The backup file asked for is already there."""

    code = "backup_exists"
    status = 422


class RestoreTargetNotEmpty(JifenError):
    """The database to restore into holds tables; restoring would replace them."""

    code = "restore_target_not_empty"
    status = 422


class NotABackup(JifenError):
    """The file is not a Jifen backup for this kind of database."""

    code = "not_a_backup"
    status = 422


class BackupToolMissing(JifenError):
    """`pg_dump` or `pg_restore` is not installed."""

    code = "backup_tool_missing"
    status = 422


class BackupFailed(JifenError):
    """The database or its tools refused the backup or the restore."""

    code = "backup_failed"
    status = 422


@dataclass(frozen=True, slots=True)
class BackupReport:
    """The file written or read, its size, the database kind, and whether its schema is current."""

    path: Path
    size: int
    database: str
    schema_current: bool = True


def backup_database(*, database_url: str, target: Path, force: bool = False) -> BackupReport:
    """Write a consistent copy of the database at `database_url` to `target`."""
    if target.exists() and not force:
        raise BackupExists(
            f"{target} already exists; choose a new name or pass --force to replace it.",
            path=str(target),
        )
    kind = _kind(database_url)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if kind == "sqlite":
            storage.copy_sqlite(_sqlite_file(database_url, must_exist=True), partial)
        else:
            _postgres(storage.pg_dump, database_url, partial)
        partial.replace(target)
    except (sqlite3.Error, OSError) as error:
        raise BackupFailed(f"The backup to {target} failed: {error}") from error
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(target, target.stat().st_size, kind)


def restore_database(*, database_url: str, source: Path, force: bool = False) -> BackupReport:
    """Put the backup `source` back as the database at `database_url`."""
    if not source.is_file():
        raise NotFound(f"There is no backup file at {source}.", path=str(source))
    kind = _kind(database_url)
    if storage.file_kind(source) != kind or (
        kind == "sqlite" and not storage.sqlite_is_jifen(source)
    ):
        raise NotABackup(
            f"{source} is not a Jifen backup of a {kind} database "
            f"(`jifen backup` makes one from a database of the same kind).",
            path=str(source),
        )
    tables = storage.table_names(database_url)
    if tables and not force:
        raise RestoreTargetNotEmpty(
            f"The database at {storage.shown(database_url)} holds {len(tables)} tables; "
            "restoring would replace everything in it. Stop the server, back it up if it "
            "matters, and pass --force; or restore into a new, empty database.",
            tables=len(tables),
        )
    if kind == "sqlite":
        try:
            storage.restore_sqlite(source, _sqlite_file(database_url, must_exist=False))
        except (sqlite3.Error, OSError) as error:
            raise BackupFailed(f"The restore from {source} failed: {error}") from error
    else:
        _postgres(storage.pg_restore, database_url, source)
    return BackupReport(source, source.stat().st_size, kind, _schema_current(database_url))


def _kind(database_url: str) -> str:
    kind = storage.backend(database_url)
    if kind not in {"sqlite", "postgresql"}:
        raise BackupFailed(f"Jifen backs up SQLite and PostgreSQL databases, not {kind}.")
    return kind


def _sqlite_file(database_url: str, *, must_exist: bool) -> Path:
    path = storage.sqlite_path(database_url)
    if path is None:
        raise BackupFailed("An in-memory SQLite database cannot be backed up or restored.")
    if must_exist and not path.is_file():
        raise NotFound(f"There is no database file at {path}.", path=str(path))
    return path


def _postgres(action: Callable[[str, Path], None], database_url: str, path: Path) -> None:
    try:
        action(database_url, path)
    except storage.ToolMissing as missing:
        raise BackupToolMissing(
            f"`{missing.tool}` was not found. {TOOLS_HINT}", tool=missing.tool
        ) from None
    except storage.ToolFailed as failed:
        raise BackupFailed(
            f"`{failed.tool}` failed for {storage.shown(database_url)}: {failed.output}",
            tool=failed.tool,
        ) from None


def _schema_current(database_url: str) -> bool:
    engine = make_engine(database_url)
    try:
        return schema_is_current(engine)
    finally:
        engine.dispose()
