"""Operations: /metrics, JSON logs with request ids, and `jifen backup` / `jifen restore`."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from jifen.api.logs import JsonFormatter
from jifen.services.backup import (
    BackupExists,
    BackupToolMissing,
    NotABackup,
    RestoreTargetNotEmpty,
    backup_database,
    restore_database,
)
from jifen.services.ledger_check import check_ledger
from jifen.storage.backup import libpq
from jifen.storage.db import make_engine
from jifen.storage.tables import metadata
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import POSTGRES_URL, Api
from tests.e2e.api.test_api_contract import activity, enrolment, trip

ID_NUMBER_IN_PATH = "110101199003071233"
PHONE = "13912345678"


def metric(api: Api, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`, as /metrics shows them."""
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def enrol(api: Api, serial: int) -> int:
    response = api.post("/v1/members", enrolment(date(1990, 3, 7), serial), role="operator")
    assert response.status_code == 201, response.text
    return response.json()["member_id"]


def send(api: Api, events: list[dict[str, Any]]) -> list[str]:
    response = api.send_events(events)
    assert response.status_code == 200, response.text
    return [r["status"] for r in response.json()["results"]]


# -- metrics --------------------------------------------------------------------------------------


class TestMetrics:
    def test_requests_are_counted_by_method_route_template_and_status(self, api: Api):
        route = "/v1/members/{member_id}"
        ok = {"method": "GET", "route": route, "status": "200"}
        missing = {"method": "GET", "route": route, "status": "404"}
        before = (
            metric(api, "jifen_http_requests_total", **ok),
            metric(api, "jifen_http_requests_total", **missing),
        )
        member = enrol(api, 301)
        for _ in range(3):
            assert api.get(f"/v1/members/{member}").status_code == 200
        assert api.get("/v1/members/999999").status_code == 404
        assert metric(api, "jifen_http_requests_total", **ok) == before[0] + 3
        assert metric(api, "jifen_http_requests_total", **missing) == before[1] + 1
        latency = metric(api, "jifen_http_request_duration_seconds_count", **ok)
        assert latency >= 3
        assert metric(api, "jifen_http_request_duration_seconds_sum", **ok) > 0

    def test_no_raw_path_becomes_a_label(self, api: Api):
        unmatched = {"route": "unmatched", "status": "404"}
        before = metric(api, "jifen_http_requests_total", **unmatched)
        for n in range(3):
            assert api.client.get(f"/no/such/{uuid.uuid4().hex}/{n}").status_code == 404
        assert metric(api, "jifen_http_requests_total", **unmatched) == before + 3
        assert "/no/such" not in api.client.get("/metrics").text

    def test_requests_refused_before_routing_count_under_their_route(self, api: Api):
        refused = {"method": "POST", "route": "/v1/events", "status": "413"}
        before = metric(api, "jifen_http_requests_total", **refused)
        big = b"x" * (5 * 1024 * 1024)
        assert api.client.post("/v1/events", content=big, headers=api.headers()).status_code == 413
        assert metric(api, "jifen_http_requests_total", **refused) == before + 1

    def test_events_are_counted_by_type_and_outcome(self, api: Api):
        member = enrol(api, 302)
        labels = [
            ("ticket.purchased", "applied"),
            ("ticket.travelled", "applied"),
            ("ticket.purchased", "duplicate"),
            ("activity.completed", "rejected"),
            ("unknown", "rejected"),
        ]
        before = {
            pair: metric(api, "jifen_events_total", type=pair[0], status=pair[1]) for pair in labels
        }
        rejects_before = metric(api, "jifen_event_rejects_total", type="unknown")
        bought, ride = trip(member, date(2025, 1, 10))
        assert send(api, [bought, ride]) == ["applied", "applied"]
        stranger = activity("a-stranger", member_id=999999, points=10)
        nonsense = {
            "id": "x-1",
            "type": "ticket.teleported",
            "occurred_at": "2025-01-10",
            "data": {},
        }
        assert send(api, [bought, stranger, nonsense]) == ["duplicate", "rejected", "rejected"]
        after = {
            pair: metric(api, "jifen_events_total", type=pair[0], status=pair[1]) for pair in labels
        }
        assert {pair: after[pair] - before[pair] for pair in labels} == {
            ("ticket.purchased", "applied"): 1,
            ("ticket.travelled", "applied"): 1,
            ("ticket.purchased", "duplicate"): 1,
            ("activity.completed", "rejected"): 1,
            ("unknown", "rejected"): 1,
        }
        assert metric(api, "jifen_event_rejects_total", type="unknown") == rejects_before + 1
        assert "ticket.teleported" not in api.client.get("/metrics").text

    def test_the_daily_job_and_its_steps_are_timed(self, api: Api):
        done = metric(api, "jifen_daily_job_duration_seconds_count", outcome="done")
        steps = metric(api, "jifen_daily_job_step_duration_seconds_count", step="reminders")
        member = enrol(api, 303)
        send(api, trip(member, date(2025, 1, 10)))
        response = api.post("/v1/jobs/daily", {"as_of": "2026-02-01"})
        assert response.status_code == 200, response.text
        assert metric(api, "jifen_daily_job_duration_seconds_count", outcome="done") == done + 1
        assert (
            metric(api, "jifen_daily_job_step_duration_seconds_count", step="reminders")
            == steps + 1
        )
        api.post("/v1/jobs/daily", {"as_of": "2026-02-01"})  # a rerun: every step already done
        assert metric(api, "jifen_daily_job_duration_seconds_count", outcome="done") == done + 2
        assert (
            metric(api, "jifen_daily_job_step_duration_seconds_count", step="reminders")
            == steps + 1
        )

    def test_metrics_need_no_key_and_stay_out_of_the_api_schema(self, api: Api):
        assert api.client.get("/metrics").status_code == 200
        assert "/metrics" not in api.client.get("/openapi.json").json()["paths"]


