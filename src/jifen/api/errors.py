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

STATUS: dict[str, int] = {
    "unauthorized": 401,
    "bad_signature": 401,
    "signature_expired": 401,
    "forbidden": 403,
    "redemption_locked": 403,
    "not_found": 404,
    "event_not_found": 404,
    "idempotency_conflict": 409,
    "member_exists": 409,
    "member_not_active": 409,
    "open_redemptions": 409,
    "insufficient_points": 409,
    "beneficiary_limit": 409,
    "beneficiary_not_effective": 409,
    "change_not_allowed": 409,
    "departure_passed": 409,
    "cancel_window_closed": 409,
    "invalid_redemption_state": 409,
    "seat_upgrade_not_allowed": 409,
    "out_of_stock": 409,
    "limit_reached": 409,
    "sale_not_open": 409,
    "order_not_cancellable": 409,
    "order_cancelled": 409,
    "coupon_used": 409,
    "coupon_expired": 409,
    "ticket_conflict": 409,
    "pending_settled": 409,
    "not_reversible": 409,
    "same_approver": 403,
    "adjustment_decided": 409,
    "member_closed": 409,
    "endpoint_exists": 409,
    "delivery_not_dead": 409,
    "partner_exists": 409,
    "partner_inactive": 409,
    "partner_limit_exceeded": 409,
    "exchange_not_offered": 409,
    "payload_too_large": 413,
    "unknown_charity": 422,
    "miles_below_minimum": 422,
    "invalid_campaign": 422,
    "not_enough_data": 422,
    "invalid_event_time": 422,  # event results: a travel or claim dated before departure
    "event_in_future": 422,  # event results: dated beyond JIFEN_EVENT_FUTURE_TOLERANCE
    "velocity_limit": 429,
    "rate_limited": 429,
    "overloaded": 503,
    "estimate_busy": 409,
    "no_program": 503,
}
"""HTTP status per error code; every other code is a 422 (the request cannot be carried out)."""


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The error body every failure shares."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(code: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    """An error response with the status its code maps to."""
    return JSONResponse(error_body(code, message, details), status_code=STATUS.get(code, 422))


def _problems(error: RequestValidationError) -> list[dict[str, str]]:
    # The offending input is left out on purpose: it may hold an ID number or a phone.
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in error.errors()
    ]


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the one error body."""

    @app.exception_handler(JifenError)
    async def domain_error(_request: Request, error: JifenError) -> JSONResponse:
        return error_response(error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = _problems(error)
        if any(e["type"] == "json_invalid" for e in error.errors()):
            return JSONResponse(
                error_body("malformed_json", "The body is not valid JSON.", {"errors": problems}),
                status_code=400,
            )
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
        return error_response(
            "validation_error", f"The request is not valid: {summary}.", {"errors": problems}
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
        return JSONResponse(
            error_body("internal_error", "Something went wrong on our side; nothing was changed."),
            status_code=500,
        )
