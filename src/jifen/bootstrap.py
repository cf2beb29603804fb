"""The composition root: builds the web application from one `Settings` and owns `jifen serve`.

Only this module sees every layer. It makes the adapters (engine, identity vault, clock, program
cache, group committer), hands them to the API, mounts the console and the portal on it and wraps
it in the middleware; `jifen serve` starts one such app per uvicorn worker, and `main` runs the
command line with that command added.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
import uvicorn
from fastapi import FastAPI

from jifen.api import logs, metrics
from jifen.api.app import BodyLimit, create_api
from jifen.api.deps import AppState
from jifen.api.group_commit import EventCommitter
from jifen.api.limit_store import LimitStore
from jifen.api.program_cache import ProgramCache
from jifen.api.ratelimit import DEFAULT_LIMIT, InFlightLimit, RateLimit, parse_limits
from jifen.cli import app as cli
from jifen.cli.common import console, open_vault
from jifen.config import Settings, get_settings
from jifen.services.clock import Clock, SandboxClock
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine, reading_engine
from jifen.stream.publisher import BlockingPublisher
from jifen.stream.streams import StreamNames
from jifen.web import install as install_web


def create_app(settings: Settings | None = None) -> FastAPI:
    """Jifen's web application (API, console, portal) on `settings` (the environment by default)."""
    settings = settings or get_settings()
    state = app_state(settings)
    app = create_api(state)
    install_web(app, settings)
    _add_middleware(app, settings, state)
    return app


def app_state(settings: Settings) -> AppState:
    """The adapters an app holds for its lifetime, made from `settings`."""
    # No ping before each check-out: it is a round trip per unit of work. After the database
    # restarts, the first request on each worker fails and the pool starts afresh (operations.md).
    engine = make_engine(settings.database_url, pool_pre_ping=False)
    vault = IdentityVault(settings.vault_keys.split(","), settings.hash_key)
    committer = None
    if settings.group_commit_ms > 0:
        committer = EventCommitter(
            engine,
            vault,
            window=settings.group_commit_ms / 1000,
            most=settings.group_commit_most,
            observe=metrics.observe_group_commit,
        )
    return AppState(
        engine,
        vault,
        SandboxClock(engine) if settings.simulated_clock else Clock(),
        ProgramCache(engine, interval=settings.program_check_seconds),
        reader=reading_engine(engine),
        event_future_tolerance=settings.event_future_tolerance,
        committer=committer,
        stream=BlockingPublisher(StreamNames.of(settings)) if settings.stream_url else None,
    )


def _add_middleware(app: FastAPI, settings: Settings, state: AppState) -> None:
    """The middleware, innermost first: each one added wraps all those before it."""
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    limits = parse_limits(settings.rate_limits)
    app.add_middleware(  # per key; inside metrics and logs, so 429s are counted and logged
        RateLimit,
        engine=state.engine,
        default=limits.pop("default", DEFAULT_LIMIT),
        anonymous=limits.pop("anonymous", None),
        limits=limits,
        store=LimitStore(
            settings.rate_limit_storage,
            prefix=settings.rate_limit_prefix,
            fell_back=metrics.RATE_LIMIT_FALLBACK.inc,
        ),
    )
    metrics.install(app)
    app.add_middleware(logs.RequestLog)  # ids, timing and counts cover every layer but the next
    # Outermost: past its limit a worker refuses before any other work, counted, not logged.
    app.add_middleware(InFlightLimit, most=settings.max_in_flight, refused=metrics.OVERLOADED.inc)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server: JSON lines on stdout, no uvicorn access log.

    Uvicorn's access log is switched off because it prints query strings; `RequestLog` writes
    the access line instead.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{logs.__name__}.JsonFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
            "nowhere": {"class": "logging.NullHandler"},
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "uvicorn": {"level": level},
            "uvicorn.access": {"handlers": ["nowhere"], "propagate": False},
            "alembic": {"level": "WARNING"},
        },
    }


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    simulated_clock: Annotated[
        bool, typer.Option("--simulated-clock", help="A sandbox whose time POST /v1/clock sets.")
    ] = False,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs), the console and the member portal."""
    if simulated_clock:
        os.environ["JIFEN_SIMULATED_CLOCK"] = "true"  # the workers read their settings anew
    settings = get_settings()
    open_vault(settings)
    mode = "with a simulated clock (sandbox)" if simulated_clock else ""
    console.print(
        f"Jifen listens on http://{host}:{port} {mode}; API docs at http://{host}:{port}/docs"
    )
    uvicorn.run(
        f"{__name__}:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=log_config(),  # JSON lines with request ids; no query strings logged
    )


def main() -> None:
    """The `jifen` command line, `serve` included."""
    cli(prog_name="jifen")
