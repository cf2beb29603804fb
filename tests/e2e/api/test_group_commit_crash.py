"""A server killed under load loses no event it answered (group commit answers after the commit).

`jifen serve --workers 2` on PostgreSQL takes one-event `POST /v1/events` requests from many
clients at once (each worker gathers them into group-commit batches); the whole process group
is killed with SIGKILL mid-load. Every event answered `applied` must be stored with its points,
the ledger must check, and sending everything again afterwards applies each event exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import httpx2
import pytest

from jifen.services.events import apply_events
from jifen.services.keys import create_key
from jifen.services.ledger_check import check_ledger
from jifen.services.programs import install_program
from jifen.services.replay import compare, replay
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine, upgrade
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0
from tests.e2e.api.test_operations import _wait_for, free_port
from tests.e2e.cli.test_crash_safety import Databases
from tests.integration.api.test_group_commit import DAY, purchases
from tests.integration.services.test_events import at

pytestmark = pytest.mark.postgres_only

CLIENTS = 12


def _events(members: list[int]) -> list[dict]:
    """60 purchases per member, interleaved so that every client sends for every member."""
    bought = [purchases(m, f"crash-{m}", 60) for m in members]
    return [event for round_ in zip(*bought, strict=True) for event in round_]


def _serve(url: str, vault_keys: tuple[str, str], folder: Path) -> tuple[subprocess.Popen, str]:
    """`jifen serve --workers 2` in a process group of its own; its base URL once it answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIFEN_")}
    env.update(
        JIFEN_DATABASE_URL=url,
        JIFEN_VAULT_KEYS=vault_keys[0],
        JIFEN_HASH_KEY=vault_keys[1],
        JIFEN_RATE_LIMITS="default=100000/100000",
        JIFEN_EVENT_FUTURE_TOLERANCE="P3650D",  # the events are dated 2025 by the real clock
    )
    server = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "jifen", "serve", "--port", str(port), "--workers", "2"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_for(f"{base}/health")
    return server, base


class Load:
    """Clients sending one event per request; the ids answered `applied`."""

    def __init__(self, base: str, token: str, events: list[dict]) -> None:
        self.base, self.token = base, token
        self.answered: list[str] = []
        self.lock = threading.Lock()
        self.clients = [
            threading.Thread(target=self._send, args=(events[n::CLIENTS],)) for n in range(CLIENTS)
        ]
        for thread in self.clients:
            thread.start()

    def _send(self, share: list[dict]) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx2.Client(base_url=self.base, timeout=30) as http:
            for event in share:
                try:
                    response = http.post("/v1/events", json={"events": [event]}, headers=headers)
                except httpx2.TransportError:
                    return  # the server is gone
                if response.status_code == 200:
                    (result,) = response.json()["results"]
                    if result["status"] == "applied":
                        with self.lock:
                            self.answered.append(event["id"])

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while len(self.answered) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def join(self) -> None:
        for thread in self.clients:
            thread.join(timeout=60)


def test_a_server_killed_under_load_keeps_every_event_it_answered(
    engine, railway, vault_keys, enrol_member, tmp_path: Path
):
    install_program(SqlUnitOfWork(engine), program=railway, source="preset:railway")
    members = [enrol_member(date(1980 + n, 3, 7)) for n in range(10)]
    token = create_key(SqlUnitOfWork(engine), role="integrator", label="crash", now=T0).token
    events = _events(members)
    server, base = _serve(engine.url.render_as_string(hide_password=False), vault_keys, tmp_path)
    try:
        load = Load(base, token, events)
        load.wait_for(150)
        os.killpg(server.pid, signal.SIGKILL)  # the workers too: all at once, mid-load
        load.join()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)

    answered = load.answered
    assert len(answered) >= 150, "the load never got going"
    assert len(answered) < len(events), "the kill came after the load: nothing was at risk"
    uow = SqlUnitOfWork(engine)
    with uow:
        lost = [event_id for event_id in answered if uow.events.get(event_id) is None]
        unpaid = [e for e in answered if uow.ledger.find_by_key(f"{e}:ride") is None]
    assert lost == [], f"{len(lost)} answered events were lost"
    assert unpaid == []
    assert check_ledger(uow).ok

    vault = IdentityVault([vault_keys[0]], vault_keys[1])
    again = apply_events(
        SqlUnitOfWork(engine),
        program=railway,
        vault=vault,
        raw_events=events,
        received_at=at(DAY, 9),
    )
    assert {r.id for r in again if r.status == "duplicate"} >= set(answered)
    assert all(r.status in {"applied", "duplicate"} for r in again)
    with uow:
        posted = [e["id"] for e in events if uow.ledger.find_by_key(f"{e['id']}:ride")]
    assert len(posted) == len(events)  # each once: a key is unique
    assert check_ledger(uow).ok

    # What the killed server journaled rebuilds the same books (SPEC §2 invariant 5).
    databases = Databases(engine, tmp_path)
    try:
        rebuilt = make_engine(databases.fresh("group_commit_replayed"))
        upgrade(rebuilt)
        target = SqlUnitOfWork(rebuilt)
        assert replay(uow, target, vault=vault).refused == []
        assert compare(uow, target) == []
        rebuilt.dispose()
    finally:
        databases.drop()
