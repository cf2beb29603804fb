"""`jifen report NAME --from --to --format --output` as an analyst runs it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import Engine

from jifen.programs.schema import Program
from jifen.services.programs import install_program
from jifen.storage.uow import SqlUnitOfWork
from tests.e2e.cli.test_cli_program import jifen
from tests.integration.services.test_kpis import build

Q1 = ("--from", "2025-01-01", "--to", "2025-03-31")


def test_reports_print_and_write_files(
    engine: Engine, tmp_path: Path, uow: SqlUnitOfWork, railway: Program, enrol_member
) -> None:
    install_program(SqlUnitOfWork(engine), program=railway, source="preset:railway")
    build(uow, railway, enrol_member, refresh_midway=False)
    url = engine.url.render_as_string(hide_password=False)

    shown = jifen(tmp_path, url, "report", "kpis", *Q1)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    header, rule, row = shown.stdout.splitlines()
    assert header.split()[:4] == ["start", "end", "members_total", "members_new"]
    assert set(rule) <= {"-", " "}
    assert row.split()[6:11] == ["4700", "900", "1000", "500", "2300"]

    as_json = jifen(tmp_path, url, "report", "cohorts", *Q1, "--format", "json")
    assert json.loads(as_json.stdout)[0] == {
        "cohort": "2025-01",
        "members": 1,
        "months_since": 0,
        "active": 1,
        "retention": 1.0,
    }

    out = tmp_path / "daily.csv"
    written = jifen(tmp_path, url, "report", "daily", *Q1, "--format", "csv", "--output", str(out))
    assert (written.returncode, written.stdout) == (0, "")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 90
    assert sum(int(r["issued"]) for r in rows) == 4700

    parquet = tmp_path / "tiers.parquet"
    jifen(tmp_path, url, "report", "tiers", *Q1, "--format", "parquet", "--output", str(parquet))
    assert pq.read_table(parquet).to_pydict()["members"] == [2, 1, 1, 0]


def test_bad_requests_fail_with_a_message(engine: Engine, tmp_path: Path, railway: Program) -> None:
    install_program(SqlUnitOfWork(engine), program=railway, source="preset:railway")
    url = engine.url.render_as_string(hide_password=False)
    backwards = jifen(tmp_path, url, "report", "kpis", "--from", "2025-02-01", "--to", "2025-01-01")
    assert backwards.returncode == 1
    assert "invalid_request" in backwards.stdout
    no_file = jifen(tmp_path, url, "report", "rfm", *Q1, "--format", "parquet")
    assert no_file.returncode == 2
    assert "--output" in no_file.stderr
    unknown = jifen(tmp_path, url, "report", "nope", *Q1)
    assert unknown.returncode == 2
