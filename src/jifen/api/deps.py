"""Request dependencies: the unit of work, program, vault, clock, the caller's role, paging.

The dependencies that only hand over what the app holds are `async`: FastAPI runs a plain `def`
dependency in its thread pool, a hop per dependency per request. Those that wait for the
database run in the pool, once each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from jifen.api.group_commit import EventCommitter
from jifen.api.program_cache import ProgramCache
from jifen.domain.errors import JifenError
from jifen.programs.schema import Program
from jifen.services.clock import Clock
from jifen.services.events import FUTURE_TOLERANCE
from jifen.services.keys import authenticate
from jifen.services.programs import ServedProgram
from jifen.storage.crypto import IdentityVault
from jifen.storage.key_repository import StoredKey
from jifen.storage.uow import SqlUnitOfWork


class Unauthorized(JifenError):
    """No valid API key."""

    code = "unauthorized"
    status = 401


class Forbidden(JifenError):
    """The key's role may not do this."""

    code = "forbidden"
    status = 403


@dataclass
class AppState:
    """What the app holds for its lifetime."""

    engine: Engine
    vault: IdentityVault
    clock: Clock
    programs: ProgramCache
    reader: Engine | None = None
    """The engine for reads that need no transaction of their own (`engine` when None)."""
    event_future_tolerance: timedelta = FUTURE_TOLERANCE
    """How far after the clock an event may be dated (`JIFEN_EVENT_FUTURE_TOLERANCE`)."""
    committer: EventCommitter | None = None
    """Gathers one-event requests into one transaction (`JIFEN_GROUP_COMMIT_MS`; None: off)."""
    stream: Any = None
    """Publishes `Prefer: respond-async` events (`routes.events.EventStream`; None: no stream)."""


async def state(request: Request) -> AppState:
    """The app's state."""
    return request.app.state.jifen


StateDep = Annotated[AppState, Depends(state)]


# The dependencies below take the request rather than `StateDep`: one dependency less to solve.
async def unit_of_work(request: Request) -> SqlUnitOfWork:
    """A unit of work for this request."""
    return SqlUnitOfWork(request.app.state.jifen.engine)


UowDep = Annotated[SqlUnitOfWork, Depends(unit_of_work)]


async def read_unit_of_work(request: Request) -> SqlUnitOfWork:
    """A unit of work for a request that only reads (see `storage.db.reading_engine`)."""
    app: AppState = request.app.state.jifen
    return SqlUnitOfWork(app.reader or app.engine)


ReadUowDep = Annotated[SqlUnitOfWork, Depends(read_unit_of_work)]


async def served_program(request: Request) -> ServedProgram:
    """The active program and its version (checked every few seconds, see `ProgramCache`)."""
    programs: ProgramCache = request.app.state.jifen.programs
    served = programs.fresh()
    if served is None:
        served = await anyio.to_thread.run_sync(programs.current)
    return served


ServedProgramDep = Annotated[ServedProgram, Depends(served_program)]


async def program(request: Request) -> Program:
    """The active program."""
    return (await served_program(request)).program


ProgramDep = Annotated[Program, Depends(program)]


async def vault(request: Request) -> IdentityVault:
    """The identity vault."""
    return request.app.state.jifen.vault


VaultDep = Annotated[IdentityVault, Depends(vault)]


async def clock(request: Request) -> Clock:
    """The server's clock (the sandbox clock on a simulated server)."""
    return request.app.state.jifen.clock


ClockDep = Annotated[Clock, Depends(clock)]

PageLimit = Annotated[int, Query(ge=1, le=500, description="At most this many items.")]
PageCursor = Annotated[
    str | None,
    Query(max_length=512, description="The `next_cursor` of the page before; none for the first."),
]
bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")


def require(*roles: str) -> Callable[..., Awaitable[StoredKey]]:
    """A dependency that lets through keys of these roles (and admin), 401/403 otherwise."""
    allowed = {"admin", *roles}

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> StoredKey:
        key = None
        if credentials is not None:
            # Looked up on every request, so that a revoked key is refused at once (docs/api.md).
            app: AppState = request.app.state.jifen
            uow = SqlUnitOfWork(app.reader or app.engine)
            key = await anyio.to_thread.run_sync(authenticate, uow, credentials.credentials)
        if key is None:
            raise Unauthorized(
                "Send a valid API key as `Authorization: Bearer <key>`; "
                "make one with `jifen keys create --role ROLE`."
            )
        if key.role not in allowed:
            raise Forbidden(
                f"The key's role ({key.role}) may not do this; it needs one of: "
                f"{', '.join(sorted(allowed))}.",
                role=key.role,
            )
        return key

    return check
