"""`jifen publish events` and `jifen consume`: events through the NATS JetStream stream."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from prometheus_client import start_http_server
from rich.table import Table

from jifen.cli.common import app, console, open_engine, open_vault, progress_bar
from jifen.config import Settings, get_settings
from jifen.services.clock import Clock
from jifen.services.event_files import count_lines
from jifen.stream.consumer import Consumer, batch_applier
from jifen.stream.publisher import publish_file
from jifen.stream.streams import StreamNames

publish_app = typer.Typer(help="Put events on the stream.", no_args_is_help=True)
app.add_typer(publish_app, name="publish")


def _stream_or_exit(settings: Settings) -> StreamNames:
    if not settings.stream_url:
        console.print(
            "[red]No stream is set.[/] Set JIFEN_STREAM_URL to the NATS servers "
            "(e.g. nats://127.0.0.1:4222), or import the file with `jifen import events`."
        )
        raise typer.Exit(code=2)
    return StreamNames.of(settings)


@publish_app.command("events")
def publish_events_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL or CSV file.")],
    rejects: Annotated[Path | None, typer.Option(help="Where malformed lines go.")] = None,
) -> None:
    """Publish events from a JSON Lines or CSV file; publishing it again adds nothing new."""
    names = _stream_or_exit(get_settings())
    rejects_path = rejects or file.with_name(file.name + ".rejects.jsonl")
    with progress_bar() as bar:
        task = bar.add_task(f"publishing {file.name}", total=count_lines(file))
        summary = asyncio.run(
            publish_file(
                names,
                path=file,
                rejects_path=rejects_path,
                received_at=Clock().now(),
                progress=lambda line: bar.update(task, completed=line),
            )
        )
    table = Table("published", "already on the stream", "rejected", title=f"Published {file}")
    table.add_row(f"{summary.taken:,}", f"{summary.duplicate:,}", f"{summary.rejected:,}")
    console.print(table)
    if summary.rejects_path:
        console.print(f"Rejected lines and their reasons: {summary.rejects_path}")


@app.command()
def consume(
    idle_exit: Annotated[
        float | None,
        typer.Option(help="Stop once no event came for this many seconds [default: never]."),
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port.")
    ] = None,
) -> None:
    """Apply events from the stream in batches until stopped (SIGTERM or Ctrl-C)."""
    settings = get_settings()
    names = _stream_or_exit(settings)
    consumer = Consumer(
        names,
        batch_applier(open_engine(), open_vault(settings), settings.event_future_tolerance),
        batch=settings.stream_batch,
        max_deliver=settings.stream_max_deliver,
        ack_wait=settings.stream_ack_wait,
        on_dead=_print_dead,
    )
    if metrics_port is not None:
        start_http_server(metrics_port)
    console.print(
        f"Consuming {names.stream} ({names.partitions} partitions) from {names.url}, "
        f"batches of {settings.stream_batch}."
    )
    tally = asyncio.run(_run(consumer, idle_exit))
    console.print(
        f"Stopped: {tally.applied:,} applied, {tally.duplicate:,} duplicate, "
        f"{tally.dead:,} dead letters, {tally.retried:,} retried; "
        f"lag {sum(tally.lag.values()):,}."
    )


async def _run(consumer: Consumer, idle_exit: float | None) -> Any:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    report = asyncio.create_task(_report(consumer, stop))
    try:
        return await consumer.run(stop, idle_exit=idle_exit)
    finally:
        report.cancel()


async def _report(consumer: Consumer, stop: asyncio.Event, every: float = 10.0) -> None:
    """A line every `every` seconds: what was done, and the lag."""
    while not stop.is_set():
        await asyncio.sleep(every)
        t = consumer.tally
        console.print(
            f"{t.applied:,} applied, {t.duplicate:,} duplicate, {t.dead:,} dead letters, "
            f"{t.retried:,} retried; lag {sum(t.lag.values()):,}"
        )


def _print_dead(letter: dict[str, Any]) -> None:
    event = letter["event"]
    event_id = event.get("id") if isinstance(event, dict) else None
    error = letter["error"]
    console.print(
        f"[red]dead letter[/] {event_id or letter['sequence']}: {error.get('code')} "
        f"{error.get('message', '')} (delivered {letter['deliveries']} times)"
    )
