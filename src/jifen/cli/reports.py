"""Commands for analysts and finance: KPI reports, accounting, recommendations."""

from __future__ import annotations

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
    parse_day,
    program_or_exit,
)
from jifen.domain.errors import JifenError
from jifen.services.clock import Clock
from jifen.storage.uow import SqlUnitOfWork

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
        typer.Option(parser=parse_day, help="Use data up to the end of this day (default: today)."),
    ] = None,
    k: Annotated[int, typer.Option(min=1, max=100, help="How many recommendations count.")] = 10,
) -> None:
    """Leave-last-out hit rate@k of the recommender and of a popularity baseline, mall and trips."""
    # Imported here so this command group stays one insertion at the end of a shared file.
    from time import perf_counter  # noqa: PLC0415

    from jifen.services.recommendations import evaluate  # noqa: PLC0415

    uow = SqlUnitOfWork(open_engine())
    program = program_or_exit(uow)
    started = perf_counter()
    try:
        result = evaluate(uow, program=program, as_of=as_of, now=Clock().now(), k=k)
    except JifenError as error:
        raise failed(error) from error
    seconds = perf_counter() - started
    table = Table(
        "what", "members", "behaviour rows", "held out", f"model hit@{k}",
        f"popularity hit@{k}", title=f"Recommendations as of {result.as_of} (leave-last-out)",
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
    start: Annotated[date, typer.Option("--from", parser=parse_day, help="First day.")] = date(
        2025, 9, 1
    ),
    end: Annotated[date, typer.Option("--to", parser=parse_day, help="Last day.")] = date(
        2025, 11, 30
    ),
) -> None:
    """Demo mall products and orders by members with hidden tastes (points granted, then spent)."""
    from jifen.demo.mall import place_demo_orders  # noqa: PLC0415

    uow = SqlUnitOfWork(open_engine())
    program = program_or_exit(uow)
    try:
        done = place_demo_orders(
            uow, program=program, members=members, seed=seed, start=start, end=end
        )
    except JifenError as error:
        raise failed(error) from error
    refused = ", ".join(f"{n} {code}" for code, n in sorted(done.refused.items())) or "none"
    console.print(
        f"{done.products} demo products defined; {done.members} members ordered: "
        f"{done.placed:,} orders placed, {done.replayed:,} already there, refused: {refused}."
    )


accounting_app = typer.Typer(
    help="Finance (IFRS 15): breakage estimates, the points liability, the daily GL journal.",
    no_args_is_help=True,
)


app.add_typer(accounting_app, name="accounting")


@accounting_app.command("estimate")
def accounting_estimate(
    as_of: Annotated[date, typer.Option("--as-of", parser=parse_day, help="The day, YYYY-MM-DD.")],
    key: Annotated[str | None, typer.Option(help="Idempotency key (default: figures).")] = None,
) -> None:
    """Estimate breakage from the ledger's history and store it as a new version."""
    from jifen.services import accounting  # noqa: PLC0415 - one block at the end of a shared file

    uow = SqlUnitOfWork(open_engine())
    try:
        stored = accounting.estimate(uow, program=program_or_exit(uow), as_of=as_of, key=key)
    except JifenError as error:
        raise failed(error) from None
    console.print(
        f"Breakage estimate v{stored.version} as of {stored.as_of}: {stored.rate_bps / 100:.2f}% "
        f"({stored.rate_bps} bps, method {stored.method}: {stored.numerator:,} of "
        f"{stored.denominator:,} settled points never redeemed)."
    )


@accounting_app.command("estimates")
def accounting_estimates() -> None:
    """List every stored breakage estimate, oldest version first."""
    from jifen.services import accounting  # noqa: PLC0415 - one block at the end of a shared file

    table = Table("version", "as of", "method", "rate (bps)", "never redeemed", "settled")
    for e in accounting.list_estimates(SqlUnitOfWork(open_engine())):
        table.add_row(
            str(e.version), str(e.as_of), e.method, f"{e.rate_bps:,}", f"{e.numerator:,}",
            f"{e.denominator:,}",
        )  # fmt: skip
    console.print(table)


