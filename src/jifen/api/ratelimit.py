"""Per-key rate limits: a moving window of requests per API key, with limits per role.

Requests are counted by the `limits` library in the store `JIFEN_RATE_LIMIT_STORAGE` names:
`memory://` (the default) counts in each worker process, so with N workers a key gets up to N
times its limit; `redis://HOST:PORT/DB` counts in Redis, shared by every worker and server, so
the limit holds whatever the number of processes. A limit of `per_second` with bursts of `burst`
lets a key send `burst` requests in any `burst / per_second` seconds. A request over it is
answered `429 rate_limited` with `Retry-After` (whole seconds) before the app does any work.

When Redis does not answer, the API stays up: each worker counts in its own memory (per-worker
limits, as with `memory://`) until it answers again (`api/limit_store.py`).

A key is recognised by asking the key store once, then kept for `cache_seconds`, so the limit costs
no query per request. Requests without a live key (none, unknown, revoked) are refused 401 by the
app; they are not limited unless `anonymous` is given, which counts them per client address and,
once that address is over its limit, refuses unknown keys without looking them up. That is off
by default: an address is best limited by the proxy in front, which knows the caller's address
(behind a proxy, uvicorn sees the proxy's unless started with `--proxy-headers`).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from limits import RateLimitItem, RateLimitItemPerSecond
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from jifen.api.errors import Overloaded, RateLimited, error_response
from jifen.api.limit_store import LimitStore
from jifen.services.keys import authenticate
from jifen.storage.uow import SqlUnitOfWork


@dataclass(frozen=True, slots=True)
class Limit:
    """Up to `burst` requests at once, `per_second` sustained: `burst` in any `seconds`."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            msg = f"A rate limit needs per_second > 0 and burst >= 1; got {self}."
            raise ValueError(msg)
        seconds = self.burst / self.per_second
        if seconds < 1 or abs(seconds - round(seconds)) > 1e-9:
            msg = (
                f"A rate limit counts its burst over whole seconds: burst / per_second must be "
                f"1, 2, 3 ... seconds; {self.burst} / {self.per_second:g} is {seconds:g} "
                f"(e.g. {self.per_second:g}/{max(1, round(seconds)) * self.per_second:g})."
            )
            raise ValueError(msg)

    @property
    def seconds(self) -> int:
        """The window `burst` requests are counted over."""
        return round(self.burst / self.per_second)

    @property
    def item(self) -> RateLimitItem:
        """The limit as the `limits` library counts it."""
        return RateLimitItemPerSecond(self.burst, self.seconds)


DEFAULT_LIMIT = Limit(50, 100)
"""Per key, for every role not given its own limit."""
ANONYMOUS_LIMIT = Limit(20, 100)
"""A per-address limit for requests without a live key, when one is wanted (off by default)."""
EXEMPT_PATHS = ("/health", "/ready", "/metrics")


def parse_limits(text: str) -> dict[str, Limit]:
    """`"integrator=200/400,analyst=5/10"` as `{role: Limit(per_second, burst)}`."""
    limits = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, _, spec = part.partition("=")
        rate, _, burst = spec.partition("/")
        try:
            per_second, most = float(rate), int(burst)
        except ValueError:
            msg = f"{part!r} is not a rate limit; write ROLE=PER_SECOND/BURST, e.g. analyst=5/10."
            raise ValueError(msg) from None
        limits[role.strip()] = Limit(per_second, most)
    return limits


KeyLookup = Callable[[str], tuple[str, str] | None]
"""A bearer token to its live key's `(prefix, role)`, or None."""


def key_store_lookup(engine: Engine) -> KeyLookup:
    """Look keys up in the database behind `engine`."""

    def lookup(token: str) -> tuple[str, str] | None:
        key = authenticate(SqlUnitOfWork(engine), token)
        return None if key is None else (key.prefix, key.role)

    return lookup


