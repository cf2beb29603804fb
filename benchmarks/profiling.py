"""Where ingest time goes: one `apply_events` run under cProfile, by layer and by SQL statement.

`python -m benchmarks profile [--db sqlite|postgres] [--members N]` prints the share of time
per layer (SQLAlchemy, the driver, pydantic, Jifen's domain, services and storage …), the
statements each event sends (by verb and table), and the top functions by their own time.
"""

from __future__ import annotations

import cProfile
import pstats
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event

from benchmarks.databases import Postgres
from benchmarks.ingest import apply_all, prepare
from benchmarks.report import console
from jifen.storage.db import make_engine

LAYERS = (
    ("/sqlalchemy/", "SQLAlchemy (Python)"),
    ("/psycopg/", "psycopg (Python)"),
    ("/pydantic", "pydantic"),
    ("/jifen/domain/", "jifen.domain"),
    ("/jifen/services/", "jifen.services"),
    ("/jifen/storage/", "jifen.storage"),
    ("/jifen/programs/", "jifen.programs"),
    ("/cryptography/", "cryptography"),
    ("/json/", "json"),
)
TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


def layer(filename: str, function: str) -> str:
    """The layer a profiled function belongs to."""
    if filename == "~":  # C functions: name the driver's, which include waiting for the database
        if "sqlite3" in function:
            return "sqlite3 driver (C: SQLite's own work)"
        if "psycopg" in function:
            return "psycopg (C: includes waiting for the server)"
        return "builtins (C)"
    return next((name for marker, name in LAYERS if marker in filename), "other Python")


def statement_kind(statement: str) -> str:
    """`SELECT balances`, `INSERT ledger_entries`, `BEGIN` …"""
    verb = statement.split(None, 1)[0].upper() if statement.strip() else "?"
    table = TABLE.search(statement)
    return f"{verb} {table.group(1)}" if table else verb


def profile(*, db: str, members: int, days: int, top: int, save: Path | None) -> None:
    """Profile one ingest of `members` members' `days` of tickets and print where time went."""
    with tempfile.TemporaryDirectory(prefix="jifen-profile-") as folder, Postgres() as pg:
        url = f"sqlite:///{Path(folder) / 'profile.db'}" if db == "sqlite" else pg.create()
        engine = make_engine(url)
        program, vault, data = prepare(engine, members=members, days=days)
        kinds: Counter[str] = Counter()

        def seen(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
            kinds[statement_kind(statement)] += 1

        event.listen(engine, "before_cursor_execute", seen)
        profiler = cProfile.Profile()
        profiler.enable()
        ingest = apply_all(engine, program=program, vault=vault, events=data.events)
        profiler.disable()
        engine.dispose()
    stats = pstats.Stats(profiler)
    if save is not None:
        stats.dump_stats(save)
    console.print(
        f"{db}: {ingest.events:,} events in {ingest.seconds:.2f} s under the profiler "
        f"({ingest.rate:,.0f}/s); {ingest.statements / ingest.events:.1f} statements and "
        f"{ingest.commits / ingest.events:.2f} commits per event"
    )
    _layers(stats)
    console.print("\n[bold]Statements per event[/]")
    for kind, count in kinds.most_common():
        console.print(f"  {count / ingest.events:6.2f}  {kind}")
    console.print(f"\n[bold]Top {top} functions by own time[/]")
    stats.sort_stats("tottime").print_stats(top)


def _layers(stats: pstats.Stats) -> None:
    by_layer: Counter[str] = Counter()
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        by_layer[layer(filename, function)] += tottime
    total = sum(by_layer.values())
    console.print("\n[bold]Own time by layer[/]")
    for name, seconds in by_layer.most_common():
        console.print(f"  {seconds / total:6.1%}  {seconds:7.2f} s  {name}")
