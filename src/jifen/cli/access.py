"""Commands for who may do what: API keys, console accounts, portal links, audit, the vault."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Annotated

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
from jifen.domain.errors import JifenError
from jifen.services.audit import export_audit, local_days
from jifen.services.clock import Clock, SandboxClock
from jifen.services.keys import create_key, list_keys, revoke_key
from jifen.storage.crypto import IdentityVault
from jifen.storage.uow import SqlUnitOfWork

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, operator, integrator, analyst or partner.")],
    label: Annotated[str | None, typer.Option(help="Who or what the key is for.")] = None,
    partner: Annotated[
        str | None, typer.Option(help="Bind a partner key to this partner code.")
    ] = None,
) -> None:
    """Make an API key; it is printed once, on the last line, and stored only as a hash."""
    try:
        key = create_key(
            SqlUnitOfWork(open_engine()),
            role=role,
            label=label,
            now=Clock().now(),
            actor="cli",
            partner_code=partner,
        )
    except JifenError as error:
        raise failed(error) from None
    console.print(f"New {key.role} key (prefix {key.prefix}); it is shown only this once:")
    print(key.token)  # noqa: T201 - plain, unwrapped, so scripts can take the last line


@keys_app.command("revoke")
def keys_revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix.")]) -> None:
    """Revoke a key at once."""
    try:
        revoke_key(SqlUnitOfWork(open_engine()), prefix=prefix, now=Clock().now(), actor="cli")
    except JifenError as error:
        raise failed(error) from None
    console.print(f"Key {prefix} is revoked.")


@keys_app.command("list")
def keys_list() -> None:
    """List keys (prefix, role, label, created, revoked); secrets are never stored."""
    table = Table("prefix", "role", "label", "created", "revoked", "partner")
    for key in list_keys(SqlUnitOfWork(open_engine())):
        table.add_row(
            key.prefix,
            key.role,
            key.label or "",
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
            key.partner_code or "",
        )
    console.print(table)


audit_app = typer.Typer(help="The audit log of operator and admin actions.", no_args_is_help=True)


app.add_typer(audit_app, name="audit")


@audit_app.command("export")
def audit_export(
    start: Annotated[
        date | None, typer.Option("--from", parser=parse_day, help="First day.")
    ] = None,
    end: Annotated[date | None, typer.Option("--to", parser=parse_day, help="Last day.")] = None,
    output: Annotated[Path, typer.Option(help="Where to write; .csv or .jsonl.")] = Path(
        "audit.jsonl"
    ),
) -> None:
    """Export the audit log (oldest first) as CSV or JSON Lines, in constant memory."""
    uow = SqlUnitOfWork(open_engine())
    program = program_or_exit(uow)
    try:
        since, until = local_days(start, end, timezone=program.timezone)
    except JifenError as error:
        raise failed(error) from None
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
    vault = open_vault(settings)
    newest = IdentityVault(settings.vault_keys.split(",")[:1], settings.hash_key)
    uow = SqlUnitOfWork(open_engine())
    with progress_bar() as bar:
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
            SqlUnitOfWork(open_engine()),
            username=username,
            password=secret,
            role=role,
            now=Clock().now(),
            replace=replace,
        )
    except JifenError as error:
        raise failed(error) from error
    console.print(f"Console user [bold]{username}[/] ({role}) can sign in at /console.")
    if made:
        print(secret)  # noqa: T201 - plain, so scripts can take the last line


# -- portal -------------------------------------------------------------------------------------
portal_app = typer.Typer(help="The member portal: one-time sign-in links.", no_args_is_help=True)


app.add_typer(portal_app, name="portal")


@portal_app.command("link")
def portal_link(
    member_id: Annotated[int, typer.Argument(min=1, help="The member's id.")],
    minutes: Annotated[int, typer.Option(min=1, max=7 * 24 * 60, help="How long it works.")] = 15,
    base_url: Annotated[
        str, typer.Option(help="Where the portal is served.")
    ] = "http://127.0.0.1:8000",
) -> None:
    """Print a one-time sign-in link to the member's portal (on the last line)."""
    from jifen.services.portal_sign_in import create_link  # noqa: PLC0415

    engine = open_engine()
    # The sandbox's time when a simulated server has set one (the portal checks links by it).
    now = SandboxClock(engine).now()
    try:
        token = create_link(SqlUnitOfWork(engine), member_id=member_id, now=now, minutes=minutes)
    except JifenError as error:
        raise failed(error) from None
    console.print(f"A sign-in link for member {member_id}, valid {minutes} minutes, once:")
    print(f"{base_url.rstrip('/')}/portal/login/{token}")  # noqa: T201 - plain, for scripts
