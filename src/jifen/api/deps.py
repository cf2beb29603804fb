"""Request dependencies: the unit of work, program, vault, clock, and the caller's role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from jifen.api.clock import Clock
from jifen.domain.errors import JifenError
from jifen.programs.schema import Program
from jifen.services.keys import authenticate
from jifen.services.programs import active_program
from jifen.storage.crypto import IdentityVault
from jifen.storage.key_repository import StoredKey
from jifen.storage.uow import UnitOfWork


class Unauthorized(JifenError):
    """No valid API key."""

    code = "unauthorized"


class Forbidden(JifenError):
    """The key's role may not do this."""

    code = "forbidden"


@dataclass
class AppState:
    """What the app holds for its lifetime."""

    engine: Engine
    vault: IdentityVault
    clock: Clock
    programs: dict[str, Program] = field(default_factory=dict)


def state(request: Request) -> AppState:
    """The app's state."""
    return request.app.state.jifen


StateDep = Annotated[AppState, Depends(state)]


def unit_of_work(app: StateDep) -> UnitOfWork:
    """A unit of work for this request."""
    return UnitOfWork(app.engine)


UowDep = Annotated[UnitOfWork, Depends(unit_of_work)]


def program(app: StateDep, uow: UowDep) -> Program:
    """The active program (read once, then kept)."""
    if "active" not in app.programs:
        app.programs["active"] = active_program(uow)
    return app.programs["active"]


ProgramDep = Annotated[Program, Depends(program)]


def vault(app: StateDep) -> IdentityVault:
    """The identity vault."""
    return app.vault


VaultDep = Annotated[IdentityVault, Depends(vault)]


def clock(app: StateDep) -> Clock:
    """The server's clock (the sandbox clock on a simulated server)."""
    return app.clock


ClockDep = Annotated[Clock, Depends(clock)]
bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")


def require(*roles: str) -> Callable[..., StoredKey]:
    """A dependency that lets through keys of these roles (and admin), 401/403 otherwise."""
    allowed = {"admin", *roles}

    def check(
        uow: UowDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> StoredKey:
        key = authenticate(uow, credentials.credentials) if credentials else None
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
