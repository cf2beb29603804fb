"""The `jifen` command line: one service call per command."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from jifen.config import get_settings
from jifen.services.ledger_check import check_ledger
from jifen.storage.db import make_engine, upgrade
from jifen.storage.uow import UnitOfWork

app = typer.Typer(help="Jifen (积分): a loyalty points platform.", no_args_is_help=True)
ledger_app = typer.Typer(help="Inspect the points ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
console = Console()


def _engine() -> Engine:
    return make_engine(get_settings().database_url)


@app.command()
def init() -> None:
    """Create or upgrade the database schema at JIFEN_DATABASE_URL."""
    upgrade(_engine())
    console.print(f"[green]Schema is up to date[/] at {get_settings().database_url}")


@ledger_app.command("check")
def ledger_check() -> None:
    """Verify the ledger's invariants (SPEC §2, 1–3); exit 1 with a report when one fails."""
    report = check_ledger(UnitOfWork(_engine()))
    audited = ", ".join(f"{n:,} {name}" for name, n in report.counts.items())
    if report.ok:
        console.print(f"[green]Ledger OK[/]: {audited}; every invariant holds.")
        return
    table = Table("invariant", "check", "subject", "expected", "actual", title="Ledger violations")
    for v in report.violations:
        table.add_row(str(v.invariant), v.check, v.subject, f"{v.expected:,}", f"{v.actual:,}")
    console.print(table)
    console.print(
        f"[red]Ledger check FAILED[/]: {len(report.violations)} violation(s) in {audited}. "
        "Do not post more until the cause is found; entries are never edited, so a mismatch "
        "means the database was changed outside Jifen."
    )
    raise typer.Exit(code=1)
