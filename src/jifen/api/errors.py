"""The one place where errors become HTTP responses: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from jifen.domain.errors import JifenError

log = logging.getLogger("jifen.api")


class MalformedJson(JifenError):
    """A body that is not JSON at all."""

    code = "malformed_json"
    status = 400


class RequestNotValid(JifenError):
    """A body, path or query not in the endpoint's shape; `details.errors` says where."""

    code = "validation_error"
    status = 422


class PayloadTooLarge(JifenError):
    """A body over the server's limit."""

    code = "payload_too_large"
    status = 413


class RateLimited(JifenError):
    """A key (or an address without one) sending faster than its limit."""

    code = "rate_limited"
    status = 429


class Overloaded(JifenError):
    """A worker with as many requests in progress as it takes."""

    code = "overloaded"
    status = 503


class InternalError(JifenError):
    """A bug on Jifen's side; nothing was changed, and the log has the cause."""

    code = "internal_error"
    status = 500

    def __init__(self) -> None:
        super().__init__("Something went wrong on our side; nothing was changed.")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The error body every failure shares."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(error: JifenError) -> JSONResponse:
    """The response to `error`: its body, with the status its class names."""
    status = getattr(error, "status", None)
    if status is None:  # an error class nobody gave a status: a bug, answered as one
        log.error("error %s (%s) has no HTTP status", type(error).__name__, error.code)
        error = InternalError()
        status = error.status
    return JSONResponse(error_body(error.code, error.message, error.details), status_code=status)


def _problems(error: RequestValidationError) -> list[dict[str, str]]:
    # The offending input is left out on purpose: it may hold an ID number or a phone.
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in error.errors()
    ]


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the one error body."""

    @app.exception_handler(JifenError)
    async def domain_error(_request: Request, error: JifenError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = _problems(error)
        if any(e["type"] == "json_invalid" for e in error.errors()):
            return error_response(MalformedJson("The body is not valid JSON.", errors=problems))
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
        return error_response(
            RequestNotValid(f"The request is not valid: {summary}.", errors=problems)
        )

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> JSONResponse:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthorized",
            403: "forbidden",
        }.get(error.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(error.detail)),
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=error)
        return error_response(InternalError())
