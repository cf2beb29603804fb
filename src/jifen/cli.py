"""The `jifen` command line: one service call per command."""

from __future__ import annotations

import csv
import json
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from jifen.api.clock import Clock
from jifen.api.logs import log_config
from jifen.config import Settings, get_settings
from jifen.domain.errors import JifenError
from jifen.programs.loader import load_preset, load_program
from jifen.programs.schema import Program
from jifen.services.audit import export_audit, local_days
from jifen.services.backup import backup_database, restore_database
from jifen.services.daily import run_daily
from jifen.services.demo import run_demo
from jifen.services.event_files import count_lines
from jifen.services.importer import import_events
from jifen.services.keys import create_key, list_keys, revoke_key
from jifen.services.ledger_check import check_ledger
from jifen.services.programs import active_program, install_program
from jifen.services.whatif import what_if
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine, schema_is_current, upgrade
from jifen.storage.uow import UnitOfWork

app = typer.Typer(help="Jifen (积分): a loyalty points platform.", no_args_is_help=True)
ledger_app = typer.Typer(help="Inspect the points ledger.", no_args_is_help=True)
jobs_app = typer.Typer(help="Scheduled jobs, run for a date.", no_args_is_help=True)
import_app = typer.Typer(help="Import files.", no_args_is_help=True)
rules_app = typer.Typer(help="Earning rules.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(jobs_app, name="jobs")
app.add_typer(import_app, name="import")
app.add_typer(rules_app, name="rules")
console = Console()


def _engine() -> Engine:
    engine = make_engine(get_settings().database_url)
    if not schema_is_current(engine):
        console.print(
            f"[red]The database at {get_settings().database_url} is not set up for this version "
            "of Jifen.[/] Run `jifen init` (it creates or upgrades the schema) and try again."
        )
        raise typer.Exit(code=2)
    return engine


def _vault(settings: Settings) -> IdentityVault:
    if not settings.vault_keys or not settings.hash_key:
        console.print(
            "[red]No identity keys are set.[/] Set JIFEN_VAULT_KEYS and JIFEN_HASH_KEY, or run "
            "`jifen init` once to write new ones to .env for an embedded setup."
        )
        raise typer.Exit(code=2)
    return IdentityVault(settings.vault_keys.split(","), settings.hash_key)


def _fail(error: JifenError) -> typer.Exit:
    console.print(f"[red]{error.code}[/]: {error.message}")
    return typer.Exit(code=1)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date; write it as YYYY-MM-DD.") from None


def _program(uow: UnitOfWork) -> Program:
    try:
        return active_program(uow)
    except JifenError as error:
        raise _fail(error) from None


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
        raise _fail(error) from None
    source = program.read_text("utf-8") if program else f"preset:{preset}"
    version = install_program(UnitOfWork(engine), program=chosen, source=source)
    console.print(
        f"Program [bold]{chosen.code}[/] ({chosen.name.zh} / {chosen.name.en}) "
        f"is active, version {version}."
    )


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


@jobs_app.command("daily")
def jobs_daily(
    as_of: Annotated[date, typer.Option("--as-of", parser=_day, help="The day, YYYY-MM-DD.")],
) -> None:
    """Expire lots, evaluate tiers and queue expiry reminders for a day (safe to run twice)."""
    day = as_of
    uow = UnitOfWork(_engine())
    program = _program(uow)
    with _progress() as bar:
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


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@import_app.command("events")
def import_events_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL or CSV file.")],
    rejects: Annotated[Path | None, typer.Option(help="Where rejected lines go.")] = None,
) -> None:
    """Import events from a JSON Lines or CSV file; rerunning the same file applies nothing new."""
    settings = get_settings()
    uow = UnitOfWork(_engine())
    program = _program(uow)
    rejects_path = rejects or file.with_name(file.name + ".rejects.jsonl")
    with _progress() as bar:
        task = bar.add_task(f"importing {file.name}", total=count_lines(file))
        try:
            summary = import_events(
                uow,
                program=program,
                vault=_vault(settings),
                path=file,
                rejects_path=rejects_path,
                progress=lambda line: bar.update(task, completed=line),
            )
        except JifenError as error:
            raise _fail(error) from None
    table = Table("applied", "duplicate", "rejected", title=f"Imported {file}")
    table.add_row(f"{summary.applied:,}", f"{summary.duplicate:,}", f"{summary.rejected:,}")
    console.print(table)
    if summary.rejects_path:
        console.print(f"Rejected lines and their reasons: {summary.rejects_path}")


