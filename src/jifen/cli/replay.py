"""`jifen replay`: rebuild a program from its journal in an empty database; compare the books."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from jifen.cli.common import app, console, open_engine, open_vault, progress_bar
from jifen.config import get_settings
from jifen.services.replay import Difference, ReplayReport, compare, journal_size, replay
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine, upgrade
from jifen.storage.uow import SqlUnitOfWork

SHOWN = 5  # rows shown per side of a table that differs


@app.command("replay")
def replay_command(
    into: Annotated[
        str | None,
        typer.Option(
            "--into", metavar="DATABASE_URL", help="An empty database to rebuild the program in."
        ),
    ] = None,
    compare_with: Annotated[
        str | None,
        typer.Option(
            "--compare",
            metavar="DATABASE_URL",
            help="A database whose books to compare with the source's (after --into: that one).",
        ),
    ] = None,
    source_url: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="SOURCE_URL", help="The database whose journal to replay [settings]."
        ),
    ] = None,
) -> None:
    """Replay the journal into an empty database and compare balances, lots, tiers, orders…

    `--into URL` migrates the empty database at URL, runs every journaled command again there
    in order (with the same identity keys), then compares the books; `--compare URL` only
    compares. Exit 1 when a command did not apply again or the books differ.
    """
    if into is None and compare_with is None:
        raise typer.BadParameter("Give --into DATABASE_URL, --compare DATABASE_URL, or both.")
    settings = get_settings()
    source = SqlUnitOfWork(make_engine(source_url) if source_url else open_engine())
    clean = True
    if into is not None:
        clean = _replay(source, into, open_vault(settings))
    target_url = compare_with or into
    assert target_url is not None  # noqa: S101 - one of the two was given
    differences = compare(source, SqlUnitOfWork(make_engine(target_url)))
    _show(differences)
    if differences or not clean:
        raise typer.Exit(code=1)


def _replay(source: SqlUnitOfWork, url: str, vault: IdentityVault) -> bool:
    engine = make_engine(url)
    upgrade(engine)
    target = SqlUnitOfWork(engine)
    if journal_size(target):
        console.print(
            f"[red]{url} is not empty[/]: replay rebuilds a program in an empty database."
        )
        raise typer.Exit(code=2)
    with progress_bar() as bar:
        task = bar.add_task("replaying", total=journal_size(source))
        report = replay(source, target, vault=vault, progress=lambda n: bar.update(task, advance=n))
    _show_refused(report)
    return not report.refused


def _show_refused(report: ReplayReport) -> None:
    console.print(f"Replayed {report.replayed:,} journaled commands.")
    if not report.refused:
        return
    table = Table("seq", "command", "what happened", title="Commands that did not apply again")
    for refused in report.refused[:50]:
        table.add_row(str(refused.seq), refused.command, refused.problem)
    console.print(table)
    console.print(f"[red]{len(report.refused)} command(s) did not apply again.[/]")


def _show(differences: list[Difference]) -> None:
    if not differences:
        console.print(
            "[green]Books agree[/]: balances, lots, pending points, tiers and their "
            "history, redemptions, orders, beneficiaries, adjustments, partner operations."
        )
        return
    for d in differences:
        table = Table("side", *d.columns, title=f"{d.table}: rows that differ")
        for side, rows in (("source", d.only_in_source), ("target", d.only_in_target)):
            for row in rows[:SHOWN]:
                table.add_row(side, *(str(v) for v in row))
        console.print(table)
        console.print(
            f"{d.table}: {len(d.only_in_source)} row(s) only in the source, "
            f"{len(d.only_in_target)} only in the target."
        )
    console.print(f"[red]The books differ[/] in {len(differences)} table(s).")
