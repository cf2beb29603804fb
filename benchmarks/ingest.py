"""Bulk ingest through the full rules engine, against the raw ceiling of writing the same rows.

The ingest applies a year of demo ticket events through the bulk path (`apply_in_batches`, the
same handlers as one event at a time, a batch per transaction), as `jifen import events` does. The
ceiling takes the rows that ingest left in the database (every table that gained rows:
events, tickets, ledger transactions and entries, lots, pending points, balances, earnings …),
and writes exactly those rows into a copy of the database as it was before the ingest, with no
logic: SQLite `executemany` in one transaction, PostgreSQL `COPY` through psycopg. Both figures
are events per second over the same events, so their ratio is the share of the machine's
ceiling the engine reaches.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from time import perf_counter
from typing import Any

import psycopg
from sqlalchemy import JSON, Engine, event

from benchmarks.databases import Postgres, conninfo, install_railway, row_counts
from benchmarks.dataset import Dataset, enrol_all, railway_tickets
from benchmarks.report import Check, Results, console, median
from benchmarks.sizes import Sizes
from jifen.programs.schema import Program
from jifen.services.events.batch import BATCH_SIZE, apply_in_batches
from jifen.services.ledger_check import check_ledger
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import _sqlite_connect, make_engine
from jifen.storage.tables import metadata
from jifen.storage.uow import SqlUnitOfWork

TARGETS = {"sqlite": 20_000, "postgres": 10_000}
RATIO_TARGET = 0.40


@dataclass(frozen=True, slots=True)
class Ingest:
    """One timed bulk ingest of a list of events, with what it sent to the database."""

    seconds: float
    events: int
    statuses: Counter[str]
    errors: Counter[str]
    statements: int
    commits: int

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds


@dataclass(frozen=True, slots=True)
class TableRows:
    """Rows of one table as the database stores them, in primary-key order."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class LoadedProgram:
    """A migrated database with the railway program and the dataset's members enrolled."""

    url: str
    program: Program
    vault: IdentityVault
    data: Dataset


def apply_all(
    engine: Engine, *, program: Program, vault: IdentityVault, events: Sequence[dict[str, Any]]
) -> Ingest:
    """Apply `events` through the rules engine, timed, counting SQL statements and commits."""
    statements = commits = 0

    def executed(*_: Any) -> None:
        nonlocal statements
        statements += 1

    def committed(*_: Any) -> None:
        nonlocal commits
        commits += 1

    # The whole year reaches Jifen at once, as an import of it would, after its last event.
    received_at = max(datetime.fromisoformat(e["occurred_at"]) for e in events)
    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine, "commit", committed)
    try:
        started = perf_counter()
        results = list(
            apply_in_batches(
                SqlUnitOfWork(engine),
                program=program,
                vault=vault,
                raw_events=events,
                received_at=received_at,
            )
        )
        seconds = perf_counter() - started
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine, "commit", committed)
    statuses = Counter(r.status for r in results)
    errors = Counter(r.error["code"] for r in results if r.error)
    return Ingest(seconds, len(events), statuses, errors, statements, commits)


def prepare(engine: Engine, *, members: int, days: int) -> tuple[Program, IdentityVault, Dataset]:
    """Migrate, install the railway program, enrol the members of `days` days of demo tickets."""
    program = install_railway(engine)
    vault = IdentityVault([IdentityVault.generate_key()], IdentityVault.generate_key())
    data = railway_tickets(members=members, days=days)
    enrol_all(engine, program=program, vault=vault, cast=data.members)
    return program, vault, data


def sqlite_rows(path: Path, before: dict[str, int], after: dict[str, int]) -> list[TableRows]:
    """The rows the ingest added to each table, read back as SQLite stores them."""
    connection = sqlite3.connect(path)
    try:
        tables = []
        for table in metadata.sorted_tables:
            if after[table.name] == before[table.name]:
                continue
            cursor = connection.execute(f'SELECT * FROM "{table.name}" ORDER BY rowid')  # noqa: S608
            columns = tuple(d[0] for d in cursor.description)
            tables.append(TableRows(table.name, columns, cursor.fetchall()[before[table.name] :]))
        return tables
    finally:
        connection.close()