@rules_app.command("whatif")
def rules_whatif(
    program: Annotated[Path, typer.Option(help="The draft program file (YAML).")],
    start: Annotated[date, typer.Option("--from", parser=_day, help="First day, YYYY-MM-DD.")],
    end: Annotated[date, typer.Option("--to", parser=_day, help="Last day, YYYY-MM-DD.")],
) -> None:
    """Re-price a past period under a draft rule set and compare with the live rules."""
    uow = UnitOfWork(_engine())
    try:
        live, draft = active_program(uow), load_program(program)
    except JifenError as error:
        raise _fail(error) from None
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
        date | None, typer.Option("--from", parser=_day, help="First day [default: --to − 90].")
    ] = None,
    end: Annotated[
        date | None, typer.Option("--to", parser=_day, help="Last day [default: yesterday].")
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same program.")] = 7,
) -> None:
    """Simulate a railway program: demo members, their trips, and the nightly jobs, day by day.

    By default the season is the 91 days up to yesterday, so a server on real time shows a
    program that is running now; give --from/--to for a fixed, repeatable season.
    """
    settings = get_settings()
    uow = UnitOfWork(_engine())
    program = _program(uow)
    today = Clock().now().astimezone(ZoneInfo(program.timezone)).date()
    last = end or today - timedelta(days=1)
    first = start or last - timedelta(days=90)
    with _progress() as bar:
        task = bar.add_task("simulating", total=(last - first).days + 1)
        summary = run_demo(
            uow,
            program=program,
            vault=_vault(settings),
            members=members,
            start=first,
            end=last,
            seed=seed,
            progress=lambda day: bar.update(task, advance=1, description=day),
        )
    events = ", ".join(f"{n:,} {status}" for status, n in sorted(summary.events.items()))
    console.print(
        f"Enrolled {summary.members:,} demo members; events: {events or 'none new'}; "
        f"{summary.days} daily jobs run."
    )


keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, operator, integrator, analyst or partner.")],
    label: Annotated[str | None, typer.Option(help="Who or what the key is for.")] = None,
) -> None:
    """Make an API key; it is printed once, on the last line, and stored only as a hash."""
    try:
        key = create_key(
            UnitOfWork(_engine()), role=role, label=label, now=Clock().now(), actor="cli"
        )
    except JifenError as error:
        raise _fail(error) from None
    console.print(f"New {key.role} key (prefix {key.prefix}); it is shown only this once:")
    print(key.token)  # noqa: T201 - plain, unwrapped, so scripts can take the last line


@keys_app.command("revoke")
def keys_revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix.")]) -> None:
    """Revoke a key at once."""
    try:
        revoke_key(UnitOfWork(_engine()), prefix=prefix, now=Clock().now(), actor="cli")
    except JifenError as error:
        raise _fail(error) from None
    console.print(f"Key {prefix} is revoked.")


@keys_app.command("list")
def keys_list() -> None:
    """List keys (prefix, role, label, created, revoked); secrets are never stored."""
    table = Table("prefix", "role", "label", "created", "revoked")
    for key in list_keys(UnitOfWork(_engine())):
        table.add_row(
            key.prefix,
            key.role,
            key.label or "",
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
        )
    console.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    simulated_clock: Annotated[
        bool, typer.Option("--simulated-clock", help="A sandbox whose time POST /v1/clock sets.")
    ] = False,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    if simulated_clock:
        os.environ["JIFEN_SIMULATED_CLOCK"] = "true"  # the workers read their settings anew
    settings = get_settings()
    _vault(settings)
    mode = "with a simulated clock (sandbox)" if simulated_clock else ""
    console.print(
        f"Jifen listens on http://{host}:{port} {mode}; API docs at http://{host}:{port}/docs"
    )
    uvicorn.run(
        "jifen.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=log_config(),  # JSON lines with request ids; no query strings logged
    )


