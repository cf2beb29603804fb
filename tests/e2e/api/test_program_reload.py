"""A running server serves a newly activated program version without a restart.

The CLI (or another process) installs a version; every worker checks the active version at most
every `JIFEN_PROGRAM_CHECK_SECONDS` and serves the new one from its next check on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from jifen.api.program_cache import ProgramCache
from jifen.bootstrap import create_app
from jifen.config import Settings
from jifen.programs.schema import Program
from jifen.services.keys import ROLES, create_key
from jifen.services.programs import install_program
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, Api, resident_id


def capped(railway: Program, max_points: int) -> Program:
    """The railway program with activity points capped at `max_points` per event."""
    rules = list(railway.earning_rules)
    at = next(n for n, rule in enumerate(rules) if rule.code == "activity_reported")
    effect = rules[at].effect
    limits = effect.event_points.model_copy(update={"max_points": max_points})  # type: ignore[union-attr]
    rules[at] = rules[at].model_copy(
        update={"effect": effect.model_copy(update={"event_points": limits})}
    )
    return railway.model_copy(update={"earning_rules": tuple(rules)})


@pytest.fixture
def served(engine: Engine, vault_keys: tuple[str, str], railway: Program) -> Iterator[Api]:
    """The API with the railway program, checking the active version on every request."""
    install_program(SqlUnitOfWork(engine), program=railway, source="preset:railway")
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        vault_keys=vault_keys[0],
        hash_key=vault_keys[1],
        simulated_clock=True,
        rate_limits="default=100000/100000",
        program_check_seconds=0,
    )
    keys = {
        role: create_key(SqlUnitOfWork(engine), role=role, label="test", now=T0).token
        for role in ROLES
    }
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, keys)
    app.state.jifen.engine.dispose()


def activity(api: Api, member_id: int, event_id: str, points: int) -> int:
    """Send an activity reporting `points`; the points credited."""
    event = {
        "id": event_id,
        "type": "activity.completed",
        "occurred_at": "2025-01-06T10:00:00+08:00",
        "data": {"member_id": member_id, "activity": "survey", "points": points},
    }
    response = api.post("/v1/events", {"events": [event]}, role="integrator")
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["status"] == "applied", result
    member = api.get(f"/v1/members/{member_id}").json()
    return member["balances"]["activity"]


def enrol(api: Api) -> int:
    body = {
        "name": "张三",
        "id_type": "resident_id",
        "id_number": resident_id(date(1990, 3, 7), 321),
        "birth_date": "1990-03-07",
    }
    response = api.post("/v1/members", body, role="operator")
    assert response.status_code == 201, response.text
    return response.json()["member_id"]


def test_a_version_installed_while_the_server_runs_is_served_without_a_restart(
    served: Api, engine: Engine, railway: Program
) -> None:
    assert api_version(served) == (1, 1)
    assert served.post("/v1/clock", {"now": "2025-01-06T10:00:00+08:00"}).status_code == 200
    member = enrol(served)
    assert activity(served, member, "survey-1", 80) == 80

    install_program(SqlUnitOfWork(engine), program=capped(railway, 50), source="test")

    assert api_version(served) == (2, 2)
    assert served.get("/v1/program").json()["program"]["earning_rules"][-1]["effect"][
        "event_points"
    ] == {"min_points": 1, "max_points": 50}
    assert activity(served, member, "survey-2", 80) == 80 + 50


def api_version(api: Api) -> tuple[int, int]:
    """The version `/ready` and `GET /v1/program` say the worker serves."""
    ready = api.client.get("/ready").json()
    program = api.get("/v1/program", role="analyst").json()
    assert (ready["program"], program["code"]) == ("railway", "railway")
    return ready["program_version"], program["version"]


def test_a_worker_checks_the_active_version_at_most_once_per_interval(
    engine: Engine, railway: Program
) -> None:
    install_program(SqlUnitOfWork(engine), program=railway, source="preset:railway")
    now = [100.0]
    cache = ProgramCache(engine, interval=2.0, clock=lambda: now[0])
    assert cache.current().version == 1

    install_program(SqlUnitOfWork(engine), program=capped(railway, 50), source="test")
    now[0] += 1.9
    assert cache.current().version == 1, "within the interval the worker reads nothing"
    now[0] += 0.1
    assert cache.current().version == 2
    assert cache.program().earning_rules[-1].effect.event_points.max_points == 50  # type: ignore[union-attr]
