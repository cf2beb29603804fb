"""Structured logs: one JSON object per line, each record of a request carrying its id.

`RequestLog` (the outermost middleware) gives every HTTP request an id: the caller's
`X-Request-ID` when it is sane, a new one otherwise. It returns the id in the response header,
puts it (with the method and path) on every log record made while the request runs, counts the
request in the metrics and writes one access line when it ends. Bodies, query strings and
headers are never logged; runs of digits as long as a phone or ID number are masked in paths.
`JsonFormatter` formats them (`jifen.bootstrap.log_config` sets it up for `jifen serve`).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jifen.api import metrics

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_IDENTITY_LIKE = re.compile(r"\d{10,}[0-9Xx]")  # an 11-digit phone, a 15- or 18-character ID
_QUIET_PATHS = frozenset({"/metrics", "/health", "/ready"})  # scrapes and probes log at DEBUG
_RECORD_FIELDS = ("request_id", "method", "path", "route", "status", "duration_ms")

access_log = logging.getLogger("jifen.access")


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """The request being served, as every log record made during it shows it."""

    request_id: str
    method: str
    path: str


current_request: ContextVar[RequestInfo | None] = ContextVar("jifen_request", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (an exception's traceback in `exception`)."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _RECORD_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def install_request_ids() -> None:
    """Make every log record created during a request carry its id, method and path (once)."""
    base = logging.getLogRecordFactory()
    if not isinstance(base, _RecordWithRequest):
        logging.setLogRecordFactory(_RecordWithRequest(base))


class _RecordWithRequest:
    """A log record factory over `base` that adds the current request's id, method and path."""

    def __init__(self, base: Callable[..., logging.LogRecord]) -> None:
        self.base = base

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.base(*args, **kwargs)
        info = current_request.get()
        if info is not None:
            record.request_id, record.method, record.path = (
                info.request_id,
                info.method,
                info.path,
            )
        return record


def request_id_from(scope: Scope) -> str:
    """The caller's `X-Request-ID` if sane (1–128 of `A-Z a-z 0-9 . _ : -`), else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def masked_path(path: str) -> str:
    """The path with any run of digits as long as a phone or ID number replaced by `***`."""
    return _IDENTITY_LIKE.sub("***", path)


class RequestLog:
    """Give each HTTP request an id, time it, count it in the metrics and log one line for it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        install_request_ids()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info = RequestInfo(request_id_from(scope), scope["method"], masked_path(scope["path"]))
        token = current_request.set(info)
        started, status = perf_counter(), None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(HEADER, info.request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The error handler outside this middleware answers 500 and logs the traceback; the
            # id stays set so that line carries it too (the request's task ends right after).
            _finish(scope, status or 500, started)
            raise
        _finish(scope, status or 500, started)
        current_request.reset(token)


def _finish(scope: Scope, status: int, started: float) -> None:
    seconds = perf_counter() - started
    route = metrics.observe_request(scope=scope, status=status, seconds=seconds)
    quiet = scope["path"] in _QUIET_PATHS and status < 400
    access_log.log(
        logging.DEBUG if quiet else logging.INFO,
        "%s %s %s",
        scope["method"],
        route,
        status,
        extra={"route": route, "status": status, "duration_ms": round(seconds * 1000, 1)},
    )
