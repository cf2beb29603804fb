"""Rate limits kept in Redis hold across workers and servers; without Redis, each worker limits.

On the real Redis at 127.0.0.1:6379 (JIFEN_TEST_REDIS_URL), each test under its own key prefix so
runs never meet. Two app instances sharing Redis stand for two servers; `jifen serve --workers 2`
is started for real to show a key gets its configured limit, not twice it.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from jifen.api.limit_store import LimitStore
from jifen.api.ratelimit import Limit, RateLimit
from jifen.bootstrap import create_app
from jifen.config import Settings
from jifen.services.keys import create_key
from jifen.storage.db import make_engine
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import IN_CI, T0, Api

LOGGER = "jifen.api.limit_store"
REDIS_URL = os.environ.get("JIFEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PATIENT = "socket_timeout=5&socket_connect_timeout=5"  # a busy test machine is no outage
STORE_URL = f"{REDIS_URL}{'&' if '?' in REDIS_URL else '?'}{PATIENT}"
THREE = Limit(per_second=0.3, burst=3)  # three in any ten seconds: no test lasts that long


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the test Redis; its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"Redis at {REDIS_URL} did not answer ({type(error).__name__})"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires the Redis tests to run.", pytrace=False)
        pytest.skip(message)
    prefix = f"jifen-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def limited(api: Api, store: LimitStore) -> TestClient:
    """A client of the test's app behind a limiter of three requests per key, counted in `store`."""
    engine = api.client.app.state.jifen.engine  # type: ignore[attr-defined]
    return TestClient(RateLimit(api.client.app, engine=engine, default=THREE, store=store))


def test_two_servers_sharing_redis_share_each_keys_limit(api: Api, redis_prefix: str):
    servers = [limited(api, LimitStore(STORE_URL, prefix=redis_prefix)) for _ in range(2)]
    headers = api.headers("integrator")

    with servers[0] as one, servers[1] as two:
        codes = [c.get("/v1/clock", headers=headers).status_code for c in (one, two) * 3]
        other_key = one.get("/v1/clock", headers=api.headers("operator")).status_code

    assert codes == [200, 200, 200, 429, 429, 429]  # three in all, not three each
    assert other_key == 200


def test_in_memory_each_server_keeps_its_own_count(api: Api):
    servers = [limited(api, LimitStore("memory://")) for _ in range(2)]
    headers = api.headers("integrator")

    with servers[0] as one, servers[1] as two:
        codes = [c.get("/v1/clock", headers=headers).status_code for c in (one, two) * 4]

    assert codes == [200] * 6 + [429] * 2  # three each: why Redis is the production setting


def test_the_app_counts_in_the_redis_its_settings_name(
    api: Api, engine, vault_keys: tuple[str, str], redis_prefix: str
):
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        vault_keys=vault_keys[0],
        hash_key=vault_keys[1],
        simulated_clock=True,
        rate_limits="default=0.3/3",
        rate_limit_storage=STORE_URL,
        rate_limit_prefix=redis_prefix,
    )
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            codes = [
                client.get("/v1/clock", headers=api.headers("analyst")).status_code
                for _ in range(4)
            ]
            refused = client.get("/v1/clock", headers=api.headers("analyst"))
    finally:
        app.state.jifen.engine.dispose()

    assert codes == [200, 200, 200, 429]
    assert refused.json()["error"]["details"]["burst"] == 3
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    stored = redis.Redis.from_url(REDIS_URL).keys(f"{redis_prefix}:*")
    assert stored  # counted there, not in the worker
    assert Settings(database_url="sqlite://").rate_limit_storage == "memory://"


def test_while_redis_does_not_answer_each_server_limits_in_memory_and_says_so(
    api: Api, caplog: pytest.LogCaptureFixture
):
    fallbacks: list[None] = []
    nowhere = f"redis://:secret@127.0.0.1:{_free_port()}/0"
    store = LimitStore(nowhere, fell_back=lambda: fallbacks.append(None))
    headers = api.headers("integrator")

    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        limited(api, store) as client,
    ):
        codes = [client.get("/v1/clock", headers=headers).status_code for _ in range(5)]

    assert codes == [200, 200, 200, 429, 429]  # served, and still limited, per server
    assert len(fallbacks) == 5  # each request counted in memory is counted in the metric
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once per outage, not once per request
    assert "does not answer" in warnings[0].getMessage()
    assert "secret" not in caplog.text


