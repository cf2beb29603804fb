"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, insert, text
from sqlalchemy.engine import make_url

from jifen.bootstrap import create_app
from jifen.config import Settings
from jifen.domain.identity import check_character
from jifen.programs.loader import load_preset
from jifen.programs.schema import Program
from jifen.services.keys import ROLES, create_key
from jifen.services.members import enrol
from jifen.services.programs import install_program
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine, upgrade
from jifen.storage.tables import members, metadata
from jifen.storage.uow import SqlUnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 1, 6, 9, 30, tzinfo=SHANGHAI)
POSTGRES_URL = os.environ.get(
    "JIFEN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
DATABASES = [
    name.strip()
    for name in os.environ.get("JIFEN_TEST_DATABASES", "sqlite,postgresql").split(",")
    if name.strip()
]
"""The databases storage tests run on; `JIFEN_TEST_DATABASES=sqlite` (`make test-fast`) limits."""
if not DATABASES or set(DATABASES) - {"sqlite", "postgresql"}:
    raise ValueError(f"JIFEN_TEST_DATABASES names sqlite and/or postgresql, not {DATABASES}")


def _postgres_unavailable(reason: str) -> None:
    message = f"PostgreSQL at {POSTGRES_URL} did not answer ({reason})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires the PostgreSQL tests to run.", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"jifen_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - any failure to reach the server means "no server"
        admin.dispose()
        _postgres_unavailable(type(error).__name__)
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "jifen.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


def reset_database(engine: Engine) -> None:
    """Empty every table (used between hypothesis examples on one database)."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                connection.execute(delete(table))


def _sqlite_engine(template: Path, tmp_path: Path) -> Engine:
    path = tmp_path / "jifen.db"
    shutil.copyfile(template, path)
    return make_engine(f"sqlite:///{path}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run `postgres_only` tests (real row locks, concurrent writers) on PostgreSQL alone."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_sqlite = callspec is not None and callspec.params.get("engine") == "sqlite"
        (drop if on_sqlite and item.get_closest_marker("postgres_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(params=DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated database: the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        db = _sqlite_engine(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        db = make_engine(request.getfixturevalue("postgres_url"))
        reset_database(db)
    yield db
    db.dispose()


@pytest.fixture
def uow(engine: Engine) -> SqlUnitOfWork:
    """A unit of work on the test's database."""
    return SqlUnitOfWork(engine)


@pytest.fixture
def new_member(engine: Engine) -> Callable[[], int]:
    """Make a bare member (joined at T0) and return its id."""

    def make() -> int:
        with engine.begin() as connection:
            result = connection.execute(insert(members).values(joined_at=T0))
            return int(result.inserted_primary_key[0])

    return make


@pytest.fixture(scope="session")
def vault_keys() -> tuple[str, str]:
    """An encryption key and a hash key made for this test session."""
    return IdentityVault.generate_key(), IdentityVault.generate_key()


@pytest.fixture(scope="session")
def vault(vault_keys: tuple[str, str]) -> IdentityVault:
    """An identity vault with the session's keys (the API fixture uses the same)."""
    return IdentityVault([vault_keys[0]], vault_keys[1])


@pytest.fixture(scope="session")
def railway() -> Program:
    """The shipped railway preset."""
    return load_preset("railway")


def resident_id(birth: date, serial: int = 123, region: str = "110101") -> str:
    """A valid 18-digit resident ID number for someone born on `birth`."""
    body = f"{region}{birth:%Y%m%d}{serial:03d}"
    return body + check_character(body)


@pytest.fixture
def enrol_member(uow: SqlUnitOfWork, railway: Program, vault: IdentityVault) -> Callable[..., int]:
    """Enrol a railway member born on `birth` (joined at T0 unless told) and return the id."""
    serials = iter(range(100, 1000))

    def make(
        birth: date = date(1990, 3, 7),
        *,
        joined_at: datetime = T0,
        id_type: str = "resident_id",
        id_number: str | None = None,
    ) -> int:
        number = id_number or resident_id(birth, next(serials))
        return enrol(
            uow,
            program=railway,
            vault=vault,
            name="张三",
            id_type=id_type,
            id_number=number,
            birth_date=birth,
            phone=None,
            joined_at=joined_at,
        ).member_id

    return make


@dataclass
class Api:
    """A test client on the test's database, with a key for every role."""

    client: TestClient
    keys: dict[str, str]

    def headers(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def get(self, path: str, role: str = "admin", **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(role), **kw)

    def post(self, path: str, body: Any = None, role: str = "admin", **kw: Any) -> Any:
        return self.client.post(path, json=body, headers=self.headers(role), **kw)

    def send_events(self, events: list[Any], role: str = "integrator") -> Any:
        """POST /v1/events as an integrator sends them: once the batch's last event has happened.

        Jifen refuses events dated after its clock (`event_in_future`), so the sandbox clock is
        moved on to the last event for the request, then put back where the test had it.
        """
        now = datetime.fromisoformat(self.get("/v1/clock").json()["now"])
        latest = max(event_moments(events), default=now)
        if latest > now:
            assert self.post("/v1/clock", {"now": latest.isoformat()}).status_code == 200
        try:
            return self.post("/v1/events", {"events": events}, role=role)
        finally:
            if latest > now:
                self.post("/v1/clock", {"now": now.isoformat()})


def event_moments(events: list[Any]) -> Iterator[datetime]:
    """The `occurred_at` of each event that has a sensible one (tests send absurd ones too)."""
    for event in events:
        when = event.get("occurred_at") if isinstance(event, dict) else None
        try:
            moment = datetime.fromisoformat(when) if isinstance(when, str) else None
        except ValueError:
            continue
        if moment is not None and moment.tzinfo is not None and 1900 < moment.year < 2200:
            yield moment


@pytest.fixture
def api(engine: Engine, vault_keys: tuple[str, str], railway: Program) -> Iterator[Api]:
    """The HTTP API on the test's database with the railway preset and a simulated clock."""
    install_program(SqlUnitOfWork(engine), program=railway, source="preset:railway")
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        vault_keys=vault_keys[0],
        hash_key=vault_keys[1],
        simulated_clock=True,
        rate_limits="default=100000/100000",  # rate limits have tests of their own
    )
    keys = {
        role: create_key(SqlUnitOfWork(engine), role=role, label="test", now=T0).token
        for role in ROLES
    }
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, keys)
    app.state.jifen.engine.dispose()
