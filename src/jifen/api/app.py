"""The API's FastAPI application: routes, health checks, error handlers, and the body limit."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jifen import __version__
from jifen.api import errors
from jifen.api.deps import AppState, StateDep
from jifen.api.errors import PayloadTooLarge, error_response
from jifen.api.routes import (
    accounting,
    adjustments,
    beneficiaries,
    campaigns,
    entitlements,
    events,
    mall,
    me,
    members,
    operations,
    partners,
    privacy,
    program,
    program_drafts,
    recommendations,
    redemptions,
    reports,
    segments,
    webhooks,
)
from jifen.api.schemas.errors import ErrorBody
from jifen.storage.db import ping

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
            PayloadTooLarge(
                f"The body is over {self.limit:,} bytes; send fewer events per request."
            )
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_api(state: AppState) -> FastAPI:
    """The Jifen API on the adapters in `state`: its routes, health checks and error handlers.

    The composition root (`jifen.bootstrap`) builds `state`, mounts the pages on the result and
    wraps it in the middleware; nothing here reads settings.
    """
    app = FastAPI(
        title="Jifen",
        version=__version__,
        description=DESCRIPTION,
        responses={"4XX": {"model": ErrorBody, "description": "The request was refused."}},
    )
    app.state.jifen = state
    errors.install(app)
    app.include_router(members.router)
    app.include_router(operations.router)
    app.include_router(events.router)
    for module in (beneficiaries, redemptions, mall, adjustments, entitlements):
        app.include_router(module.router)
    app.include_router(redemptions.by_member)
    _health(app)
    app.include_router(privacy.router)
    app.include_router(campaigns.router)
    app.include_router(recommendations.router)
    app.include_router(webhooks.router)
    app.include_router(partners.router)
    app.include_router(accounting.router)
    app.include_router(reports.router)
    app.include_router(program.router)
    app.include_router(program_drafts.router)
    app.include_router(segments.router)
    app.include_router(me.router)
    return app


def _health(app: FastAPI) -> None:
    @app.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get("/ready", tags=["health"])
    def ready(jifen: StateDep) -> Any:
        """Readiness: the database answers and a program is installed; the version served."""
        ping(jifen.engine)
        served = jifen.programs.current()
        return {
            "status": "ready",
            "program": served.program.code,
            "program_version": served.version,
            "simulated_clock": jifen.clock.simulated,
        }