class RateLimit:
    """ASGI middleware: refuse requests over their key's (or address's) rate with 429."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        engine: Engine | None = None,
        lookup: KeyLookup | None = None,
        limits: Mapping[str, Limit] | None = None,
        default: Limit = DEFAULT_LIMIT,
        anonymous: Limit | None = None,
        store: LimitStore | None = None,
        exempt: Sequence[str] = EXEMPT_PATHS,
        cache_seconds: float = 60.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if lookup is None:
            if engine is None:
                msg = "RateLimit needs the engine of the key store, or a lookup."
                raise ValueError(msg)
            lookup = key_store_lookup(engine)
        self.app, self.lookup, self.clock = app, lookup, clock  # the clock of the key cache
        self.limits, self.default, self.anonymous = dict(limits or {}), default, anonymous
        self.store = store or LimitStore()
        self.exempt, self.cache_seconds, self.max_entries = (
            tuple(exempt),
            cache_seconds,
            max_entries,
        )
        # By a digest of the token, so no secret is kept; `(until, (prefix, role) or None)`.
        self.keys: OrderedDict[bytes, tuple[float, tuple[str, str] | None]] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        name, limit = await self._caller(scope)
        if limit is not None and not await self.store.hit(limit.item, name):
            wait = await self.store.wait(limit.item, name)
            await self._refuse(limit, wait)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _caller(self, scope: Scope) -> tuple[str, Limit | None]:
        """Whose requests this one counts among: its key's, or its address's (None: no limit)."""
        address = f"ip:{scope['client'][0] if scope.get('client') else 'unknown'}"
        token = _bearer(scope)
        if token is None:
            return address, self.anonymous
        now = self.clock()
        digest = hashlib.sha256(token.encode()).digest()
        cached = self.keys.get(digest)
        if cached is None or cached[0] <= now:
            anonymous = self.anonymous
            if anonymous is not None and not await self.store.has_room(anonymous.item, address):
                return address, anonymous  # guessing keys from here: no lookup
            key = await anyio.to_thread.run_sync(self.lookup, token)
            cached = (now + self.cache_seconds, key)
            _remember(self.keys, digest, cached, self.max_entries)
        key = cached[1]
        if key is None:
            return address, self.anonymous
        prefix, role = key
        return f"key:{prefix}", self.limits.get(role, self.default)

    @staticmethod
    def _refuse(limit: Limit, wait: float) -> ASGIApp:
        seconds = max(1, math.ceil(wait))
        response = error_response(
            RateLimited(
                f"Too many requests: this key may send {limit.per_second:g} per second "
                f"(bursts of {limit.burst}). Retry after {seconds} s.",
                per_second=limit.per_second,
                burst=limit.burst,
                retry_after=seconds,
            )
        )
        response.headers["Retry-After"] = str(seconds)
        return response


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def _remember(store: OrderedDict[Any, Any], key: Any, value: Any, most: int) -> None:
    """Keep `value` as the newest entry, forgetting the oldest beyond `most`."""
    store[key] = value
    store.move_to_end(key)
    while len(store) > most:
        store.popitem(last=False)


class InFlightLimit:
    """ASGI middleware: refuse work past `most` requests in progress in this worker with 503.

    A worker that takes every request builds a queue without end under overload: requests wait
    longer than their callers do, and it spends its time on answers nobody reads. Refusing at once
    keeps what it does accept fast, and tells the caller to come back (writes are idempotent).
    It is the outermost layer, so a refusal costs next to nothing: it is not logged one by one
    (a log line each would add to the overload) but counted by `refused`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        most: int,
        refused: Callable[[], Any] = lambda: None,
        exempt: Sequence[str] = EXEMPT_PATHS,
    ) -> None:
        if most < 1:
            msg = f"The in-flight limit must be at least 1; got {most}."
            raise ValueError(msg)
        self.app, self.most, self.refused, self.exempt = app, most, refused, tuple(exempt)
        self.in_flight = 0  # one event loop per worker: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.most:
            self.refused()
            await self._refuse()(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    def _refuse(self) -> ASGIApp:
        response = error_response(
            Overloaded(
                f"The server is busy ({self.most} requests in progress in this worker). Retry "
                "after 1 s; a write sent again with the same id is applied once.",
                in_flight_limit=self.most,
                retry_after=1,
            )
        )
        response.headers["Retry-After"] = "1"
        return response
