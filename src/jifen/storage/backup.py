"""Whole-database copies: SQLite through its online backup API, PostgreSQL through its own tools.

SQLite's backup API copies every page inside one read transaction, so the copy is a consistent
snapshot (what the WAL holds included) even while the server writes; readers and writers go on
meanwhile. PostgreSQL is copied with `pg_dump --format=custom` and put back with
`pg_restore --clean --if-exists` in one transaction, both given the connection parameters of
the SQLAlchemy URL (the password through `PGPASSWORD`, never on the command line).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from jifen.storage.db import make_engine

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
VERSION_TABLE = "alembic_version"


class ToolMissing(Exception):
    """A PostgreSQL client tool (`pg_dump`, `pg_restore`) is not on the PATH."""

    def __init__(self, tool: str) -> None:
        super().__init__(tool)
        self.tool = tool


class ToolFailed(Exception):
    """A PostgreSQL client tool exited with an error; `output` is the end of what it printed."""

    def __init__(self, tool: str, output: str) -> None:
        super().__init__(f"{tool}: {output}")
        self.tool, self.output = tool, output


def backend(url: str) -> str:
    """`sqlite` or `postgresql` (or whatever other backend the URL names)."""
    return make_url(url).get_backend_name()


def shown(url: str) -> str:
    """The URL as it may be printed: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def file_kind(path: Path) -> str | None:
    """`sqlite` or `postgresql` from a backup file's first bytes; None for anything else."""
    with path.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        return "sqlite"
    return "postgresql" if head.startswith(PG_DUMP_MAGIC) else None


def table_names(url: str) -> list[str]:
    """The tables of the database at `url` (none for a SQLite file that does not exist)."""
    path = sqlite_path(url) if backend(url) == "sqlite" else None
    if backend(url) == "sqlite" and (path is None or not path.exists()):
        return []
    engine = make_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a live SQLite database to `target`, a single self-contained file, checked."""
    with (
        closing(sqlite3.connect(source, timeout=60)) as live,
        closing(sqlite3.connect(target)) as copy,
    ):
        live.backup(copy)  # every page in one step: one read transaction, one snapshot
        copy.execute("PRAGMA journal_mode=DELETE")  # the copy stands alone, no -wal beside it
        _check(copy, target)


def sqlite_is_jifen(path: Path) -> bool:
    """Whether the SQLite file is sound and holds a Jifen schema."""
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        try:
            _check(db, path)
        except sqlite3.DatabaseError:
            return False
        found = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (VERSION_TABLE,)
        ).fetchone()
    return found is not None


def restore_sqlite(source: Path, target: Path) -> None:
    """Write the backup `source` over the database file `target` through the backup API."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as backup,
        closing(sqlite3.connect(target, timeout=60)) as live,
    ):
        backup.backup(live)
        live.execute("PRAGMA journal_mode=WAL")  # the embedded default, as `make_engine` sets
        _check(live, target)


def _check(db: sqlite3.Connection, path: Path) -> None:
    verdict = db.execute("PRAGMA quick_check").fetchone()[0]
    if verdict != "ok":
        raise sqlite3.DatabaseError(f"{path} failed its integrity check: {verdict}")


def pg_dump(url: str, target: Path) -> None:
    """Dump the PostgreSQL database at `url` to `target` in pg_dump's custom format."""
    _run("pg_dump", url, "--format=custom", f"--file={target}")


def pg_restore(url: str, source: Path) -> None:
    """Restore a custom-format dump over the database at `url`, all or nothing.

    `--clean --if-exists` drops what the dump holds before recreating it; owners and grants are
    left out so the dump restores as whichever role the URL names, on any server.
    """
    _run(
        "pg_restore",
        url,
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        str(source),
    )


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for a SQLAlchemy URL (no driver, no password) and its environment."""
    parsed = make_url(url)
    conninfo = URL.create(  # built anew: `URL.set(password=None)` would keep the password
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    env = {"PGPASSWORD": str(parsed.password)} if parsed.password is not None else {}
    return conninfo.render_as_string(hide_password=False), env


def _run(tool: str, url: str, *args: str) -> None:
    program = shutil.which(tool)
    if program is None:
        raise ToolMissing(tool)
    conninfo, env = libpq(url)
    done = subprocess.run(  # noqa: S603 - a PostgreSQL tool found on PATH, arguments built here
        [program, f"--dbname={conninfo}", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ToolFailed(tool, "\n".join(done.stderr.strip().splitlines()[-5:]))