# -- logs -----------------------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What Jifen's loggers write while the test runs, formatted as the server formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    jifen = logging.getLogger("jifen")
    level = jifen.level
    jifen.addHandler(handler)
    jifen.setLevel(logging.DEBUG)
    yield stream
    jifen.removeHandler(handler)
    jifen.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class TestLogs:
    def test_a_sane_request_id_comes_back_and_is_on_every_line_of_the_request(
        self, api: Api, json_log: io.StringIO
    ):
        def noisy() -> dict[str, str]:
            logging.getLogger("jifen.test").warning("inside the handler")
            return {}

        api.client.app.add_api_route("/test/noisy", noisy)  # type: ignore[attr-defined]
        response = api.client.get("/test/noisy", headers={"X-Request-ID": "trace-42.a:b_c"})
        assert response.headers["X-Request-ID"] == "trace-42.a:b_c"
        mine = [line for line in lines(json_log) if line.get("request_id") == "trace-42.a:b_c"]
        assert {line["logger"] for line in mine} == {"jifen.test", "jifen.access"}
        for line in mine:
            assert {"time", "level", "logger", "message", "method", "path"} <= set(line)
            assert (line["method"], line["path"]) == ("GET", "/test/noisy")
        access = next(line for line in mine if line["logger"] == "jifen.access")
        assert access["status"] == 200
        assert access["duration_ms"] >= 0
        assert access["route"] == "/test/noisy"

    def test_a_server_error_is_logged_and_counted_under_the_request_id(
        self, api: Api, json_log: io.StringIO
    ):
        def broken() -> None:
            raise RuntimeError("boom")

        api.client.app.add_api_route("/test/broken", broken)  # type: ignore[attr-defined]
        failed = {"route": "/test/broken", "status": "500"}
        before = metric(api, "jifen_http_requests_total", **failed)
        response = api.client.get("/test/broken", headers={"X-Request-ID": "oops-1"})
        assert response.status_code == 500
        assert metric(api, "jifen_http_requests_total", **failed) == before + 1
        mine = [line for line in lines(json_log) if line.get("request_id") == "oops-1"]
        access = next(line for line in mine if line["logger"] == "jifen.access")
        assert access["status"] == 500
        error = next(line for line in mine if line["logger"] == "jifen.api")
        assert "RuntimeError: boom" in error["exception"]

    @pytest.mark.parametrize(
        "incoming", ["", "has space", "x" * 129, "ünïcode", "-leading-dash", "a/b"]
    )
    def test_an_insane_or_missing_request_id_is_replaced(self, api: Api, incoming: str):
        headers = {"X-Request-ID": incoming.encode()}
        response = api.client.get("/health", headers=headers)
        given = response.headers["X-Request-ID"]
        assert given != incoming
        assert len(given) == 32
        assert int(given, 16) >= 0
        assert api.client.get("/health").headers["X-Request-ID"] != given

    def test_every_response_carries_an_id_refusals_included(self, api: Api):
        assert api.client.get("/v1/members/1").status_code == 401
        assert api.client.get("/v1/members/1").headers["X-Request-ID"]
        big = b"x" * (5 * 1024 * 1024)
        refused = api.client.post("/v1/events", content=big, headers=api.headers())
        assert refused.status_code == 413
        assert refused.headers["X-Request-ID"]

    def test_logs_hold_no_query_string_body_identity_or_key(self, api: Api, json_log: io.StringIO):
        body = enrolment(date(1990, 3, 7), 304)
        api.post("/v1/members", body, role="operator")
        api.get(f"/v1/members/{ID_NUMBER_IN_PATH}")
        api.get(f"/v1/members/{PHONE}/ledger")
        api.get(f"/v1/reports/summary?from=2025-01-01&to=2025-01-31&phone={PHONE}")
        logged = json_log.getvalue()
        assert len(lines(json_log)) >= 4
        for secret in (body["id_number"], body["phone"], ID_NUMBER_IN_PATH, PHONE, "phone="):
            assert secret not in logged
        assert api.keys["admin"].split("_")[-1] not in logged
        assert '"path": "/v1/members/***"' in logged


