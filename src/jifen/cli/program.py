"""Commands that set up and run a program: init, demo, import, jobs, ledger, backup.

`serve` is the composition root's (`jifen.bootstrap`): it builds the app this package never sees.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from jifen.cli.common import (
    app,
    console,
    failed,
    open_engine,
    open_vault,
    parse_day,
    program_or_exit,
    progress_bar,
)
from jifen.config import get_settings
from jifen.demo.run import run_demo
from jifen.domain.errors import JifenError
from jifen.programs.loader import load_preset, load_program
from jifen.services.backup import backup_database, restore_database
from jifen.services.clock import Clock
from jifen.services.daily import run_daily
from jifen.services.event_files import count_lines
from jifen.services.events.batch import BATCH_SIZE
from jifen.services.importer import import_events
from jifen.services.ledger_check import check_ledger
from jifen.services.programs import active_program, install_program
from jifen.services.whatif import what_if
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine, upgrade
from jifen.storage.uow import SqlUnitOfWork

ledger_app = typer.Typer(help="Inspect the points ledger.", no_args_is_help=True)


jobs_app = typer.Typer(help="Scheduled jobs, run for a date.", no_args_is_help=True)


import_app = typer.Typer(help="Import files.", no_args_is_help=True)


rules_app = typer.Typer(help="Earning rules.", no_args_is_help=True)


app.add_typer(ledger_app, name="ledger")


app.add_typer(jobs_app, name="jobs")


app.add_typer(import_app, name="import")


app.add_typer(rules_app, name="rules")


def _ensure_keys(env_file: Path) -> None:
    """Write new identity keys to `.env` when none are set (the embedded, one-machine setup)."""
    settings = get_settings()
    if settings.vault_keys and settings.hash_key:
        return
    lines = [
        f"JIFEN_VAULT_KEYS={IdentityVault.generate_key()}",
        f"JIFEN_HASH_KEY={IdentityVault.generate_key()}",
    ]
    with env_file.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    get_settings.cache_clear()
    console.print(
        f"Wrote new identity keys to {env_file}: keep them safe; without them ID numbers and "
        "phones cannot be read. In production set JIFEN_VAULT_KEYS and JIFEN_HASH_KEY instead."
    )


@app.command()
def init(
    preset: Annotated[
        str | None, typer.Option(help="A shipped program: railway or retail.")
    ] = None,
    program: Annotated[Path | None, typer.Option(help="A program file (YAML).")] = None,
) -> None:
    """Create or upgrade the schema at JIFEN_DATABASE_URL and install a program."""
    if preset and program:
        console.print("[red]Give --preset or --program, not both.[/]")
        raise typer.Exit(code=2)
    engine = make_engine(get_settings().database_url)
    upgrade(engine)
    console.print(f"[green]Schema is up to date[/] at {get_settings().database_url}")
    _ensure_keys(Path(".env"))
    if not (preset or program):
        return
    try:
        chosen = load_program(program) if program else load_preset(preset or "")
    except JifenError as error:
        raise failed(error) from None
    source = program.read_text("utf-8") if program else f"preset:{preset}"
    version = install_program(SqlUnitOfWork(engine), program=chosen, source=source)
    console.print(
        f"Program [bold]{chosen.code}[/] ({chosen.name.zh} / {chosen.name.en}) "
        f"is active, version {version}."
    )


@ledger_app.command("check")
def ledger_check() -> None:
    """Verify the ledger's invariants (SPEC §2, 1–3); exit 1 with a report when one fails."""
    report = check_ledger(SqlUnitOfWork(open_engine()))
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


@jobs_app.command("daily")
def jobs_daily(
    as_of: Annotated[date, typer.Option("--as-of", parser=parse_day, help="The day, YYYY-MM-DD.")],
) -> None:
    """Expire lots, evaluate tiers and queue expiry reminders for a day (safe to run twice)."""
    day = as_of
    uow = SqlUnitOfWork(open_engine())
    program = program_or_exit(uow)
    with progress_bar() as bar:
        task = bar.add_task(f"daily job {day}", total=None)
        report = run_daily(
            uow,
            program=program,
            as_of=day,
            progress=lambda step, n: bar.update(task, advance=n, description=step),
        )
    table = Table("step", "figures", title=f"Daily job for {day}")
    for step, figures in report.steps.items():
        note = " (already done)" if step in report.skipped else ""
        table.add_row(step + note, ", ".join(f"{k}: {v}" for k, v in figures.items()))
    console.print(table)


