"""Per-key rate limits over HTTP on SQLite and PostgreSQL: 429 `rate_limited` with Retry-After.

And the in-flight limit per worker: 503 `overloaded`, also with Retry-After.

The limiter wraps the real app with small limits, counted in memory (the default store; Redis
has tests of its own in test_rate_limits_shared.py). Windows are two seconds long, so a burst
over the limit is refused at once, and the few tests of what happens later wait for real. The
clock the test moves is the key cache's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from jifen.api.ratelimit import (
    DEFAULT_LIMIT,
    InFlightLimit,
    KeyLookup,
    Limit,
    RateLimit,
    key_store_lookup,
    parse_limits,
)
from jifen.bootstrap import create_app
from jifen.config import Settings
from jifen.services.keys import revoke_key
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, Api

LIMITS = {"integrator": Limit(per_second=2.5, burst=5), "analyst": Limit(per_second=1, burst=2)}
OTHERS = Limit(per_second=1.5, burst=3)  # operator, admin, partner
ANONYMOUS = Limit(per_second=1, burst=2)
WINDOW = 2  # seconds: every limit above is its burst in any two seconds


@dataclass
class Clock:
    """Monotonic seconds for the key cache, moved by the test."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Counted:
    """The key store lookup, counting the lookups."""

    lookup: KeyLookup
    calls: list[str] = field(default_factory=list)

    def __call__(self, token: str) -> tuple[str, str] | None:
        self.calls.append(token)
        return self.lookup(token)


@dataclass
class Limited:
    """A client of the real app behind a limiter with the test's limits and clock."""

    client: TestClient
    api: Api
    clock: Clock
    lookups: Counted

    def get(self, path: str = "/v1/clock", role: str | None = "integrator", **headers: str):
        if role is not None:
            headers = {**self.api.headers(role), **headers}
        return self.client.get(path, headers=headers)

    def burst(self, n: int, role: str | None = "integrator", **headers: str) -> list[int]:
        return [self.get(role=role, **headers).status_code for _ in range(n)]


