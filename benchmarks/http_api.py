"""The HTTP API under open-loop load: `jifen serve --workers 2` on PostgreSQL, as its own process.

Set-up is what an operator does: `jifen init --preset railway` in an empty folder with
`JIFEN_DATABASE_URL` pointing at a fresh database; the demo members are enrolled and the API keys
made through Jifen's use cases. The load comes from this process (asyncio, `loadgen`), on a fixed
schedule, one event per `POST /v1/events`. Each figure has a reference from the same run: the
same schedule against `GET /health` (no key, no database), the floor of server, client and
machine together.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.databases import Postgres
from benchmarks.dataset import SEED, Dataset, enrol_all, railway_tickets
from benchmarks.loadgen import Request, Run, http_request, open_loop
from benchmarks.report import Check, Results, console
from benchmarks.serve import HOST, WORKERS, Server, free_port, settle
from benchmarks.sizes import Sizes
from jifen.services.keys import create_key
from jifen.services.programs import active_program
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine
from jifen.storage.uow import SqlUnitOfWork

try:
    import uvloop
except ImportError:  # pragma: no cover - uvicorn[standard] brings it
    uvloop = None

KEY_RATE = 25.0  # per key: half of the server's default limit of 50/s per key and worker
CONNECTIONS = 16  # per key, at most
EVENTS_TARGET_RATE, EVENTS_P99_MS, MEMBER_RATE, MEMBER_P99_MS = 800.0, 50.0, 200.0, 10.0
BACKLOG_WAIT = 20.0  # seconds the server may go on with abandoned requests before a restart


def clients_for(rate: float) -> int:
    """Several clients (keys), enough that none sends more than KEY_RATE per second."""
    return max(4, math.ceil(rate / KEY_RATE))


@dataclass(frozen=True, slots=True)
class Stage:
    """A database with the railway program, members, keys, and the folder to serve it from."""

    folder: Path
    env: dict[str, str]
    data: Dataset
    member_ids: list[int]
    tokens: list[str]


def _stage(url: str, sizes: Sizes, folder: Path, keys: int, now: datetime) -> Stage:
    folder.mkdir()
    vault_key, hash_key = IdentityVault.generate_key(), IdentityVault.generate_key()
    env = {
        **os.environ,
        "JIFEN_DATABASE_URL": url,
        "JIFEN_VAULT_KEYS": vault_key,
        "JIFEN_HASH_KEY": hash_key,
    }
    subprocess.run(
        [sys.executable, "-m", "jifen", "init", "--preset", "railway"],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    engine = make_engine(url)
    try:
        program = active_program(SqlUnitOfWork(engine))
        vault = IdentityVault([vault_key], hash_key)
        data = railway_tickets(members=sizes.http_members, seed=SEED + 1)
        member_ids = enrol_all(engine, program=program, vault=vault, cast=data.members)
        tokens = [
            create_key(SqlUnitOfWork(engine), role="integrator", label=f"bench-{n}", now=now).token
            for n in range(keys)
        ]
    finally:
        engine.dispose()
    return Stage(folder, env, data, member_ids, tokens)


def run_http(results: Results, sizes: Sizes, workdir: Path, pg: Postgres, chosen: set[str]) -> None:
    """`http_events` and `get_member` against one server, each after its `GET /health` floor."""
    event_keys, member_keys = (
        clients_for(sizes.http_events_rate),
        clients_for(sizes.get_member_rate),
    )
    began = time.perf_counter()
    url = pg.create()
    server: Server | None = None
    try:
        stage = _stage(url, sizes, workdir / "serve", event_keys + member_keys, results.started_at)
        server = Server(stage.folder, stage.env, free_port())
        server.start()
        console.print(
            f"  jifen serve --workers {WORKERS} is ready on port {server.port} "
            f"({time.perf_counter() - began:.1f} s of set-up)"
        )
        load = Load(stage, server.port, sizes, event_keys)
        _run_async(load.warm_up())
        settle(url, timeout=60)
        if "http_events" in chosen:
            floor = _run_async(load.health(sizes.http_events_rate, sizes.http_events_seconds))
            events = _run_async(load.events())
            _report_events(results, sizes, events, floor, load.statuses)
            backlog, drained = settle(url, timeout=BACKLOG_WAIT)
            if not drained:  # abandon the rest of the queue with the server, start afresh
                server.stop()
                server.start()
                _run_async(load.warm_up_members())
                settle(url)
            results.record(http_events_backlog_s=backlog, http_events_server_restarted=not drained)
        if "get_member" in chosen:
            floor = _run_async(load.health(sizes.get_member_rate, sizes.get_member_seconds))
            members = _run_async(load.members())
            _report_members(results, sizes, members, floor)
        results.sizes["http"] = {
            "members": len(stage.member_ids),
            "workers": WORKERS,
            "keys": {"events": event_keys, "get_member": member_keys},
            "connections_per_key": CONNECTIONS,
            "events_mix": load.mix,
        }
    finally:
        if server is not None:
            server.stop()
            errors = server.errors()
            for cause, count in errors.most_common(5):
                results.notes.append(f"jifen serve logged {count} × {cause}")
            if errors:
                total = errors.total()
                results.problem(f"jifen serve logged {total} error{'s' * (total > 1)} (see notes)")
        pg.drop(url)


def _run_async(coroutine: Coroutine[Any, Any, Run]) -> Run:
    factory: Callable[[], asyncio.AbstractEventLoop] | None = (
        uvloop.new_event_loop if uvloop is not None else None
    )
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)


class Load:
    """The requests of each phase, prepared before the clock starts."""

    def __init__(self, stage: Stage, port: int, sizes: Sizes, event_keys: int) -> None:
        self.stage, self.port, self.sizes = stage, port, sizes
        self.host = f"{HOST}:{port}"
        self.event_tokens = stage.tokens[:event_keys]
        self.member_tokens = stage.tokens[event_keys:]
        self.warm = len(self.event_tokens) * 2  # events spent warming up
        self.mix: dict[str, int] = {}
        self.statuses: Counter[str] = Counter()  # event outcomes in the 200 answers
        needed = self.warm + round(sizes.http_events_rate * sizes.http_events_seconds)
        if len(stage.data.events) < needed:
            msg = f"{len(stage.data.events)} demo events; the HTTP load needs {needed}"
            raise ValueError(msg)

    def _post_event(self, n: int, event: dict[str, Any]) -> Request:
        body = json.dumps({"events": [event]}, ensure_ascii=False).encode()
        token = self.event_tokens[n % len(self.event_tokens)]
        wire = http_request("POST", "/v1/events", host=self.host, token=token, body=body)
        return Request(n % len(self.event_tokens), wire)

    def _get_member(self, n: int, member_id: int) -> Request:
        token = self.member_tokens[n % len(self.member_tokens)]
        path = f"/v1/members/{member_id}"
        return Request(
            n % len(self.member_tokens), http_request("GET", path, host=self.host, token=token)
        )

    async def _run(self, requests: Sequence[Request], rate: float) -> Run:
        return await open_loop(
            requests,
            host=HOST,
            port=self.port,
            rate=rate,
            timeout=self.sizes.http_timeout_seconds,
            connections=CONNECTIONS,
        )

    async def warm_up(self) -> Run:
        """Every key once or twice, slowly: key look-ups, connections and caches before timing."""
        events = self.stage.data.events[: self.warm]
        requests = [self._post_event(n, e) for n, e in enumerate(events)]
        return await self._run(requests + self._member_warm_up(), 40.0)

    async def warm_up_members(self) -> Run:
        """The `get_member` keys again, after a restart."""
        return await self._run(self._member_warm_up(), 40.0)

    def _member_warm_up(self) -> list[Request]:
        ids = self.stage.member_ids
        return [self._get_member(n, ids[n % len(ids)]) for n in range(len(self.member_tokens) * 2)]

    async def health(self, rate: float, seconds: float) -> Run:
        """The floor: `GET /health` on the same schedule."""
        wire = http_request("GET", "/health", host=self.host, token="none")  # noqa: S106 - /health takes no key
        count = round(rate * seconds)
        return await self._run([Request(n % 4, wire) for n in range(count)], rate)

    async def events(self) -> Run:
        """`POST /v1/events`, one event each, in stream order, round-robin over the keys."""
        count = round(self.sizes.http_events_rate * self.sizes.http_events_seconds)
        events = self.stage.data.events[self.warm : self.warm + count]
        run = await self._run(
            [self._post_event(n, e) for n, e in enumerate(events)], self.sizes.http_events_rate
        )
        run.accept = lambda body: _event_status(body) != "rejected:internal_error"
        self.statuses = Counter(_event_status(a.body) for a in run.answers if a.status == 200)
        self.mix = dict(Counter(e["type"] for e in events))
        return run

    async def members(self) -> Run:
        """`GET /v1/members/{id}` for members drawn at random."""
        rng = random.Random(SEED)
        count = round(self.sizes.get_member_rate * self.sizes.get_member_seconds)
        ids = [rng.choice(self.stage.member_ids) for _ in range(count)]
        return await self._run(
            [self._get_member(n, i) for n, i in enumerate(ids)], self.sizes.get_member_rate
        )


def _event_status(body: bytes) -> str:
    """`applied`, `duplicate`, or `rejected:<code>` from a `POST /v1/events` answer."""
    try:
        result = json.loads(body)["results"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return "unreadable"
    error = result.get("error") or {}
    return f"{result['status']}:{error['code']}" if error else str(result["status"])


def _ms(run: Run, q: float, sizes: Sizes) -> float:
    """A latency quantile in ms; a quantile that falls on a failure reads as the timeout."""
    value = run.latency(q)
    return (sizes.http_timeout_seconds if math.isinf(value) else value) * 1000


def _common(results: Results, name: str, run: Run, floor: Run, sizes: Sizes) -> None:
    results.record(
        **{
            f"{name}_offered_per_s": run.rate,
            f"{name}_achieved_per_s": run.achieved,
            f"{name}_requests": len(run.answers),
            f"{name}_failed": run.failed,
            f"{name}_p50_ms": _ms(run, 0.5, sizes),
            f"{name}_p99_ms": _ms(run, 0.99, sizes),
            f"{name}_max_ms": _ms(run, 1.0, sizes),
            f"{name}_answered_p99_ms": run.answered_latency(0.99) * 1000,
            f"{name}_send_lag_p99_ms": run.send_lag_p99 * 1000,
            f"{name}_client_cpu_share": run.client_cpu / run.seconds,
            f"{name}_floor_p99_ms": _ms(floor, 0.99, sizes),
            f"{name}_floor_failed": floor.failed,
        }
    )
    statuses = Counter(a.status if a.error is None else a.error for a in run.answers)
    console.print(
        f"  {name}: offered {run.rate:,.0f}/s, achieved {run.achieved:,.1f}/s, "
        f"p50 {_ms(run, 0.5, sizes):.1f} ms, p99 {_ms(run, 0.99, sizes):.1f} ms "
        f"(floor p99 {_ms(floor, 0.99, sizes):.1f} ms); answers {dict(statuses)}; "
        f"generator lag p99 {run.send_lag_p99 * 1000:.1f} ms, "
        f"CPU {run.client_cpu / run.seconds:.0%}"
    )


def _shown_p99(run: Run, sizes: Sizes) -> str | None:
    """`failed` when the p99 request failed: its latency is not a number to compare."""
    if not math.isinf(run.latency(0.99)):
        return None
    answered = run.answered_latency(0.99) * 1000
    return f"p99 failed ({run.failed}/{len(run.answers)}; answered p99 {answered:,.0f} ms)"


def _latency_verdict(p99: float, limit: float, *, at_target_rate: bool) -> bool | None:
    if p99 > limit:
        return False
    return True if at_target_rate else None


def _report_events(
    results: Results, sizes: Sizes, run: Run, floor: Run, statuses: Counter[str]
) -> None:
    _common(results, "http_events", run, floor, sizes)
    internal = statuses["rejected:internal_error"]
    results.record(
        http_events_applied=statuses["applied"],
        http_events_internal_errors=internal,
        http_events_clients=clients_for(sizes.http_events_rate),
    )
    if statuses["applied"] != len(run.answers):
        results.notes.append(f"http_events: event outcomes in the 200 answers {dict(statuses)}")
    if internal:
        results.problem(
            f"http_events: {internal} events answered `internal_error` (counted as failed "
            "requests); the server log names the cause"
        )
    at_target = run.rate >= EVENTS_TARGET_RATE
    results.check(
        Check(
            f"http_events (req/s, offered {run.rate:,.0f}/s)",
            run.achieved,
            "/s",
            f"≥ {EVENTS_TARGET_RATE:,.0f}/s",
            run.achieved >= EVENTS_TARGET_RATE if at_target else None,
            reference="offered",
            reference_value=run.rate,
        )
    )
    p99 = _ms(run, 0.99, sizes)
    results.check(
        Check(
            f"http_events p99 (ms, at {run.rate:,.0f}/s)",
            p99,
            "ms",
            f"≤ {EVENTS_P99_MS:.0f} ms at ≥ {EVENTS_TARGET_RATE:,.0f}/s",
            _latency_verdict(p99, EVENTS_P99_MS, at_target_rate=at_target),
            reference="GET /health",
            reference_value=_ms(floor, 0.99, sizes),
            ratio_style="×",
            shown=_shown_p99(run, sizes),
        )
    )


def _report_members(results: Results, sizes: Sizes, run: Run, floor: Run) -> None:
    _common(results, "get_member", run, floor, sizes)
    p99 = _ms(run, 0.99, sizes)
    results.check(
        Check(
            f"get_member p99 (ms, at {run.rate:,.0f}/s)",
            p99,
            "ms",
            f"≤ {MEMBER_P99_MS:.0f} ms at {MEMBER_RATE:,.0f}/s",
            _latency_verdict(p99, MEMBER_P99_MS, at_target_rate=run.rate >= MEMBER_RATE),
            reference="GET /health",
            reference_value=_ms(floor, 0.99, sizes),
            ratio_style="×",
            shown=_shown_p99(run, sizes),
        )
    )