def test_once_redis_answers_again_limits_are_shared_again(
    api: Api, redis_prefix: str, caplog: pytest.LogCaptureFixture
):
    port, real = _free_port(), urlsplit(STORE_URL)
    later = real._replace(netloc=f"127.0.0.1:{port}").geturl()  # Redis, once it answers there
    store = LimitStore(later, prefix=redis_prefix, retry_seconds=0.2)
    other = LimitStore(STORE_URL, prefix=redis_prefix)
    headers = api.headers("integrator")

    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        limited(api, store) as client,
    ):
        assert client.get("/v1/clock", headers=headers).status_code == 200  # in memory
        with _forward(port, (real.hostname or "127.0.0.1", real.port or 6379)):
            time.sleep(0.3)
            with limited(api, other) as elsewhere:
                shared = [
                    c.get("/v1/clock", headers=headers).status_code for c in (client, elsewhere) * 2
                ]

    assert shared == [200, 200, 200, 429]  # the memory's request is not in Redis's count
    assert any("answers again" in r.getMessage() for r in caplog.records)


# -- `jifen serve --workers 2` on Redis -----------------------------------------------------------


def test_a_key_gets_its_limit_across_the_workers_of_jifen_serve(
    sqlite_template: Path, tmp_path: Path, vault_keys: tuple[str, str], redis_prefix: str
):
    database = tmp_path / "jifen.db"
    shutil.copyfile(sqlite_template, database)
    engine = make_engine(f"sqlite:///{database}")
    token = create_key(SqlUnitOfWork(engine), role="integrator", label="test", now=T0).token
    engine.dispose()
    shared, port = tmp_path / "metrics", _free_port()
    shared.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIFEN_")}
    env.update(
        JIFEN_DATABASE_URL=f"sqlite:///{database}",
        JIFEN_VAULT_KEYS=vault_keys[0],
        JIFEN_HASH_KEY=vault_keys[1],
        JIFEN_RATE_LIMITS="default=0.1/30",  # 30 in any 300 seconds: no refill during the test
        JIFEN_RATE_LIMIT_STORAGE=STORE_URL,
        JIFEN_RATE_LIMIT_PREFIX=redis_prefix,
        PROMETHEUS_MULTIPROC_DIR=str(shared),
    )
    server = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "jifen", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base, codes = f"http://127.0.0.1:{port}", Counter[int]()
    try:
        _wait_for(f"{base}/health", server)

        def call(_: int) -> int:  # a new connection each time, so both workers answer some
            headers = {"Authorization": f"Bearer {token}"}
            return httpx2.get(f"{base}/v1/clock", headers=headers, timeout=30).status_code

        deadline = time.monotonic() + 60
        with ThreadPoolExecutor(8) as pool:  # twice the limit, and until both workers answered
            while time.monotonic() < deadline and (
                codes.total() < 60 or len(_answered_by_worker(shared)) < 2
            ):
                codes.update(pool.map(call, range(20)))
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)

    answered = _answered_by_worker(shared)
    assert len(answered) == 2, f"one worker answered every request: {answered}"
    assert sum(answered.values()) == codes.total() >= 60
    assert codes[200] == 30, err  # the configured 30, not 30 per worker
    assert codes[429] == codes.total() - 30


def _answered_by_worker(folder: Path) -> dict[str, float]:
    """`GET /v1/clock` requests each worker answered, from its own multiprocess metrics file."""
    answered = {}
    for file in folder.glob("counter_*.db"):
        alone = folder.with_name(f"{folder.name}-{file.stem}")
        alone.mkdir(exist_ok=True)
        shutil.copy(file, alone)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        count = sum(
            sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == "jifen_http_requests_total" and sample.labels["route"] == "/v1/clock"
        )
        if count:
            answered[file.stem] = count
    return answered


def _wait_for(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx2.get(url).status_code == 200:
                return
        except httpx2.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Forward(socketserver.ThreadingTCPServer):
    daemon_threads = allow_reuse_address = True
    target: tuple[str, int]


class _Pipe(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        with socket.create_connection(self.server.target) as upstream:  # type: ignore[attr-defined]
            threading.Thread(target=_copy, args=(upstream, self.request), daemon=True).start()
            _copy(self.request, upstream)


def _copy(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        target.close()


@contextmanager
def _forward(port: int, target: tuple[str, int]) -> Iterator[None]:
    """Connections to `port` reach `target` while the block runs: Redis answers again there."""
    server = _Forward(("127.0.0.1", port), _Pipe)
    server.target = target
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