audit_app = typer.Typer(help="The audit log of operator and admin actions.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("export")
def audit_export(
    start: Annotated[date | None, typer.Option("--from", parser=_day, help="First day.")] = None,
    end: Annotated[date | None, typer.Option("--to", parser=_day, help="Last day.")] = None,
    output: Annotated[Path, typer.Option(help="Where to write; .csv or .jsonl.")] = Path(
        "audit.jsonl"
    ),
) -> None:
    """Export the audit log (oldest first) as CSV or JSON Lines, in constant memory."""
    uow = UnitOfWork(_engine())
    program = _program(uow)
    try:
        since, until = local_days(start, end, timezone=program.timezone)
    except JifenError as error:
        raise _fail(error) from None
    rows = export_audit(uow, start=since, end=until)
    written = 0
    with output.open("w", encoding="utf-8", newline="") as out:
        if output.suffix == ".csv":
            writer = csv.DictWriter(
                out, fieldnames=["id", "at", "actor", "action", "subject", "details"]
            )
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "details": json.dumps(row["details"], ensure_ascii=False)})
                written += 1
        else:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                written += 1
    console.print(f"Wrote {written:,} audit records to {output}.")


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(dir_okay=False, help="The backup file to write.")],
    force: Annotated[bool, typer.Option("--force", help="Replace PATH if it exists.")] = False,
) -> None:
    """Copy the database to PATH, consistently, while the server runs (docs/operations.md)."""
    try:
        report = backup_database(database_url=get_settings().database_url, target=path, force=force)
    except JifenError as error:
        raise _fail(error) from None
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
        raise _fail(error) from None
    console.print(f"Restored the {report.database} database from {report.path}.")
    if not report.schema_current:
        console.print("The backup predates this version of Jifen: run `jifen init` to migrate it.")
    console.print("Run `jifen ledger check` to verify it before serving.")


vault_app = typer.Typer(
    help="The at-rest encryption of ID numbers and phones: new keys, rotation.",
    no_args_is_help=True,
)
app.add_typer(vault_app, name="vault")


@vault_app.command("new-key")
def vault_new_key() -> None:
    """Print a new encryption key (on the last line) to put first in JIFEN_VAULT_KEYS."""
    console.print(
        "A new vault key. Put it first in JIFEN_VAULT_KEYS (comma-separated, newest first), "
        "restart the servers, run `jifen vault rotate`, then drop the old key:"
    )
    print(IdentityVault.generate_key())  # noqa: T201 - plain, so scripts can take the last line


@vault_app.command("rotate")
def vault_rotate(
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction.")] = 500,
) -> None:
    """Re-encrypt every ID number and phone under the first key of JIFEN_VAULT_KEYS (resumable)."""
    # Imported here so this command group stays one insertion at the end of a shared file.
    from jifen.services.privacy import encrypted_values, rotate_vault  # noqa: PLC0415

    settings = get_settings()
    vault = _vault(settings)
    newest = IdentityVault(settings.vault_keys.split(",")[:1], settings.hash_key)
    uow = UnitOfWork(_engine())
    with _progress() as bar:
        task = bar.add_task("re-encrypting", total=encrypted_values(uow))
        report = rotate_vault(
            uow,
            vault=vault,
            now=Clock().now(),
            actor="cli",
            batch=batch,
            newest_only=newest,
            progress=lambda n: bar.update(task, advance=n),
        )
    table = Table("column", "re-encrypted", "already under the first key", title="Vault rotation")
    for column, n in report.rotated.items():
        table.add_row(column, f"{n:,}", f"{report.current[column]:,}")
    console.print(table)
    if report.unreadable:
        console.print(
            f"[red]{len(report.unreadable)} value(s) open under none of the keys[/] and were left "
            f"as they are: {', '.join(report.unreadable[:20])}. Add the key they were encrypted "
            "under to the end of JIFEN_VAULT_KEYS and run this again; keep the old keys until then."
        )
        raise typer.Exit(code=1)
    console.print(
        "Every value is under the first key: the other keys can now be dropped from "
        "JIFEN_VAULT_KEYS (restart the servers after)."
    )


console_app = typer.Typer(help="Accounts of the web console.", no_args_is_help=True)
app.add_typer(console_app, name="console")


