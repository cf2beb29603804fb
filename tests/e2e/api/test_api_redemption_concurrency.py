"""Concurrent redemptions over HTTP on PostgreSQL: no overdraft, no double hold, no 5xx.

These run against a server on the wall clock: the sandbox clock is read through one shared unit of
work, which is meant for one request at a time. The member joined 30 days ago and rode four trips
of ¥553.50 since (11,072 ride points, redemption unlocked); every ticket leaves in 30 days.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from jifen.bootstrap import create_app
from jifen.config import Settings
from jifen.domain.calendar import local_date
from jifen.programs.schema import Program
from jifen.services.clock import Clock
from jifen.services.ledger_check import check_ledger
from jifen.services.programs import install_program
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, Api
from tests.e2e.api.test_api_contract import trip
from tests.e2e.api.test_api_redemptions import UNLOCKED, account_total
from tests.integration.services.test_ledger_concurrency import run_together

pytestmark = pytest.mark.postgres_only

THREADS = 30
TODAY = local_date(Clock().now(), "Asia/Shanghai")
DEPARTURE = datetime.combine(TODAY + timedelta(days=30), datetime.min.time(), SHANGHAI)


@pytest.fixture
def server(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Callable[[], TestClient]:
    """Start a wall-clock server on the test's database (the program installed when called)."""
    apps = []

    def start() -> TestClient:
        app = create_app(
            Settings(
                database_url=engine.url.render_as_string(hide_password=False),
                vault_keys=vault_keys[0],
                hash_key=vault_keys[1],
            )
        )
        apps.append(app)
        return TestClient(app, raise_server_exceptions=False)

    yield start
    for app in apps:
        app.state.jifen.engine.dispose()


class Member:
    """A rich member on a running server, and what the test asks of it."""

    def __init__(self, client: TestClient, api: Api, member_id: int) -> None:
        self.client, self.api, self.id = client, api, member_id

    def redeem(self, rid: str, fare_fen: int) -> Any:
        body = {
            "id": rid,
            "member_id": self.id,
            "type": "ticket",
            "passenger": {"member_id": self.id},
            "fare_fen": fare_fen,
            "train": {"number": "G1"},
            "departure_at": DEPARTURE.isoformat(),
        }
        return self.client.post(
            "/v1/redemptions", json=body, headers=self.api.headers("integrator")
        )

    def step(self, rid: str, action: str, step_id: str) -> Any:
        path = f"/v1/redemptions/{rid}/{action}"
        return self.client.post(path, json={"id": step_id}, headers=self.api.headers("operator"))

    def ride_balance(self) -> int:
        response = self.client.get(f"/v1/members/{self.id}", headers=self.api.headers("operator"))
        return response.json()["balances"]["ride"]


@pytest.fixture
def rich(
    server: Callable[[], TestClient], api: Api, enrol_member: Callable[..., int]
) -> Iterator[Member]:
    """A member with 11,072 ride points on a wall-clock server."""
    joined = datetime.combine(TODAY - timedelta(days=30), datetime.min.time(), SHANGHAI)
    member_id = enrol_member(date(1990, 3, 7), joined_at=joined)
    with server() as client:
        member = Member(client, api, member_id)
        days = [TODAY - timedelta(days=d) for d in (20, 19, 18, 17)]
        events = [e for day in days for e in trip(member_id, day)]
        results = client.post(
            "/v1/events", json={"events": events}, headers=api.headers("integrator")
        ).json()["results"]
        assert [r["status"] for r in results] == ["applied"] * 8, results
        assert member.ride_balance() == UNLOCKED
        yield member


def statuses(responses: list[Any]) -> Counter[tuple[int, str]]:
    """How many answers of each status and code; a thread that raised counts as 599."""
    counted: Counter[tuple[int, str]] = Counter()
    for response in responses:
        if isinstance(response, Exception):
            counted[(599, repr(response))] += 1
        elif response.status_code < 300:
            counted[(response.status_code, "ok")] += 1
        else:
            counted[(response.status_code, response.json()["error"]["code"])] += 1
    return counted


def ledger_is_sound(engine: Engine) -> None:
    report = check_ledger(SqlUnitOfWork(engine))
    assert report.ok, report.violations


def test_thirty_redemptions_at_once_never_overdraw(rich: Member, engine: Engine):
    answers = run_together(THREADS, lambda i: rich.redeem(f"r-{i}", 3000))
    assert statuses(answers) == {(201, "ok"): 3, (409, "insufficient_points"): 27}
    assert rich.ride_balance() == UNLOCKED - 9000
    assert account_total(engine, "program:held") == 9000
    ledger_is_sound(engine)


def test_thirty_at_once_stop_at_the_velocity_limit(rich: Member, engine: Engine):
    answers = run_together(THREADS, lambda i: rich.redeem(f"v-{i}", 100))
    assert statuses(answers) == {(201, "ok"): 5, (429, "velocity_limit"): 25}
    assert rich.ride_balance() == UNLOCKED - 500
    ledger_is_sound(engine)


def test_the_same_redemption_sent_thirty_times_at_once_holds_once(rich: Member, engine: Engine):
    answers = run_together(THREADS, lambda _i: rich.redeem("r-same", 3000))
    assert statuses(answers) == {(201, "ok"): THREADS}
    assert len({a.text for a in answers}) == 1
    assert rich.ride_balance() == UNLOCKED - 3000
    assert account_total(engine, "program:held") == 3000
    ledger_is_sound(engine)


def test_commit_and_release_racing_on_one_redemption_settle_it_once(rich: Member, engine):
    assert rich.redeem("r-race", 3000).status_code == 201
    actions = ["commit", "release"]
    answers = run_together(THREADS, lambda i: rich.step("r-race", actions[i % 2], f"s-{i}"))
    counted = statuses(answers)
    assert counted[(200, "ok")] == 1
    assert counted[(409, "invalid_redemption_state")] == THREADS - 1
    held, redeemed = (
        account_total(engine, "program:held"),
        account_total(engine, "program:redeemed"),
    )
    assert (held, redeemed) in {(0, 3000), (0, 0)}
    assert rich.ride_balance() == UNLOCKED - redeemed
    ledger_is_sound(engine)


@pytest.fixture
def unlimited(api: Api, engine: Engine, railway: Program) -> None:
    """The railway program without its daily redemption limit."""
    risk = railway.risk.model_copy(update={"redemptions_per_day": None})
    program = railway.model_copy(update={"risk": risk})
    install_program(SqlUnitOfWork(engine), program=program, source="test:unlimited")


def test_without_a_velocity_limit_thirty_at_once_spend_exactly_the_balance(
    unlimited: None, rich: Member, engine: Engine
):
    answers = run_together(THREADS, lambda i: rich.redeem(f"u-{i}", 500))
    assert statuses(answers) == {(201, "ok"): 22, (409, "insufficient_points"): 8}
    assert rich.ride_balance() == UNLOCKED - 22 * 500 == 72
    assert account_total(engine, "program:held") == 11_000
    ledger_is_sound(engine)
