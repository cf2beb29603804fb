"""The command line as an operator uses it: init a preset, import events, run the daily job."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from jifen.programs.loader import load_preset
from jifen.services.keys import authenticate
from jifen.services.members import enrol
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, resident_id
from tests.integration.services.test_events import at, ticket


def jifen(folder: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
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


@pytest.fixture
def folder_and_url(engine: Engine, tmp_path: Path) -> tuple[Path, str]:
    url = engine.url.render_as_string(hide_password=False)
    return tmp_path, url


def vault_from(folder: Path) -> IdentityVault:
    keys = dict(line.split("=", 1) for line in (folder / ".env").read_text().split())
    return IdentityVault(keys["JIFEN_VAULT_KEYS"].split(","), keys["JIFEN_HASH_KEY"])


def test_init_import_and_daily_job_from_the_command_line(folder_and_url):
    folder, url = folder_and_url
    first = jifen(folder, url, "init", "--preset", "railway")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Program railway" in first.stdout
    again = jifen(folder, url, "init", "--preset", "railway")
    assert "version 1" in again.stdout  # the same program again is not a new version

    number = resident_id(date(1990, 3, 7), 555)
    member = enrol(
        SqlUnitOfWork(make_engine(url)),
        program=load_preset("railway"),
        vault=vault_from(folder),
        name="李四",
        id_type="resident_id",
        id_number=number,
        birth_date=date(1990, 3, 7),
        phone="13812345678",
        joined_at=T0,
    ).member_id
    passenger = {"id_type": "resident_id", "id_number": number}
    day = date(2025, 5, 10)
    lines = [
        {
            "id": "e1",
            "type": "ticket.purchased",
            "occurred_at": at(day, 7).isoformat(),
            "data": ticket("T1", departure=at(day), passenger=passenger),
        },
        {
            "id": "e2",
            "type": "ticket.travelled",
            "occurred_at": at(day, 16).isoformat(),
            "data": {"ticket_id": "T1"},
        },
        {
            "id": "e3",
            "type": "ticket.refunded",
            "occurred_at": at(day, 17).isoformat(),
            "data": {"ticket_id": "T1"},
        },
    ]
    events = folder / "events.jsonl"
    events.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")

    imported = jifen(folder, url, "import", "events", str(events))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "│ 2       │ 0         │ 2        │" in imported.stdout
    rejects = [
        json.loads(x) for x in (folder / "events.jsonl.rejects.jsonl").read_text().split("\n") if x
    ]
    assert [(r["line"], r["code"]) for r in rejects] == [(3, "ticket_conflict"), (4, "unreadable")]

    rerun = jifen(folder, url, "import", "events", str(events))
    assert "│ 0       │ 2         │ 2        │" in rerun.stdout

    daily = jifen(folder, url, "jobs", "daily", "--as-of", "2026-05-10")
    assert daily.returncode == 0, daily.stdout + daily.stderr
    assert "lots_expired: 1" in daily.stdout
    assert "points_expired: 2768" in daily.stdout
    twice = jifen(folder, url, "jobs", "daily", "--as-of", "2026-05-10")
    assert "(already done)" in twice.stdout
    assert jifen(folder, url, "ledger", "check").returncode == 0
    assert member == 1


def test_an_imported_event_dated_after_the_wall_clock_is_rejected_as_in_the_future(folder_and_url):
    folder, url = folder_and_url
    assert jifen(folder, url, "init", "--preset", "railway").returncode == 0
    survey = {"member_id": 404, "activity": "survey", "points": 10}
    lines = [
        {"id": "e1", "type": "activity.completed", "occurred_at": "2199-01-01T09:00:00+08:00"},
        {"id": "e2", "type": "activity.completed", "occurred_at": "2025-05-10T09:00:00+08:00"},
    ]
    events = folder / "events.jsonl"
    events.write_text("\n".join(json.dumps(x | {"data": survey}) for x in lines) + "\n")

    imported = jifen(folder, url, "import", "events", str(events))

    assert imported.returncode == 0, imported.stdout + imported.stderr
    rejects = [json.loads(x) for x in events.with_name("events.jsonl.rejects.jsonl").open()]
    assert [(r["line"], r["code"]) for r in rejects] == [
        (1, "event_in_future"),
        (2, "rider_not_member"),  # dated in the past: applied as ever, to nobody here
    ]


def test_an_invalid_program_file_is_refused_naming_the_field(folder_and_url):
    folder, url = folder_and_url
    program = folder / "draft.yaml"
    text = (Path(__file__).parents[3] / "src/jifen/programs/presets/railway.yaml").read_text()
    program.write_text(text.replace("threshold: 150000", "threshold: 40000"))
    result = jifen(folder, url, "init", "--program", str(program))
    assert result.returncode == 1
    assert "program_invalid" in result.stdout
    assert "tiers.levels[2].threshold" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_keys_are_printed_once_stored_hashed_listed_and_revoked(folder_and_url):
    folder, url = folder_and_url
    assert jifen(folder, url, "init").returncode == 0
    made = jifen(folder, url, "keys", "create", "--role", "integrator", "--label", "ticketing")
    assert made.returncode == 0, made.stdout + made.stderr
    token = made.stdout.strip().splitlines()[-1]
    prefix = token.split("_")[1]
    uow = SqlUnitOfWork(make_engine(url))
    assert authenticate(uow, token).role == "integrator"

    listed = jifen(folder, url, "keys", "list")
    assert prefix in listed.stdout
    assert "ticketing" in listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout

    assert jifen(folder, url, "keys", "revoke", prefix).returncode == 0
    assert authenticate(uow, token) is None
    refused = jifen(folder, url, "keys", "create", "--role", "superuser")
    assert refused.returncode == 1
    assert "choose one of admin, operator, integrator, analyst, partner" in refused.stdout


def test_commands_on_a_database_without_the_schema_say_to_run_init(tmp_path):
    result = jifen(tmp_path, f"sqlite:///{tmp_path}/new.db", "ledger", "check")
    assert result.returncode == 2
    assert "Run `jifen init`" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_audit_export_writes_key_actions_as_csv_and_json_lines(folder_and_url):
    folder, url = folder_and_url
    assert jifen(folder, url, "init", "--preset", "railway").returncode == 0
    token = jifen(folder, url, "keys", "create", "--role", "analyst").stdout.split()[-1]
    jifen(folder, url, "keys", "revoke", token.split("_")[1])

    as_csv = jifen(folder, url, "audit", "export", "--output", "audit.csv")
    assert as_csv.returncode == 0, as_csv.stdout + as_csv.stderr
    rows = list(csv.DictReader((folder / "audit.csv").open()))
    assert [(r["actor"], r["action"]) for r in rows] == [
        ("cli", "key.created"),
        ("cli", "key.revoked"),
    ]
    assert jifen(folder, url, "audit", "export", "--output", "audit.jsonl").returncode == 0
    lines = [json.loads(x) for x in (folder / "audit.jsonl").read_text().splitlines()]
    assert [x["action"] for x in lines] == ["key.created", "key.revoked"]