@console_app.command("add-user")
def console_add_user(
    username: Annotated[str, typer.Argument(help="The sign-in name.")],
    role: Annotated[str, typer.Option(help="admin, operator or analyst.")] = "operator",
    password: Annotated[
        str | None, typer.Option(help="At least 10 characters; a random one is made and printed.")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Reset the password and role of an existing account.")
    ] = False,
) -> None:
    """Make a console account; the password is printed (on the last line) only if it was made."""
    import secrets  # noqa: PLC0415

    from jifen.services.console_users import create_console_user  # noqa: PLC0415

    made = password is None
    secret = password or secrets.token_urlsafe(12)
    try:
        create_console_user(
            UnitOfWork(_engine()),
            username=username,
            password=secret,
            role=role,
            now=Clock().now(),
            replace=replace,
        )
    except JifenError as error:
        raise _fail(error) from error
    console.print(f"Console user [bold]{username}[/] ({role}) can sign in at /console.")
    if made:
        print(secret)  # noqa: T201 - plain, so scripts can take the last line


# -- recommendations (issue 7, part 6) ------------------------------------------------------------
recommend_app = typer.Typer(
    help="Recommendations: measure them on held-out data; seed demo mall orders to learn from.",
    no_args_is_help=True,
)
app.add_typer(recommend_app, name="recommend")


@recommend_app.command("evaluate")
def recommend_evaluate(
    as_of: Annotated[
        date | None,
        typer.Option(parser=_day, help="Use data up to the end of this day (default: today)."),
    ] = None,
    k: Annotated[int, typer.Option(min=1, max=100, help="How many recommendations count.")] = 10,
) -> None:
    """Leave-last-out hit rate@k of the recommender and of a popularity baseline, mall and trips."""
    # Imported here so this command group stays one insertion at the end of a shared file.
    from time import perf_counter  # noqa: PLC0415

    from jifen.domain.calendar import local_date  # noqa: PLC0415
    from jifen.services.recommendations import evaluate  # noqa: PLC0415

    uow = UnitOfWork(_engine())
    program = _program(uow)
    day = as_of or local_date(Clock().now(), program.timezone)
    started = perf_counter()
    try:
        result = evaluate(uow, program=program, as_of=day, k=k)
    except JifenError as error:
        raise _fail(error) from error
    seconds = perf_counter() - started
    table = Table(
        "what", "members", "behaviour rows", "held out", f"model hit@{k}",
        f"popularity hit@{k}", title=f"Recommendations as of {day} (leave-last-out)",
    )  # fmt: skip
    for name, part in (("mall items", result.mall), ("trips", result.trips)):
        model, baseline = part.model, part.baseline
        table.add_row(
            name, f"{part.members:,}", f"{part.items:,}", f"{model.cases:,}",
            f"{model.rate:.3f} ({model.hits:,})", f"{baseline.rate:.3f} ({baseline.hits:,})",
        )  # fmt: skip
    console.print(table)
    verdict = "beats" if result.mall.beats_baseline else "does NOT beat"
    console.print(
        f"Mall: the model {verdict} the popularity baseline "
        f"(hit rate@{k} {result.mall.model.rate:.3f} vs {result.mall.baseline.rate:.3f}); "
        f"evaluated in {seconds:.2f} s."
    )
    if not result.mall.beats_baseline:
        raise typer.Exit(code=3)


@recommend_app.command("demo-orders")
def recommend_demo_orders(
    members: Annotated[int, typer.Option(min=1, help="How many active members order.")] = 200,
    seed: Annotated[int, typer.Option(help="Same seed, same orders.")] = 7,
    start: Annotated[date, typer.Option("--from", parser=_day, help="First day.")] = "2025-09-01",
    end: Annotated[date, typer.Option("--to", parser=_day, help="Last day.")] = "2025-11-30",
) -> None:
    """Demo mall products and orders by members with hidden tastes (points granted, then spent)."""
    from jifen.services.demo_mall import place_demo_orders  # noqa: PLC0415

    uow = UnitOfWork(_engine())
    program = _program(uow)
    try:
        done = place_demo_orders(
            uow, program=program, members=members, seed=seed, start=start, end=end
        )
    except JifenError as error:
        raise _fail(error) from error
    refused = ", ".join(f"{n} {code}" for code, n in sorted(done.refused.items())) or "none"
    console.print(
        f"{done.products} demo products defined; {done.members} members ordered: "
        f"{done.placed:,} orders placed, {done.replayed:,} already there, refused: {refused}."
    )