@import_app.command("events")
def import_events_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL or CSV file.")],
    rejects: Annotated[Path | None, typer.Option(help="Where rejected lines go.")] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Events per transaction (the bulk path).")
    ] = BATCH_SIZE,
) -> None:
    """Import events from a JSON Lines or CSV file; rerunning the same file applies nothing new."""
    settings = get_settings()
    uow = SqlUnitOfWork(open_engine())
    program = program_or_exit(uow)
    rejects_path = rejects or file.with_name(file.name + ".rejects.jsonl")
    with progress_bar() as bar:
        task = bar.add_task(f"importing {file.name}", total=count_lines(file))
        try:
            summary = import_events(
                uow,
                program=program,
                vault=open_vault(settings),
                path=file,
                rejects_path=rejects_path,
                received_at=Clock().now(),
                future_tolerance=settings.event_future_tolerance,
                progress=lambda line: bar.update(task, completed=line),
                batch_size=batch_size,
            )
        except JifenError as error:
            raise failed(error) from None
    table = Table("applied", "duplicate", "rejected", title=f"Imported {file}")
    table.add_row(f"{summary.applied:,}", f"{summary.duplicate:,}", f"{summary.rejected:,}")
    console.print(table)
    if summary.rejects_path:
        console.print(f"Rejected lines and their reasons: {summary.rejects_path}")


@rules_app.command("whatif")
def rules_whatif(
    program: Annotated[Path, typer.Option(help="The draft program file (YAML).")],
    start: Annotated[date, typer.Option("--from", parser=parse_day, help="First day, YYYY-MM-DD.")],
    end: Annotated[date, typer.Option("--to", parser=parse_day, help="Last day, YYYY-MM-DD.")],
) -> None:
    """Re-price a past period under a draft rule set and compare with the live rules."""
    uow = SqlUnitOfWork(open_engine())
    try:
        live, draft = active_program(uow), load_program(program)
    except JifenError as error:
        raise failed(error) from None
    report = what_if(uow, live=live, draft=draft, start=start, end=end)
    table = Table("", "live", "draft", "change", title=f"What-if {report.start} – {report.end}")
    for kind in sorted(set(report.live) | set(report.draft)):
        old, new = report.live[kind], report.draft[kind]
        table.add_row(f"{kind} points", f"{old:,}", f"{new:,}", f"{new - old:+,}")
    old, new = report.live_cost_fen, report.draft_cost_fen
    table.add_row(
        "cost (¥)", f"{old / 100:,.2f}", f"{new / 100:,.2f}", f"{(new - old) / 100:+,.2f}"
    )
    console.print(table)
    console.print(
        f"{report.priced:,} trips, activities and orders re-priced; "
        f"{report.members_affected:,} members would earn differently. Nothing was written."
    )


@app.command()
def demo(
    members: Annotated[int, typer.Option(help="How many demo members to enrol.")] = 200,
    start: Annotated[
        date | None,
        typer.Option("--from", parser=parse_day, help="First day [default: --to − 90]."),
    ] = None,
    end: Annotated[
        date | None, typer.Option("--to", parser=parse_day, help="Last day [default: yesterday].")
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same program.")] = 7,
) -> None:
    """Simulate a railway program: members, trips, spending and the nightly jobs, day by day.

    By default the season is the 91 days up to yesterday, so a server on real time shows a
    program that is running now; give --from/--to for a fixed, repeatable season.
    """
    settings = get_settings()
    uow = SqlUnitOfWork(open_engine())
    program = program_or_exit(uow)
    today = Clock().now().astimezone(ZoneInfo(program.timezone)).date()
    last = end or today - timedelta(days=1)
    first = start or last - timedelta(days=90)
    with progress_bar() as bar:
        task = bar.add_task("simulating", total=(last - first).days + 1)
        summary = run_demo(
            uow,
            program=program,
            vault=open_vault(settings),
            members=members,
            start=first,
            end=last,
            seed=seed,
            progress=lambda day: bar.update(task, advance=1, description=day),
        )
    events = ", ".join(f"{n:,} {status}" for status, n in sorted(summary.events.items()))
    console.print(
        f"Enrolled {summary.members:,} demo members; events: {events or 'none new'}; "
        f"{summary.days} daily jobs run; {summary.spent['ordered']:,} mall orders, "
        f"{summary.spent['redeemed']:,} tickets redeemed, {summary.spent['donated']:,} donations."
    )


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(dir_okay=False, help="The backup file to write.")],
    force: Annotated[bool, typer.Option("--force", help="Replace PATH if it exists.")] = False,
) -> None:
    """Copy the database to PATH, consistently, while the server runs (docs/operations.md)."""
    try:
        report = backup_database(database_url=get_settings().database_url, target=path, force=force)
    except JifenError as error:
        raise failed(error) from None
    console.print(
        f"Backed up the {report.database} database to {report.path} ({report.size:,} bytes)."
    )


@app.command()
def restore(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A `jifen backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that holds tables.")
    ] = False,
) -> None:
    """Put a backup back as the database; stop the server first when replacing one (--force)."""
    try:
        report = restore_database(
            database_url=get_settings().database_url, source=path, force=force
        )
    except JifenError as error:
        raise failed(error) from None
    console.print(f"Restored the {report.database} database from {report.path}.")
    if not report.schema_current:
        console.print("The backup predates this version of Jifen: run `jifen init` to migrate it.")
    console.print("Run `jifen ledger check` to verify it before serving.")