# -- the server as `jifen serve` runs it --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_with_workers_adds_up_every_workers_metrics_and_logs_json(
    sqlite_template: Path, tmp_path: Path, vault_keys: tuple[str, str]
):
    shutil.copyfile(sqlite_template, tmp_path / "jifen.db")
    shared = tmp_path / "metrics"
    shared.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIFEN_")}
    env.update(
        JIFEN_DATABASE_URL=f"sqlite:///{tmp_path / 'jifen.db'}",
        JIFEN_VAULT_KEYS=vault_keys[0],
        JIFEN_HASH_KEY=vault_keys[1],
        PROMETHEUS_MULTIPROC_DIR=str(shared),
        COLUMNS="200",
    )
    server = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "jifen", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/health")
        for n in range(10):  # a new connection each time, so both workers answer some
            response = httpx2.get(f"{base}/v1/clock", headers={"X-Request-ID": f"probe-{n}"})
            assert response.status_code == 401
            assert response.headers["X-Request-ID"] == f"probe-{n}"
        for _ in range(5):  # whichever worker answers the scrape, it counts every worker's
            scraped = httpx2.get(f"{base}/metrics").text
            counted = sum(
                s.value
                for family in text_string_to_metric_families(scraped)
                for s in family.samples
                if s.name == "jifen_http_requests_total"
                and s.labels == {"method": "GET", "route": "/v1/clock", "status": "401"}
            )
            assert counted == 10
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    printed = [line for line in out.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in printed if line.startswith("{")]
    assert len(parsed) == len(printed) - 1, out  # every line is JSON but the opening banner
    assert printed[0].startswith("Jifen listens")
    probes = [p for p in parsed if str(p.get("request_id", "")).startswith("probe-")]
    assert len(probes) == 10, out + err
    assert all(p["status"] == 401 and p["path"] == "/v1/clock" for p in probes)
    assert not any(p["logger"] == "uvicorn.access" for p in parsed)


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx2.get(url).status_code == 200:
                return
        except httpx2.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


# -- backups --------------------------------------------------------------------------------------


def jifen(url: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIFEN_")}
    env.update({"JIFEN_DATABASE_URL": url, "COLUMNS": "200"})
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "jifen", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, and the schema version."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in metadata.sorted_tables
            }
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            rows["alembic_version"] = [tuple(row) for row in version]
        return rows
    finally:
        engine.dispose()


