"""Console (运营后台) and member portal (会员中心): server-rendered pages on the API's app.

`install(app, settings)` mounts the static files, both routers and the session cookie, and makes
errors on page paths render as pages instead of JSON.
"""

from __future__ import annotations

from inspect import isawaitable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import HTTPExceptionHandler

from jifen.config import Settings
from jifen.domain.errors import JifenError
from jifen.web.security import session_secret
from jifen.web.session import SignInRequired

PAGE_PREFIXES = ("/console", "/portal")


class InvalidForm(JifenError):
    """A page got a form or path value it cannot read (tampered with, or out of date)."""

    code = "invalid_form"
    status = 422


SESSION_HOURS = 12


def install(app: FastAPI, settings: Settings) -> None:
    """Add the console and the portal to `app` (after the API's error handlers are installed)."""
    from jifen.web import console, portal  # noqa: PLC0415 - the routers import this package

    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(console.router)
    app.include_router(portal.router)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings.hash_key, settings.session_secret),
        session_cookie="jifen_session",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
    )
    _page_errors(app)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/console", status_code=303)


async def _answer(handler: HTTPExceptionHandler, request: Request, error: Exception) -> Response:
    """What the API's own handler for `error` answers (Starlette lets a handler be sync)."""
    answer = handler(request, error)
    return await answer if isawaitable(answer) else answer


def _page_errors(app: FastAPI) -> None:
    from jifen.web.templating import render  # noqa: PLC0415

    api_domain = app.exception_handlers[JifenError]
    api_http = app.exception_handlers[HTTPException]
    api_invalid = app.exception_handlers[RequestValidationError]

    async def domain_error(request: Request, error: Exception) -> Response:
        if not request.url.path.startswith(PAGE_PREFIXES):
            return await _answer(api_domain, request, error)
        assert isinstance(error, JifenError)  # noqa: S101 - registered for JifenError only
        status = 403 if error.code == "csrf_failed" else 400
        return render(request, "error.html", {"error": error}, status_code=status)

    async def http_error(request: Request, error: Exception) -> Response:
        if not request.url.path.startswith(PAGE_PREFIXES):
            return await _answer(api_http, request, error)
        assert isinstance(error, HTTPException)  # noqa: S101 - registered for HTTPException only
        return render(request, "error.html", {"error": error}, status_code=error.status_code)

    async def invalid_form(request: Request, error: Exception) -> Response:
        # A tampered or malformed form or path value: a page, never the API's JSON.
        if not request.url.path.startswith(PAGE_PREFIXES):
            return await _answer(api_invalid, request, error)
        context = {
            "error": InvalidForm("A form or path value could not be read."),
            "invalid_form": True,
        }
        return render(request, "error.html", context, status_code=400)

    async def sign_in_first(request: Request, error: Exception) -> Response:
        assert isinstance(error, SignInRequired)  # noqa: S101
        return RedirectResponse(error.location, status_code=303)

    app.add_exception_handler(JifenError, domain_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_form)
    app.add_exception_handler(SignInRequired, sign_in_first)