def write_sqlite(path: Path, tables: Sequence[TableRows]) -> float:
    """Insert `tables` by `executemany` in one transaction; seconds taken, commit included."""
    connection = sqlite3.connect(path)
    _sqlite_connect(connection, None)  # Jifen's own pragmas (WAL, synchronous=NORMAL, foreign keys)
    try:
        started = perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        for table in tables:
            columns = ", ".join(f'"{c}"' for c in table.columns)
            marks = ", ".join("?" for _ in table.columns)
            sql = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'  # noqa: S608
            connection.executemany(sql, table.rows)
        connection.execute("COMMIT")
        return perf_counter() - started
    finally:
        connection.close()


def postgres_rows(url: str, before: dict[str, int], after: dict[str, int]) -> list[TableRows]:
    """The rows the ingest added to each table; JSON columns as their text, as COPY reads it."""
    tables = []
    with psycopg.connect(conninfo(url)) as connection:
        for table in metadata.sorted_tables:
            if after[table.name] == before[table.name]:
                continue
            names = tuple(c.name for c in table.columns)
            select = ", ".join(
                f'"{c.name}"::text' if isinstance(c.type, JSON) else f'"{c.name}"'
                for c in table.columns
            )
            order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
            query = f'SELECT {select} FROM "{table.name}" ORDER BY {order}'  # noqa: S608
            rows = connection.execute(query).fetchall()  # type: ignore[call-overload]
            tables.append(TableRows(table.name, names, rows[before[table.name] :]))
    return tables


def write_postgres(url: str, tables: Sequence[TableRows]) -> float:
    """`COPY` `tables` in one transaction; the seconds it took, commit included."""
    with psycopg.connect(conninfo(url)) as connection:
        started = perf_counter()
        with connection.cursor() as cursor:
            for table in tables:
                columns = ", ".join(f'"{c}"' for c in table.columns)
                statement = f'COPY "{table.name}" ({columns}) FROM STDIN'
                with cursor.copy(statement) as copy:  # type: ignore[arg-type]
                    for row in table.rows:
                        copy.write_row(row)
        connection.commit()
        return perf_counter() - started


def report(
    results: Results, *, db: str, ingest: Ingest, raw: list[float], tables: list[TableRows]
) -> None:
    """Record the ingest, its ceiling and their ratio; one row per target."""
    name, rows = f"ingest_{db}", sum(len(t.rows) for t in tables)
    results.record(
        **{
            f"{name}_events_per_s": ingest.rate,
            f"{name}_events": ingest.events,
            f"{name}_seconds": ingest.seconds,
            f"{name}_statements_per_event": ingest.statements / ingest.events,
            f"{name}_commits_per_event": ingest.commits / ingest.events,
            f"{name}_rejected": ingest.events - ingest.statuses["applied"],
        }
    )
    target = TARGETS[db]
    results.check(
        Check(f"{name} (events/s)", ingest.rate, "/s", f"≥ {target:,}/s", ingest.rate >= target)
    )
    if not raw:
        return
    ceiling = ingest.events / median(raw)
    results.record(
        **{
            f"raw_{db}_events_per_s": ceiling,
            f"raw_{db}_seconds": median(raw),
            f"raw_{db}_rows": rows,
            f"raw_{db}_rows_per_s": rows / median(raw),
            f"{name}_vs_raw": ingest.rate / ceiling,
        }
    )
    results.check(
        Check(
            f"{name} vs raw ceiling",
            ingest.rate,
            "/s",
            f"≥ {RATIO_TARGET:.0%} of raw",
            ingest.rate / ceiling >= RATIO_TARGET,
            reference=f"raw_{db}",
            reference_value=ceiling,
        )
    )
    layout = ", ".join(f"{t.name} {len(t.rows):,}" for t in tables)
    results.notes.append(
        f"raw_{db} wrote {rows:,} rows ({rows / ingest.events:.1f}/event): {layout}"
    )


