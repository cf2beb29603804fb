"""Commands for campaigns, partners, webhooks and notifications."""

from __future__ import annotations

import csv
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
    parse_moment,
    program_or_exit,
)
from jifen.config import get_settings
from jifen.domain.errors import JifenError
from jifen.services.clock import Clock
from jifen.storage.uow import SqlUnitOfWork

webhooks_app = typer.Typer(
    help="Webhook endpoints that receive notifications.", no_args_is_help=True
)


notify_app = typer.Typer(help="Deliver, inspect and replay notifications.", no_args_is_help=True)


app.add_typer(webhooks_app, name="webhooks")


app.add_typer(notify_app, name="notify")


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="Where to POST notifications (http or https).")],
    topics: Annotated[
        list[str] | None, typer.Option(help="Topics, repeated or comma-separated (default: all).")
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the endpoint is.")] = None,
) -> None:
    """Register an endpoint; its signing secret is printed once, on the last line."""
    from jifen.domain.webhooks import TOPICS  # noqa: PLC0415
    from jifen.services.notifications import add_endpoint  # noqa: PLC0415

    chosen = [t.strip() for item in topics or TOPICS for t in item.split(",") if t.strip()]
    try:
        new = add_endpoint(
            SqlUnitOfWork(open_engine()),
            vault=open_vault(get_settings()),
            url=url,
            topics=chosen,
            description=description,
            now=Clock().now(),
            actor="cli",
        )
    except JifenError as error:
        raise failed(error) from None
    console.print(
        f"Endpoint {new.endpoint.id} for {', '.join(new.endpoint.topics)}. Its signing secret "
        "is shown only this once:"
    )
    print(new.secret)  # noqa: T201 - plain, so scripts can take the last line