@accounting_app.command("liability")
def accounting_liability(
    as_of: Annotated[date, typer.Option("--as-of", parser=parse_day, help="The day, YYYY-MM-DD.")],
) -> None:
    """The points liability at the end of a day, with the breakage estimate it used."""
    from jifen.services import accounting  # noqa: PLC0415 - one block at the end of a shared file

    uow = SqlUnitOfWork(open_engine())
    try:
        report = accounting.liability(uow, program=program_or_exit(uow), as_of=as_of)
    except JifenError as error:
        raise failed(error) from None
    f, used = report.figures, report.estimate
    table = Table("figure", "value", title=f"Points liability at the end of {as_of}")
    table.add_row("outstanding points", f"{f.outstanding:,}")
    table.add_row("value (fen)", f"{f.value_fen:,}")
    table.add_row("expected breakage", f"{f.rate_bps:,} bps = {f.expected_breakage_fen:,} fen")
    table.add_row("liability (fen)", f"{f.liability_fen:,}")
    table.add_row("estimate", f"v{used.version} ({used.method})" if used else "none: rate 0")
    console.print(table)


@accounting_app.command("journal")
def accounting_journal(
    start: Annotated[date, typer.Option("--from", parser=parse_day, help="First day, YYYY-MM-DD.")],
    end: Annotated[date, typer.Option("--to", parser=parse_day, help="Last day, YYYY-MM-DD.")],
    output: Annotated[Path | None, typer.Option(help="Write the GL CSV to this file.")] = None,
) -> None:
    """The daily journal in fen: a summary on screen, the double entries as CSV with --output."""
    from jifen.services import accounting  # noqa: PLC0415 - one block at the end of a shared file

    uow = SqlUnitOfWork(open_engine())
    try:
        journal = accounting.journal(uow, program=program_or_exit(uow), start=start, end=end)
    except JifenError as error:
        raise failed(error) from None
    table = Table("day", "issued", "redeemed", "expired", "forfeited", "liability (fen)", "lines")
    for day in journal.days:
        p = day.flows
        table.add_row(
            str(day.day), f"{p['issued']:,}", f"{p['redeemed']:,}", f"{p['expired']:,}",
            f"{p['forfeited']:,}", f"{day.closing_liability_fen:,}", str(len(day.lines)),
        )  # fmt: skip
    console.print(table)
    if output is not None:
        output.write_text(accounting.journal_csv(journal), encoding="utf-8")
        console.print(f"Wrote {sum(len(d.lines) for d in journal.days) * 2:,} rows to {output}.")


# -- reports (analytics, issue 7): one command, `jifen report NAME --from --to`, not a group ----
@app.command("report")
def report(
    name: Annotated[str, typer.Argument(help="kpis, daily, tiers, tier-movement, cohorts or rfm.")],
    start: Annotated[str, typer.Option("--from", help="First program-local day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last program-local day (included).")],
    output_format: Annotated[
        str, typer.Option("--format", help="table, csv, json or parquet.")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", help="Write here (parquet needs it); else stdout.")
    ] = None,
) -> None:
    """Print or write one analytics report over a period (definitions in docs/metrics.md)."""
    import sys  # noqa: PLC0415

    from jifen.services.analytics import REPORTS, report_table, write_report  # noqa: PLC0415
    from jifen.services.analytics.export import FORMATS  # noqa: PLC0415

    if output_format not in FORMATS:
        raise typer.BadParameter(f"--format is one of: {', '.join(FORMATS)}.")
    if name not in REPORTS:
        raise typer.BadParameter(f"NAME is one of: {', '.join(REPORTS)}.")
    if output_format == "parquet" and output is None:
        raise typer.BadParameter("Parquet is binary: give a file with --output PATH.")
    uow = SqlUnitOfWork(open_engine())
    try:
        table = report_table(
            uow, program=program_or_exit(uow), name=name, start=parse_day(start), end=parse_day(end)
        )
    except JifenError as error:
        raise failed(error) from None
    if output is None:
        write_report(table, fmt=output_format, text=sys.stdout, binary=None)
    elif output_format == "parquet":
        with output.open("wb") as binary:
            write_report(table, fmt=output_format, text=None, binary=binary)
    else:
        with output.open("w", encoding="utf-8", newline="") as text:
            write_report(table, fmt=output_format, text=text, binary=None)