def busy(api: Api, serial: int, day: date) -> None:
    """A member who rides twice and is run through a daily job: lots, pending, events, jobs."""
    member = enrol(api, serial)
    rides = [*trip(member, day), *trip(member, day.replace(day=day.day + 1))]
    assert set(send(api, rides)) == {"applied"}
    bought, _ = trip(member, day.replace(day=day.day + 2))
    assert send(api, [bought]) == ["applied"]
    assert api.post("/v1/jobs/daily", {"as_of": f"{day:%Y-%m}-28"}).status_code == 200


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def new_database(engine: Engine, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of the test's kind (a file not yet made, on SQLite)."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'jifen.db'}"
        return
    name = f"jifen_restore_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class TestBackups:
    def test_restore_puts_back_exactly_what_was_backed_up(
        self, api: Api, engine: Engine, tmp_path: Path
    ):
        url, file = url_of(engine), tmp_path / "jifen.backup"
        busy(api, 401, date(2025, 1, 10))
        saved = contents(url)
        backed = jifen(url, tmp_path, "backup", str(file))
        assert backed.returncode == 0, backed.stdout + backed.stderr
        busy(api, 402, date(2025, 2, 10))  # life goes on after the backup
        assert contents(url) != saved

        refused = jifen(url, tmp_path, "restore", str(file))
        assert refused.returncode == 1
        assert "restore_target_not_empty" in refused.stdout
        restored = jifen(url, tmp_path, "restore", str(file), "--force")
        assert restored.returncode == 0, restored.stdout + restored.stderr

        assert contents(url) == saved
        assert check_ledger(SqlUnitOfWork(engine)).ok
        checked = jifen(url, tmp_path, "ledger", "check")
        assert checked.returncode == 0, checked.stdout

    def test_a_backup_restores_into_a_new_database(
        self, api: Api, engine: Engine, tmp_path: Path, new_database: str
    ):
        file = tmp_path / "jifen.backup"
        busy(api, 403, date(2025, 3, 10))
        report = backup_database(database_url=url_of(engine), target=file)
        assert report.size == file.stat().st_size > 0
        assert not (tmp_path / "jifen.backup.partial").exists()
        restored = jifen(new_database, tmp_path, "restore", str(file))  # empty: no --force
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert contents(new_database) == contents(url_of(engine))
        checked = jifen(new_database, tmp_path, "ledger", "check")
        assert checked.returncode == 0, checked.stdout
        assert "Ledger OK" in checked.stdout

    def test_restore_refuses_a_database_with_tables_unless_forced(
        self, engine: Engine, tmp_path: Path, new_database: str
    ):
        file = tmp_path / "jifen.backup"
        backup_database(database_url=url_of(engine), target=file)
        with pytest.raises(RestoreTargetNotEmpty):
            restore_database(database_url=url_of(engine), source=file)
        restore_database(database_url=new_database, source=file)
        with pytest.raises(RestoreTargetNotEmpty):
            restore_database(database_url=new_database, source=file)
        report = restore_database(database_url=new_database, source=file, force=True)
        assert report.schema_current

    def test_a_backup_never_replaces_a_file_unless_forced(self, engine: Engine, tmp_path: Path):
        file = tmp_path / "jifen.backup"
        file.write_text("precious")
        with pytest.raises(BackupExists):
            backup_database(database_url=url_of(engine), target=file)
        assert file.read_text() == "precious"
        backup_database(database_url=url_of(engine), target=file, force=True)
        assert file.read_bytes() != b"precious"

    def test_restore_refuses_what_is_not_a_backup_of_its_kind(
        self, engine: Engine, tmp_path: Path, new_database: str
    ):
        junk = tmp_path / "junk.backup"
        junk.write_text("not a database")
        with pytest.raises(NotABackup):
            restore_database(database_url=new_database, source=junk)
        other = tmp_path / "other.db"  # the other kind of database
        if engine.dialect.name == "sqlite":
            other.write_bytes(b"PGDMP" + bytes(100))
        else:
            make_engine(f"sqlite:///{other}").connect().close()
        with pytest.raises(NotABackup):
            restore_database(database_url=new_database, source=other)

    @pytest.mark.postgres_only
    def test_missing_postgres_tools_are_named(
        self, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(BackupToolMissing, match="pg_dump") as missing:
            backup_database(database_url=url_of(engine), target=tmp_path / "jifen.backup")
        assert "postgresql-client" in missing.value.message
        assert not (tmp_path / "jifen.backup").exists()


def test_postgres_tools_get_the_urls_parameters_and_the_password_aside():
    conninfo, env = libpq(
        "postgresql+psycopg://jifen:s3cr%40t@db.internal:6432/jifen?sslmode=require"
    )
    assert conninfo == "postgresql://jifen@db.internal:6432/jifen?sslmode=require"
    assert env == {"PGPASSWORD": "s3cr@t"}
    assert libpq("postgresql://postgres@127.0.0.1/jifen") == (
        "postgresql://postgres@127.0.0.1/jifen",
        {},
    )