@webhooks_app.command("list")
def webhooks_list() -> None:
    """List endpoints (id, URL, topics, active); secrets are never shown again."""
    from jifen.services.notifications import list_endpoints  # noqa: PLC0415

    table = Table("id", "url", "topics", "active", "created")
    for e in list_endpoints(SqlUnitOfWork(open_engine())):
        table.add_row(
            str(e.id),
            e.url,
            ", ".join(e.topics),
            "yes" if e.active else "no",
            f"{e.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@notify_app.command("deliver")
def notify_deliver(
    now: Annotated[
        str | None, typer.Option(help="Act as if at this time (ISO 8601 with a zone).")
    ] = None,
    loop: Annotated[bool, typer.Option(help="Keep delivering until interrupted.")] = False,
    interval: Annotated[float, typer.Option(min=0.5, help="Seconds between passes.")] = 5.0,
) -> None:
    """Send every notification due now (one pass, or `--loop`); failures retry with backoff."""
    import time  # noqa: PLC0415

    from jifen.services.notifications import deliver_due, http_send  # noqa: PLC0415

    fixed = parse_moment(now) if now else None
    uow, vault = SqlUnitOfWork(open_engine()), open_vault(get_settings())
    while True:
        at = fixed or Clock().now()
        report = deliver_due(uow, vault=vault, now=at, send=http_send)
        console.print(
            f"{at:%Y-%m-%d %H:%M:%S%z}: {report.fanned_out} new deliveries, "
            f"{report.delivered} delivered, {report.retrying} to retry, {report.dead} dead."
        )
        for line in report.errors[:20]:
            console.print(f"  {line}", markup=False)
        if not loop:
            return
        time.sleep(interval)


@notify_app.command("replay")
def notify_replay(
    delivery: Annotated[int | None, typer.Option(help="One dead delivery's id.")] = None,
    endpoint: Annotated[
        int | None, typer.Option(help="Every dead delivery of an endpoint.")
    ] = None,
) -> None:
    """Put dead deliveries back to pending (one, an endpoint's, or all of them)."""
    from jifen.services.notifications import replay  # noqa: PLC0415

    try:
        n = replay(
            SqlUnitOfWork(open_engine()),
            now=Clock().now(),
            actor="cli",
            delivery_id=delivery,
            endpoint_id=endpoint,
        )
    except JifenError as error:
        raise failed(error) from None
    console.print(f"{n} dead deliveries are pending again; `jifen notify deliver` sends them.")


@notify_app.command("dead")
def notify_dead(
    endpoint: Annotated[int | None, typer.Option(help="Only this endpoint's.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """List dead deliveries: what failed, how often, and the last answer."""
    from jifen.services.notifications import deliveries  # noqa: PLC0415

    table = Table("delivery", "notification", "endpoint", "topic", "tries", "last status", "error")
    found = deliveries(
        SqlUnitOfWork(open_engine()), status="dead", endpoint_id=endpoint, limit=limit
    )
    for d in found:
        table.add_row(
            str(d.id),
            str(d.notification_id),
            str(d.endpoint_id),
            d.topic,
            str(d.attempts),
            str(d.last_status or ""),
            d.last_error or "",
        )
    console.print(table)


partners_app = typer.Typer(
    help="Partners: terms, monthly settlement (awards and exchanges come over the API).",
    no_args_is_help=True,
)


app.add_typer(partners_app, name="partners")


@partners_app.command("add")
def partners_add(
    code: Annotated[str, typer.Argument(help="A short code: lower-case letters, digits, - or _.")],
    *,
    name: Annotated[str, typer.Option(help="The partner's name.")],
    price_per_1000_fen: Annotated[
        int, typer.Option(help="What the partner pays per 1,000 points, in fen.")
    ],
    kind: Annotated[str, typer.Option(help="The point kind it awards.")] = "activity",
    per_award: Annotated[int, typer.Option(help="Most points in one award.")] = 5_000,
    per_member_day: Annotated[int, typer.Option(help="Most points per member a day.")] = 10_000,
    per_month: Annotated[int, typer.Option(help="Most points a month.")] = 1_000_000,
    rate: Annotated[
        str | None, typer.Option(help="Miles exchange MILES:POINTS, e.g. 10:7 (rounded down).")
    ] = None,
    min_miles: Annotated[int, typer.Option(help="Fewest miles one exchange takes.")] = 1,
) -> None:
    """Add a partner; bind a key to it with `jifen keys create --role partner --partner CODE`."""
    from jifen.domain.partners import MilesRate  # noqa: PLC0415
    from jifen.services.partners import PartnerTerms, add_partner  # noqa: PLC0415

    uow = SqlUnitOfWork(open_engine())
    try:
        terms = PartnerTerms(
            code=code,
            name=name,
            point_kind=kind,
            max_points_per_award=per_award,
            max_points_per_member_day=per_member_day,
            max_points_per_month=per_month,
            price_per_1000_points_fen=price_per_1000_fen,
            rate=MilesRate.parse(rate) if rate else None,
            min_miles=min_miles,
        )
        partner = add_partner(
            uow, program=program_or_exit(uow), terms=terms, actor="cli", now=Clock().now()
        )
    except JifenError as error:
        raise failed(error) from None
    console.print(f"Partner {partner.code} ({partner.name}) is {partner.status}.")


@partners_app.command("list")
def partners_list() -> None:
    """List partners with their limits, miles rate and price."""
    from jifen.services.partners import list_partners  # noqa: PLC0415

    table = Table("code", "name", "kind", "per award", "per member-day", "per month", "rate")
    table.add_column("fen/1000 pts")
    table.add_column("status")
    for p in list_partners(SqlUnitOfWork(open_engine())):
        rate = f"{p.exchange_miles}:{p.exchange_points}" if p.exchange_miles else ""
        table.add_row(
            p.code,
            p.name,
            p.point_kind,
            f"{p.max_points_per_award:,}",
            f"{p.max_points_per_member_day:,}",
            f"{p.max_points_per_month:,}",
            rate,
            f"{p.price_per_1000_points_fen:,}",
            p.status,
        )
    console.print(table)


@partners_app.command("suspend")
def partners_suspend(
    code: Annotated[str, typer.Argument(help="The partner's code.")],
    reason: Annotated[str, typer.Option(help="Why (audited).")],
    resume: Annotated[bool, typer.Option("--resume", help="Make it active again.")] = False,
) -> None:
    """Suspend a partner (its awards and exchanges are refused), or `--resume` it."""
    from jifen.services.partners import set_partner_status  # noqa: PLC0415

    status = "active" if resume else "suspended"
    try:
        set_partner_status(
            SqlUnitOfWork(open_engine()),
            code=code,
            status=status,
            reason=reason,
            actor="cli",
            now=Clock().now(),
        )
    except JifenError as error:
        raise failed(error) from None
    console.print(f"Partner {code} is {status}.")


@partners_app.command("settlement")
def partners_settlement(
    code: Annotated[str, typer.Argument(help="The partner's code.")],
    month: Annotated[str, typer.Option(help="The program-local month, YYYY-MM.")],
    output_format: Annotated[
        str, typer.Option("--format", help="table, or csv (one row) on standard output.")
    ] = "table",
) -> None:
    """What a partner awarded, exchanged and reversed in a month, and what it owes in fen."""
    import sys  # noqa: PLC0415

    from jifen.services.partners import settlement  # noqa: PLC0415

    if output_format not in {"table", "csv"}:
        raise typer.BadParameter("--format is table or csv.")
    try:
        found = settlement(SqlUnitOfWork(open_engine()), code=code, month=month)
    except JifenError as error:
        raise failed(error) from None
    a, e, r = found.awards, found.exchanges, found.reversals
    row = {
        "partner": found.partner,
        "month": found.month,
        "awards": a.count,
        "award_points": a.points,
        "exchanges": e.count,
        "exchange_points": e.points,
        "exchange_miles": e.miles,
        "reversals": r.count,
        "reversal_points": r.points,
        "net_points": found.net_points,
        "price_per_1000_points_fen": found.price_per_1000_points_fen,
        "amount_fen": found.amount_fen,
    }
    if output_format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(row), lineterminator="\n")
        writer.writeheader()
        writer.writerow(row)
        return
    table = Table("", "count", "points", "miles", title=f"{found.name} ({code}), {month}")
    table.add_row("awards", f"{a.count:,}", f"{a.points:,}", "")
    table.add_row("exchanges", f"{e.count:,}", f"{e.points:,}", f"{e.miles:,}")
    table.add_row("reversals", f"{r.count:,}", f"{-r.points:,}", "")
    table.add_row("net", "", f"{found.net_points:,}", "")
    console.print(table)
    yuan, fen = divmod(abs(found.amount_fen), 100)
    sign = "−" if found.amount_fen < 0 else ""
    console.print(
        f"Owed: {found.amount_fen:,} fen ({sign}¥{yuan:,}.{fen:02d}) at "
        f"{found.price_per_1000_points_fen:,} fen per 1,000 points."
    )


campaigns_app = typer.Typer(
    help="Campaigns (积分加成): list them and report cost and uplift.", no_args_is_help=True
)


app.add_typer(campaigns_app, name="campaigns")


@campaigns_app.command("list")
def campaigns_list() -> None:
    """Every campaign with its window, status and budget spent."""
    # Imported here so this command group stays one insertion at the end of a shared file.
    from jifen.services.campaigns import list_campaigns  # noqa: PLC0415

    uow = SqlUnitOfWork(open_engine())
    zone = ZoneInfo(program_or_exit(uow).timezone)
    table = Table("id", "name", "status", "from", "until", "spent", "budget", title="Campaigns")
    for c in list_campaigns(uow):
        table.add_row(
            c.id,
            c.name,
            c.status,
            c.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            c.ends_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            f"{c.spent_points:,}",
            f"{c.budget_points:,}",
        )
    console.print(table)


@campaigns_app.command("report")
def campaigns_report(
    campaign_id: Annotated[str, typer.Argument(help="The campaign's id.")],
) -> None:
    """Cost in points and fen, members per arm, and uplift of trips and spend with 95% CIs."""
    from jifen.services.campaigns import campaign_report  # noqa: PLC0415

    uow = SqlUnitOfWork(open_engine())
    try:
        r = campaign_report(uow, program=program_or_exit(uow), campaign_id=campaign_id)
    except JifenError as error:
        raise failed(error) from None
    c = r.campaign
    console.print(
        f"{c.name} ({c.id}): {c.status}; cost {r.cost_points:,} of {c.budget_points:,} points "
        f"(¥{r.cost_fen / 100:,.2f})."
    )
    table = Table("per member", "treated", "control", "uplift", "95% CI", title="Effect")
    table.add_row("members", f"{r.members['treated']:,}", f"{r.members['control']:,}", "", "")
    for label, u in (("trips", r.trips), ("spend (fen)", r.spend_fen)):
        ci = "n/a" if u.ci95 is None else f"[{u.ci95[0]:,.4f}, {u.ci95[1]:,.4f}]"
        table.add_row(
            label, f"{u.treated_mean:,.4f}", f"{u.control_mean:,.4f}", f"{u.difference:+,.4f}", ci
        )
    console.print(table)
