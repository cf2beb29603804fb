"""Prometheus metrics: requests, latencies, events applied and daily-job durations at /metrics.

One process: the metrics live in the default registry (with the process's own CPU and memory).
Several workers (`jifen serve --workers N`): start the server with `PROMETHEUS_MULTIPROC_DIR` set
to an empty folder; every worker then writes its figures there and any worker's `/metrics` adds
them all up, so a scrape sees the whole server whichever worker answers (docs/operations.md).
Labels come from fixed sets only (route templates, event types, error codes): never a raw path,
a member or an event id, so the number of series stays bounded whatever clients send.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from time import perf_counter
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import Scope

from jifen.services.event_schema import EVENT_TYPES
from jifen.services.events.context import EventResult

if TYPE_CHECKING:  # FastAPI itself is not imported: `jifen` commands load this module too
    from fastapi import FastAPI

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"

disable_created_metrics()  # no `_created` twin of every series: rates need no start time

REQUESTS = Counter(
    "jifen_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "jifen_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OVERLOADED = Counter(
    "jifen_http_overloaded_total",
    "Requests refused with 503 overloaded, before any work: the worker had JIFEN_MAX_IN_FLIGHT.",
)
RATE_LIMIT_FALLBACK = Counter(
    "jifen_rate_limit_fallback_total",
    "Requests rate-limited in their worker's memory because the shared store "
    "(JIFEN_RATE_LIMIT_STORAGE) did not answer: limits were per worker meanwhile.",
)
EVENTS = Counter(
    "jifen_events_total",
    "Events received through the API, by type and outcome (applied, duplicate, rejected).",
    ["type", "status"],
)
EVENT_REJECTS = Counter(
    "jifen_event_rejects_total",
    "Events rejected through the API, by type and error code.",
    ["type", "code"],
)
DAILY_JOB_SECONDS = Histogram(
    "jifen_daily_job_duration_seconds",
    "Wall time of a daily job run through the API, by outcome (done, failed).",
    ["outcome"],
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
)
DAILY_STEP_SECONDS = Histogram(
    "jifen_daily_job_step_duration_seconds",
    "Wall time of each step of a daily job run through the API (steps already done are not timed).",
    ["step"],
    buckets=(0.01, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)

GROUP_COMMIT_BATCH = Histogram(
    "jifen_group_commit_batch_events",
    "Events per group-commit batch: one-event requests of a worker applied in one transaction.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
GROUP_COMMIT_WAIT_SECONDS = Histogram(
    "jifen_group_commit_wait_seconds",
    "How long an event waited for its group-commit batch to start (the window, or a busy writer).",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)


def observe_group_commit(size: int, waits: Sequence[float]) -> None:
    """Count one group-commit batch: its size and each of its events' wait."""
    GROUP_COMMIT_BATCH.observe(size)
    for wait in waits:
        GROUP_COMMIT_WAIT_SECONDS.observe(wait)


def install(app: FastAPI) -> None:
    """Serve the metrics at `GET /metrics`, without a key (keep it off the public network)."""
    app.add_api_route("/metrics", _metrics, methods=["GET"], include_in_schema=False)


def _metrics() -> Response:
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


def exposition() -> bytes:
    """The metrics in Prometheus' text format: this process's, or every worker's when shared."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)


def route_of(scope: Scope) -> str:
    """The route template a request went to (`/v1/members/{member_id}`), or `unmatched`."""
    template = getattr(scope.get("route"), "path_format", None)
    if template is None and hasattr(scope.get("app"), "openapi"):
        # Refused before routing (413, 429): the template of the documented path it was meant for.
        path = scope.get("path", "")
        template = next((t for regex, t in _templates(scope["app"]) if regex.match(path)), None)
    return template or UNMATCHED


def _templates(app: FastAPI) -> list[tuple[re.Pattern[str], str]]:
    templates = getattr(app.state, "route_templates", None)
    if templates is None:
        templates = [(compile_path(path)[0], path) for path in app.openapi().get("paths", {})]
        app.state.route_templates = templates
    return templates


def observe_request(*, scope: Scope, status: int, seconds: float) -> str:
    """Count one answered request and its latency; returns the route template it was filed under."""
    method = scope.get("method", "")
    labels = (method if method in METHODS else "other", route_of(scope), str(status))
    REQUESTS.labels(*labels).inc()
    REQUEST_SECONDS.labels(*labels).observe(seconds)
    return labels[1]


def count_events(raw_events: Sequence[Any], results: Iterable[EventResult]) -> None:
    """Count what became of each event of a batch (`results` are in the order of the events)."""
    for raw, result in zip(raw_events, results, strict=False):
        kind = raw.get("type") if isinstance(raw, dict) else None
        kind = kind if kind in EVENT_TYPES else "unknown"
        EVENTS.labels(kind, result.status).inc()
        if result.error:
            EVENT_REJECTS.labels(kind, str(result.error.get("code", "unknown"))).inc()


class DailyJobTimer:
    """Times a daily job and its steps from the progress reports `run_daily` makes.

    A step's time runs from the previous step's last report (or the start) to its own last
    report; a step that had nothing to report has its time counted in the next one's.
    """

    def __init__(self) -> None:
        self.started = perf_counter()
        self.marks: dict[str, float] = {}

    def progress(self, step: str, _done: int) -> None:
        """The `progress` callback of `run_daily`."""
        self.marks[step] = perf_counter()

    def observe(self, outcome: str) -> None:
        """Record the job's time and each reported step's."""
        DAILY_JOB_SECONDS.labels(outcome).observe(perf_counter() - self.started)
        previous = self.started
        for step, mark in sorted(self.marks.items(), key=lambda item: item[1]):
            DAILY_STEP_SECONDS.labels(step).observe(mark - previous)
            previous = mark


@contextmanager
def daily_job_timer() -> Iterator[DailyJobTimer]:
    """Time the daily job run inside the block; pass `timer.progress` to `run_daily`."""
    timer = DailyJobTimer()
    try:
        yield timer
    except BaseException:
        timer.observe("failed")
        raise
    timer.observe("done")