@pytest.fixture
def limited(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Iterator[Limited]:
    app = create_app(
        Settings(
            database_url=engine.url.render_as_string(hide_password=False),
            vault_keys=vault_keys[0],
            hash_key=vault_keys[1],
            simulated_clock=True,
        )
    )
    clock = Clock()
    lookups = Counted(key_store_lookup(engine))
    wrapped = RateLimit(
        app, lookup=lookups, limits=LIMITS, default=OTHERS, anonymous=ANONYMOUS, clock=clock
    )
    with TestClient(wrapped, raise_server_exceptions=False) as client:
        yield Limited(client, api, clock, lookups)
    app.state.jifen.engine.dispose()


def test_a_burst_over_the_limit_gets_429_with_retry_after(limited: Limited):
    assert limited.burst(5) == [200] * 5

    refused = limited.get()

    assert refused.status_code == 429
    seconds = int(refused.headers["Retry-After"])
    assert 1 <= seconds <= WINDOW  # until the first of the five is out of the window
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["details"] == {"per_second": 2.5, "burst": 5, "retry_after": seconds}
    assert f"Retry after {seconds} s" in error["message"]


def test_waiting_retry_after_is_enough(limited: Limited):
    limited.burst(2, role="analyst")
    time.sleep(0.2)

    refused = limited.get(role="analyst")

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"  # 1.8 s or a little less, rounded up
    time.sleep(int(refused.headers["Retry-After"]))
    assert limited.get(role="analyst").status_code == 200


def test_requests_out_of_the_window_no_longer_count(limited: Limited):
    assert limited.burst(6) == [200] * 5 + [429]

    time.sleep(WINDOW + 0.1)  # after the last of the five
    assert limited.burst(6) == [200] * 5 + [429]  # a full burst again, not beyond


def test_a_key_sending_at_its_sustained_rate_is_never_refused(limited: Limited):
    codes = []
    for _ in range(7):  # 2.5 per second: one each 0.45 s stays under five in any two seconds
        codes.append(limited.get().status_code)
        time.sleep(0.45)

    assert codes == [200] * 7  # more than one burst's worth, none refused


def test_other_keys_are_not_affected(limited: Limited):
    assert 429 in limited.burst(8)

    assert limited.burst(3, role="operator") == [200] * 3
    assert limited.burst(3, role="admin") == [200] * 3
    assert limited.get(role="integrator").status_code == 429


def test_limits_are_per_role(limited: Limited):
    assert limited.burst(3, role="analyst") == [200, 200, 429]
    assert limited.burst(4, role="partner") == [200, 200, 200, 429]


def test_a_refused_request_does_nothing(limited: Limited, engine: Engine):
    limited.burst(5)
    body = {"name": "张三", "id_type": "resident_id", "id_number": "x", "birth_date": "1990-01-01"}

    headers = limited.api.headers("integrator")
    refused = limited.client.post("/v1/members", json=body, headers=headers)

    assert refused.status_code == 429  # not 422: the app never saw it
    assert refused.json()["error"]["code"] == "rate_limited"


def test_a_key_is_looked_up_once_then_remembered(limited: Limited):
    limited.burst(5)
    limited.clock.now += 30
    limited.burst(3)

    assert len(limited.lookups.calls) == 1
    limited.clock.now += 61  # the memory lasts a minute
    limited.get()
    assert len(limited.lookups.calls) == 2


def test_requests_without_a_live_key_share_a_bucket_per_address(limited: Limited):
    assert limited.get(role="integrator").status_code == 200
    assert limited.burst(2, role=None) == [401, 401]
    assert limited.burst(1, role=None) == [429]
    bad = {"Authorization": "Bearer jf_00000000_" + "a" * 43}
    assert limited.burst(1, role=None, **bad) == [429]
    assert limited.get(role="integrator").status_code == 200  # a live key has its own bucket


def test_guessed_keys_are_refused_without_a_lookup_once_the_address_is_throttled(
    limited: Limited,
):
    guesses = [{"Authorization": f"Bearer jf_{n:08x}_{'a' * 43}"} for n in range(10)]

    codes = [limited.get(role=None, **guess).status_code for guess in guesses]

    assert codes == [401, 401] + [429] * 8
    assert len(limited.lookups.calls) == 2


def test_a_revoked_key_falls_back_to_the_address_bucket(limited: Limited, engine: Engine):
    prefix = limited.api.keys["partner"].split("_")[1]
    revoke_key(SqlUnitOfWork(engine), prefix=prefix, now=T0)

    assert limited.burst(3, role="partner") == [401, 401, 429]


def test_without_an_address_limit_requests_without_a_key_are_only_refused_401(
    api: Api, engine: Engine
):
    clock = Clock()
    lookups = Counted(key_store_lookup(engine))
    wrapped = RateLimit(api.client.app, lookup=lookups, default=OTHERS, clock=clock)
    with TestClient(wrapped, raise_server_exceptions=False) as client:
        bad = {"Authorization": "Bearer jf_00000000_" + "a" * 43}
        codes = {client.get("/v1/clock", headers=bad).status_code for _ in range(10)}
        codes |= {client.get("/v1/clock").status_code for _ in range(10)}
        limited = [client.get("/v1/clock", headers=api.headers()).status_code for _ in range(4)]

    assert codes == {401}
    assert len(lookups.calls) == 2  # the unknown key once (remembered), the admin key once
    assert limited == [200, 200, 200, 429]


def test_health_and_readiness_are_never_limited(limited: Limited):
    codes = [limited.get("/health", role=None).status_code for _ in range(10)]
    assert codes == [200] * 10


def test_the_app_is_served_with_the_default_limits(api: Api):
    layers = [m.cls for m in api.client.app.user_middleware]  # type: ignore[attr-defined]

    assert RateLimit in layers
    assert (DEFAULT_LIMIT.per_second, DEFAULT_LIMIT.burst) == (50, 100)


def test_limits_parse_from_settings_text():
    assert parse_limits("integrator=200/400, analyst=5/10,") == {
        "integrator": Limit(200, 400),
        "analyst": Limit(5, 10),
    }
    with pytest.raises(ValueError, match="ROLE=PER_SECOND/BURST"):
        parse_limits("analyst=fast")
    with pytest.raises(ValueError, match="per_second > 0"):
        parse_limits("analyst=0/10")
    with pytest.raises(ValueError, match="whole seconds"):
        parse_limits("analyst=2/5")  # five in 2.5 s
    with pytest.raises(ValueError, match="whole seconds"):
        parse_limits("analyst=20/10")  # ten in half a second


class Gate:
    """Holds requests carrying `x-hold` until `opened` is set, then passes them on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.opened, self.holding = app, anyio.Event(), 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (b"x-hold", b"1") in scope.get("headers", []):
            self.holding += 1
            await self.opened.wait()
        await self.app(scope, receive, send)


def test_past_the_in_flight_limit_requests_get_503_at_once_and_pass_again_after(api: Api):
    gate = Gate(api.client.app)
    refusals: list[None] = []
    limited = InFlightLimit(gate, most=2, refused=lambda: refusals.append(None))
    headers = api.headers("integrator")

    async def scenario() -> tuple[list[int], Any, int, list[int]]:
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://jifen") as client:
            held: list[int] = []

            async def hold() -> None:
                answer = await client.get("/v1/clock", headers={**headers, "x-hold": "1"})
                held.append(answer.status_code)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(hold)
                tasks.start_soon(hold)
                while gate.holding < 2:
                    await anyio.sleep(0.01)
                refused = await client.get("/v1/clock", headers=headers)
                health = (await client.get("/health")).status_code
                gate.opened.set()
            after = [(await client.get("/v1/clock", headers=headers)).status_code for _ in range(3)]
        return held, refused, health, after

    with ThreadPoolExecutor(1) as own_thread:  # the browser tests' Playwright holds this one's loop
        held, refused, health, after = own_thread.submit(anyio.run, scenario).result(timeout=60)

    assert held == [200, 200]
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    error = refused.json()["error"]
    assert error["code"] == "overloaded"
    assert error["details"] == {"in_flight_limit": 2, "retry_after": 1}
    assert health == 200  # liveness is never refused
    assert after == [200, 200, 200]  # the count went back down
    assert limited.in_flight == 0
    assert len(refusals) == 1  # counted for the metrics


def test_the_app_is_served_with_an_in_flight_limit_from_settings(
    engine: Engine, vault_keys: tuple[str, str]
):
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(
        database_url=url, vault_keys=vault_keys[0], hash_key=vault_keys[1], max_in_flight=7
    )
    app = create_app(settings)
    try:
        outermost = app.user_middleware[0]
        assert (outermost.cls, outermost.kwargs["most"]) == (InFlightLimit, 7)
        assert Settings(database_url=url).max_in_flight == 32
        with pytest.raises(ValueError, match="greater than or equal to 1"):
            Settings(database_url=url, max_in_flight=0)
    finally:
        app.state.jifen.engine.dispose()
