"""The benchmark runner end to end, at a tiny size: SQLite ingest and its raw ceiling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_a_tiny_sqlite_run_writes_latest_json_with_its_figures_and_context(tmp_path: Path):
    output = tmp_path / "latest.json"
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "benchmarks",
            "run",
            "--quick",
            "--only",
            "raw_sqlite,ingest_sqlite",
            "--set",
            "sqlite_members=10",
            "--set",
            "sqlite_days=10",
            "--set",
            "raw_repeats=1",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(output.read_text("utf-8"))

    assert {"date", "machine", "sizes", "git_commit", "mode", "problems"} <= set(result)
    assert result["mode"] == "quick"
    assert result["problems"] == []
    assert result["sizes"]["ingest_sqlite"]["members"] == 10
    for name in (
        "ingest_sqlite_events_per_s",
        "raw_sqlite_events_per_s",
        "ingest_sqlite_vs_raw",
        "raw_sqlite_rows",
        "ingest_sqlite_statements_per_event",
    ):
        assert isinstance(result[name], int | float), name
        assert result[name] > 0, name
    assert result["ingest_sqlite_ledger_ok"] == 1
    assert result["ingest_sqlite_events"] == result["sizes"]["ingest_sqlite"]["events"]
    # The ceiling writes the same rows with no logic: it must be the faster of the two.
    assert result["raw_sqlite_events_per_s"] > result["ingest_sqlite_events_per_s"]
    assert "ingest_sqlite (events/s)" in done.stdout