def _judge(results: Results, *, db: str, ingest: Ingest, engine: Engine) -> None:
    if ingest.errors.get("internal_error"):
        results.problem(f"ingest_{db}: {ingest.errors['internal_error']} events failed on our side")
    if ingest.statuses["applied"] != ingest.events:
        results.notes.append(f"ingest_{db} outcomes: {dict(ingest.statuses)} {dict(ingest.errors)}")
    checked = check_ledger(SqlUnitOfWork(engine))
    results.record(**{f"ingest_{db}_ledger_ok": int(checked.ok)})
    if not checked.ok:
        results.problem(f"ingest_{db}: `jifen ledger check` finds {len(checked.violations)} faults")


def _say(db: str, ingest: Ingest) -> None:
    console.print(
        f"  ingest_{db}: {ingest.events:,} events in {ingest.seconds:.2f} s "
        f"= {ingest.rate:,.0f}/s; {ingest.statements / ingest.events:.1f} statements and "
        f"{ingest.commits / ingest.events:.2f} commits per event"
    )


def run_sqlite(results: Results, sizes: Sizes, workdir: Path) -> None:
    """`ingest_sqlite` and its ceiling `raw_sqlite`, on fresh files in `workdir`."""
    path = workdir / "ingest.db"
    engine = make_engine(f"sqlite:///{path}")
    program, vault, data = prepare(engine, members=sizes.sqlite_members, days=sizes.sqlite_days)
    results.sizes["ingest_sqlite"] = _size(data)
    engine.dispose()  # the last connection checkpoints the WAL: the file is the whole database
    copies = [workdir / f"raw-{n}.db" for n in range(sizes.raw_repeats)]
    for copy in copies:
        shutil.copyfile(path, copy)
    engine = make_engine(f"sqlite:///{path}")
    before = row_counts(engine)
    ingest = apply_all(engine, program=program, vault=vault, events=data.events)
    _say("sqlite", ingest)
    after = row_counts(engine)
    _judge(results, db="sqlite", ingest=ingest, engine=engine)
    engine.dispose()
    tables = sqlite_rows(path, before, after)
    raw = [write_sqlite(copy, tables) for copy in copies]
    console.print(f"  raw_sqlite: {sorted(round(s, 4) for s in raw)} s")
    report(results, db="sqlite", ingest=ingest, raw=raw, tables=tables)


def run_postgres(results: Results, sizes: Sizes, pg: Postgres, *, with_raw: bool) -> LoadedProgram:
    """`ingest_postgres` and its ceiling `raw_postgres`; the database stays for the jobs."""
    url = pg.create()
    engine = make_engine(url)
    program, vault, data = prepare(engine, members=sizes.postgres_members, days=sizes.postgres_days)
    results.sizes["ingest_postgres"] = _size(data)
    engine.dispose()  # a template database must have no other connection
    copies = [pg.create(template=url) for _ in range(sizes.raw_repeats if with_raw else 0)]
    engine = make_engine(url)
    before = row_counts(engine)
    ingest = apply_all(engine, program=program, vault=vault, events=data.events)
    _say("postgres", ingest)
    after = row_counts(engine)
    _judge(results, db="postgres", ingest=ingest, engine=engine)
    engine.dispose()
    tables = postgres_rows(url, before, after)
    raw = [write_postgres(copy, tables) for copy in copies]
    for copy in copies:
        pg.drop(copy)
    if raw:
        console.print(f"  raw_postgres: {sorted(round(s, 4) for s in raw)} s")
    report(results, db="postgres", ingest=ingest, raw=raw, tables=tables)
    return LoadedProgram(url, program, vault, data)


def _size(data: Dataset) -> dict[str, Any]:
    return {
        "members": len(data.members),
        "events": len(data.events),
        "period": f"{data.start}..{data.end}",
        "mix": data.mix(),
        "batch_size": BATCH_SIZE,
    }
