"""The FastAPI application factory."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jifen import __version__
from jifen.api import errors, logs, metrics
from jifen.api.clock import Clock, SandboxClock
from jifen.api.deps import AppState, StateDep
from jifen.api.errors import error_response
from jifen.api.group_commit import EventCommitter
from jifen.api.limit_store import LimitStore
from jifen.api.program_cache import ProgramCache
from jifen.api.ratelimit import DEFAULT_LIMIT, InFlightLimit, RateLimit, parse_limits
from jifen.api.routes import (
    accounting,
    adjustments,
    beneficiaries,
    campaigns,
    mall,
    members,
    operations,
    partners,
    privacy,
    program,
    recommendations,
    redemptions,
    reports,
    segments,
    webhooks,
)
from jifen.api.schemas import ErrorBody
from jifen.config import Settings, get_settings
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine
from jifen.web import install as install_web

DESCRIPTION = """Jifen (积分) v1. Every request carries `Authorization: Bearer <key>`
(`jifen keys create --role ROLE`). Errors share one body:
`{"error": {"code", "message", "details"}}`. Writes take a caller-chosen `id` (the idempotency
key). See docs/api.md for worked examples."""


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, before the app reads them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(scope, receive, send)
            return
        seen, too_large = 0, False

        async def counted() -> Message:
            nonlocal seen, too_large
            message = await receive()
            seen += len(message.get("body", b""))
            too_large = seen > self.limit
            if too_large:
                raise _TooLarge
            return message

        async def unless_too_large(message: Message) -> None:
            # FastAPI turns a failed body read into its own 400; the 413 below replaces it.
            if not too_large:
                await send(message)

        with suppress(_TooLarge):
            await self.app(scope, counted, unless_too_large)
        if too_large:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            "payload_too_large",
            f"The body is over {self.limit:,} bytes; send fewer events per request.",
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(settings: Settings | None = None) -> FastAPI:
    """The Jifen API on the database and keys in `settings` (the environment by default)."""
    settings = settings or get_settings()
    # No ping before each check-out: it is a round trip per unit of work. After the database
    # restarts, the first request on each worker fails and the pool starts afresh (operations.md).
    engine = make_engine(settings.database_url, pool_pre_ping=False)
    vault = IdentityVault(settings.vault_keys.split(","), settings.hash_key)
    clock = SandboxClock(engine) if settings.simulated_clock else Clock()
    app = FastAPI(
        title="Jifen",
        version=__version__,
        description=DESCRIPTION,
        responses={"4XX": {"model": ErrorBody, "description": "The request was refused."}},
    )
    app.state.jifen = AppState(
        engine,
        vault,
        clock,
        ProgramCache(engine, interval=settings.program_check_seconds),
        reader=reading_engine(engine),
        event_future_tolerance=settings.event_future_tolerance,
        committer=EventCommitter(
            engine,
            vault,
            window=settings.group_commit_ms / 1000,
            most=settings.group_commit_most,
            observe=metrics.observe_group_commit,
        )
        if settings.group_commit_ms > 0
        else None,
    )
    errors.install(app)
    app.include_router(members.router)
    app.include_router(operations.router)
    for module in (beneficiaries, redemptions, mall, adjustments):
        app.include_router(module.router)
    _health(app)
    app.include_router(privacy.router)
    app.include_router(campaigns.router)
    app.include_router(recommendations.router)
    app.include_router(webhooks.router)
    app.include_router(partners.router)
    app.include_router(accounting.router)
    app.include_router(reports.router)
    app.include_router(program.router)
    app.include_router(segments.router)
    install_web(app, settings)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    limits = parse_limits(settings.rate_limits)
    app.add_middleware(  # per key; inside metrics and logs, so 429s are counted and logged
        RateLimit,
        engine=engine,
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
    return app


def reading_engine(engine: Engine) -> Engine:
    """`engine` for reads that need no transaction: on PostgreSQL without BEGIN and ROLLBACK.

    Each statement then sees the data committed when it starts, as it does in a READ COMMITTED
    transaction, PostgreSQL's default; two round trips fewer per read. SQLite keeps its own
    transaction (Jifen begins its transactions itself there).
    """
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def _health(app: FastAPI) -> None:
    @app.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get("/ready", tags=["health"])
    def ready(jifen: StateDep) -> Any:
        """Readiness: the database answers and a program is installed; the version served."""
        with jifen.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        served = jifen.programs.current()
        return {
            "status": "ready",
            "program": served.program.code,
            "program_version": served.version,
            "simulated_clock": jifen.clock.simulated,
        }
