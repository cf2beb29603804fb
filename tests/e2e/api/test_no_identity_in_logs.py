"""No ID number or phone in the logs of a real server, on SQLite and PostgreSQL (SPEC §3).

A real server, with everything it writes (access lines and application logs) captured, goes
through a full run. It is started twice: as `jifen serve` (the product's logging) and as plain
uvicorn with its own access log and every logger at DEBUG. The run: enrolments with phones,
refusals (`member_exists`, `invalid_identity`, `under_age`, validation errors, malformed JSON),
events naming riders by identity, beneficiaries, an erasure and a second enrolment of the erased
person. Then the whole log is searched for every ID number and phone that was sent. The export is
left out on purpose: its answer holds them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import Engine

from jifen.programs.schema import Program
from jifen.services.keys import create_key
from jifen.services.programs import install_program
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, T0, resident_id
from tests.integration.services.test_events import ticket

BORN = date(1990, 3, 7)
DAY = datetime(2025, 5, 10, 9, tzinfo=SHANGHAI)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Run:
    """A client of the server that remembers every ID number and phone it sends."""

    client: httpx2.Client
    keys: dict[str, str]
    secrets: set[str] = field(default_factory=set)
    n: int = 0

    def send(self, method: str, path: str, body: Any = None, role: str = "admin") -> Any:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        response = self.client.request(method, path, json=body, headers=headers)
        assert response.status_code < 500, response.text
        return response

    def person(self, serial: int, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "张三",
            "id_type": "resident_id",
            "id_number": resident_id(BORN, serial),
            "birth_date": BORN.isoformat(),
            "phone": f"139{serial:08d}",
            **fields,
        }
        self.secrets.update(v for k, v in body.items() if k in {"id_number", "phone"} and v)
        return body

    def enrol(self, body: dict[str, Any], status: int = 201, code: str | None = None) -> Any:
        response = self.send("POST", "/v1/members", body, role="operator")
        assert response.status_code == status, response.text
        if code is not None:
            assert response.json()["error"]["code"] == code
        return response.json()

    def events(self, *events: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.send("POST", "/v1/events", {"events": list(events)}, role="integrator")
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def event(self, type_: str, when: datetime, data: dict[str, Any]) -> dict[str, Any]:
        self.n += 1
        return {"id": f"log-{self.n}", "type": type_, "occurred_at": when.isoformat(), "data": data}


@dataclass
class Server:
    """A `jifen serve` subprocess writing everything to `log`."""

    process: subprocess.Popen[bytes]
    log: Path
    url: str

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx2.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"the server did not answer within {timeout} s:\n{self.output()}")

    def stop(self) -> None:
        self.process.terminate()  # a graceful stop: everything logged is flushed
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


LAUNCHERS = {
    # The product's own command, with its own logging set-up.
    "jifen serve": ["-m", "jifen", "serve", "--simulated-clock", "--port"],
    # Plain uvicorn with its default access log and everything down to DEBUG.
    "uvicorn debug": [
        "-m",
        "uvicorn",
        "jifen.bootstrap:create_app",
        "--factory",
        "--log-level",
        "debug",
        "--port",
    ],
}


@pytest.fixture(params=sorted(LAUNCHERS))
def server(
    request: pytest.FixtureRequest,
    engine: Engine,
    railway: Program,
    vault_keys: tuple[str, str],
    tmp_path: Path,
) -> Iterator[tuple[Server, dict[str, str]]]:
    """A sandbox server on the test's database, with an admin, operator and integrator key."""
    install_program(SqlUnitOfWork(engine), program=railway, source="preset:railway")
    keys = {
        role: create_key(SqlUnitOfWork(engine), role=role, label="logs", now=T0).token
        for role in ("admin", "operator", "integrator")
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIFEN_")}
    env |= {
        "JIFEN_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "JIFEN_VAULT_KEYS": vault_keys[0],
        "JIFEN_HASH_KEY": vault_keys[1],
        "JIFEN_SIMULATED_CLOCK": "true",
        "NO_COLOR": "1",
    }
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
            [sys.executable, *LAUNCHERS[request.param], str(port)],
            cwd=tmp_path,  # no .env of the repository is read
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = Server(process, log, f"http://127.0.0.1:{port}")
    try:
        running.wait_healthy()
        yield running, keys
    finally:
        running.stop()


def _full_run(run: Run) -> None:
    run.send("POST", "/v1/clock", {"now": DAY.isoformat()})
    rider = run.enrol(run.person(1))["member_id"]
    other = run.enrol(run.person(2))["member_id"]
    run.enrol(run.person(1), 409, "member_exists")
    wrong_digit = run.person(3)
    wrong_digit["id_number"] = wrong_digit["id_number"][:-1] + (
        "0" if wrong_digit["id_number"][-1] != "0" else "1"
    )
    run.secrets.add(wrong_digit["id_number"])
    run.enrol(wrong_digit, 422, "invalid_identity")
    run.enrol(run.person(4, phone="12012345678"), 422, "invalid_identity")
    child = run.person(5, birth_date="2020-01-01", id_number=resident_id(date(2020, 1, 1), 5))
    run.enrol(child, 422)
    run.enrol(run.person(6, id_number="1" * 40 + "X"), 422, "validation_error")
    malformed = f'{{"name": "张三", "id_number": "{resident_id(BORN, 7)}", '
    run.secrets.add(resident_id(BORN, 7))
    response = run.client.post(
        "/v1/members",
        content=malformed.encode(),
        headers={
            "Authorization": f"Bearer {run.keys['operator']}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400, response.text

    by_identity = {"id_type": "resident_id", "id_number": resident_id(BORN, 1)}
    stranger = {"id_type": "resident_id", "id_number": resident_id(BORN, 8)}
    run.secrets.add(stranger["id_number"])
    trip = ticket("LOG-1", departure=DAY + timedelta(hours=1), passenger=by_identity)
    claim = ticket("LOG-2", departure=DAY + timedelta(hours=2), passenger=stranger)
    bad = ticket("LOG-3", departure=DAY, passenger={**stranger, "id_type": "library_card"})
    run.send("POST", "/v1/clock", {"now": (DAY + timedelta(hours=8)).isoformat()})  # trips done
    results = run.events(
        run.event("ticket.purchased", DAY, trip),
        run.event("ticket.travelled", DAY + timedelta(hours=6), {"ticket_id": "LOG-1"}),
        run.event("ticket.travelled", DAY + timedelta(hours=7), claim),
        run.event("ticket.purchased", DAY, bad),
    )
    assert [r["status"] for r in results] == ["applied", "applied", "rejected", "rejected"]
    assert [r["error"]["code"] for r in results[2:]] == ["rider_not_member", "invalid_event"]

    beneficiary = run.person(9)
    named = {"id": "b-1", **{k: beneficiary[k] for k in ("name", "id_type", "id_number")}}
    assert run.send("POST", f"/v1/members/{rider}/beneficiaries", named).status_code == 201
    itself = {**named, "id": "b-2", "id_number": resident_id(BORN, 2)}
    assert run.send("POST", f"/v1/members/{other}/beneficiaries", itself).status_code == 422
    assert run.send("GET", f"/v1/members/{rider}").status_code == 200

    erased = run.send("POST", f"/v1/members/{rider}/erase", {"reason": "Asked to be forgotten"})
    assert erased.status_code == 200, erased.text
    again = run.enrol(run.person(1))["member_id"]
    assert again != rider
    assert run.send("GET", f"/v1/members/{again}").status_code == 200


def test_a_full_run_logs_no_id_number_or_phone(server: tuple[Server, dict[str, str]]):
    running, keys = server
    with httpx2.Client(base_url=running.url, timeout=30) as client:
        run = Run(client, keys)
        _full_run(run)
    running.stop()

    logged = running.output()

    assert "/v1/members" in logged, f"no request was logged:\n{logged[:2000]}"
    assert "/erase" in logged
    leaked = sorted(s for s in run.secrets if s in logged)
    assert not leaked, f"{len(leaked)} ID numbers or phones are in the log"
    assert len(run.secrets) >= 12
