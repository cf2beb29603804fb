"""What every `jifen` command shares: the Typer app, the console, and opening the database."""

from __future__ import annotations

from datetime import date, datetime

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from jifen.config import Settings, get_settings
from jifen.domain.errors import JifenError
from jifen.programs.schema import Program
from jifen.services.programs import active_program
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine, schema_is_current
from jifen.storage.uow import SqlUnitOfWork

app = typer.Typer(help="Jifen (积分): a loyalty points platform.", no_args_is_help=True)


console = Console()


def open_engine() -> Engine:
    engine = make_engine(get_settings().database_url)
    if not schema_is_current(engine):
        console.print(
            f"[red]The database at {get_settings().database_url} is not set up for this version "
            "of Jifen.[/] Run `jifen init` (it creates or upgrades the schema) and try again."
        )
        raise typer.Exit(code=2)
    return engine


def open_vault(settings: Settings) -> IdentityVault:
    if not settings.vault_keys or not settings.hash_key:
        console.print(
            "[red]No identity keys are set.[/] Set JIFEN_VAULT_KEYS and JIFEN_HASH_KEY, or run "
            "`jifen init` once to write new ones to .env for an embedded setup."
        )
        raise typer.Exit(code=2)
    return IdentityVault(settings.vault_keys.split(","), settings.hash_key)


def failed(error: JifenError) -> typer.Exit:
    console.print(f"[red]{error.code}[/]: {error.message}")
    return typer.Exit(code=1)


def parse_day(text: str | date) -> date:
    """A `YYYY-MM-DD` option as a date (a default given as a date is taken as it is)."""
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date; write it as YYYY-MM-DD.") from None


def program_or_exit(uow: SqlUnitOfWork) -> Program:
    try:
        return active_program(uow)
    except JifenError as error:
        raise failed(error) from None


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        msg = f"{text!r} is not a time with a zone, e.g. 2025-03-20T12:00+08:00."
        raise typer.BadParameter(msg)
    return moment
