"""Console sign-in and sign-out with a user name and password (session cookie, CSRF-checked)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from jifen.api.deps import UowDep
from jifen.services.console_users import BadSignIn, sign_in
from jifen.web.security import check_csrf
from jifen.web.session import CONSOLE_KEY
from jifen.web.templating import render

router = APIRouter(prefix="/console")


def _safe_next(target: str | None) -> str:
    # Only paths inside the console, so the sign-in page cannot send anyone elsewhere.
    return target if target and target.startswith("/console") else "/console"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002
    """The sign-in form."""
    return render(request, "console/login.html", {"next": _safe_next(next)})


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    uow: UowDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/console",  # noqa: A002
) -> Response:
    """Check the password; on success start a session and go where the user was heading."""
    try:
        user = sign_in(uow, username=username.strip(), password=password)
    except BadSignIn:
        context = {"next": _safe_next(next), "username": username, "failed": True}
        return render(request, "console/login.html", context, status_code=401)
    request.session.clear()  # a new session on sign-in: no fixation
    request.session[CONSOLE_KEY] = user.id
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> Response:
    """End the session."""
    request.session.pop(CONSOLE_KEY, None)
    return RedirectResponse("/console/login", status_code=303)
