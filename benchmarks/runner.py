"""Run the chosen workloads one after another, write `results/latest.json`, print the table.

Workloads that share set-up run as one group: an ingest and its raw ceiling need the same
rows; the daily job, the summary report and the other reports run over one program loaded at
scale with set-based SQL (`benchmarks/scale.py`); both HTTP figures come from one server.
Asking for one member of a group runs the set-up it needs; a figure measured on the way is
recorded too. Groups run one at a time, never side by side, so
no workload loads the machine while another is measured.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import tempfile
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

from benchmarks import flash_sale, http_api, import_rss, ingest, jobs, peer, stream_ingest
from benchmarks.databases import Postgres
from benchmarks.report import Results, console, table, write_json
from benchmarks.sizes import FULL, QUICK, Sizes, with_overrides

ROOT = Path(__file__).resolve().parent.parent
LATEST = Path(__file__).resolve().parent / "results" / "latest.json"
WORKLOADS = (
    "ingest_sqlite",
    "raw_sqlite",
    "ingest_postgres",
    "raw_postgres",
    "daily_job",
    "summary_report",
    "reports",
    "import_rss",
    "stream_ingest",
    "http_events",
    "get_member",
    "flash_sale",
    "peer_online",
    "peer_bulk",
)

Group = Callable[[Results, Sizes, Path, Postgres, set[str]], None]


def _sqlite(results: Results, sizes: Sizes, workdir: Path, _pg: Postgres, _c: set[str]) -> None:
    ingest.run_sqlite(results, sizes, workdir)


def _postgres(results: Results, sizes: Sizes, _w: Path, pg: Postgres, chosen: set[str]) -> None:
    with_raw = bool(chosen & {"ingest_postgres", "raw_postgres"})
    loaded = ingest.run_postgres(results, sizes, pg, with_raw=with_raw)
    pg.drop(loaded.url)


def _jobs(results: Results, sizes: Sizes, _w: Path, pg: Postgres, chosen: set[str]) -> None:
    jobs.run_jobs(results, sizes, pg, chosen)


def _import(results: Results, sizes: Sizes, workdir: Path, _pg: Postgres, _c: set[str]) -> None:
    import_rss.run_import_rss(results, sizes, workdir)


def _flash(results: Results, sizes: Sizes, _w: Path, pg: Postgres, _c: set[str]) -> None:
    flash_sale.run_flash_sale(results, sizes, pg)


def _peer(results: Results, sizes: Sizes, _w: Path, pg: Postgres, _c: set[str]) -> None:
    peer.run_peer(results, sizes, pg)


GROUPS: tuple[tuple[frozenset[str], Group], ...] = (
    (frozenset({"ingest_sqlite", "raw_sqlite"}), _sqlite),
    (frozenset({"ingest_postgres", "raw_postgres"}), _postgres),
    (frozenset({"daily_job", "summary_report", "reports"}), _jobs),
    (frozenset({"import_rss"}), _import),
    (frozenset({"stream_ingest"}), stream_ingest.run_group),
    (frozenset({"http_events", "get_member"}), http_api.run_http),
    (frozenset({"flash_sale"}), _flash),
    (frozenset({"peer_online", "peer_bulk"}), _peer),
)


def parse_only(text: str | None) -> set[str]:
    """`--only a,b` as a set of workload names; every workload when not given."""
    if not text:
        return set(WORKLOADS)
    chosen = {name.strip() for name in text.split(",") if name.strip()}
    unknown = chosen - set(WORKLOADS)
    if unknown:
        msg = (
            f"Unknown workload(s) {', '.join(sorted(unknown))}; choose from {', '.join(WORKLOADS)}."
        )
        raise SystemExit(msg)
    return chosen


def run(
    *, quick: bool, only: str | None, output: Path = LATEST, settings: list[str] | None = None
) -> int:
    """Run the workloads; 0 when every correctness check held (targets may still be missed)."""
    chosen = parse_only(only)
    sizes = with_overrides(QUICK if quick else FULL, settings or [])
    now = datetime.now(UTC)  # noqa: TID251 - the run's one reading of the wall clock
    results = Results("quick" if quick else "full", now)
    results.sizes["settings"] = sizes.as_dict()
    started = perf_counter()
    header: dict[str, Any] = {
        "date": now.isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="jifen-bench-") as folder, Postgres() as pg:
        header["machine"] = _machine(pg)
        for names, group in GROUPS:
            if chosen & names:
                _run_group(
                    results,
                    group=group,
                    sizes=sizes,
                    folder=Path(folder),
                    pg=pg,
                    chosen=chosen & names,
                )
    results.record(run_seconds=perf_counter() - started)
    header["machine"]["load_average_before"] = [round(x, 2) for x in load_before]
    header["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    write_json(output, results, header)
    _print(results, header, output)
    return 1 if results.problems else 0


def _run_group(
    results: Results,
    *,
    group: Group,
    sizes: Sizes,
    folder: Path,
    pg: Postgres,
    chosen: set[str],
) -> None:
    label = ", ".join(sorted(chosen))
    console.print(f"[bold]{label}[/] …")
    began = perf_counter()
    try:
        group(results, sizes, folder, pg, chosen)
    except Exception as error:  # noqa: BLE001 - one broken workload must not hide the others
        traceback.print_exc()
        results.problem(f"{label}: {type(error).__name__}: {error}")
    console.print(f"  ({perf_counter() - began:.1f} s)")


def _git(*args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed, read-only git commands
            ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def _machine(pg: Postgres) -> dict[str, Any]:
    try:
        postgres = pg.version()
    except Exception as error:  # noqa: BLE001 - the run reports the missing server per workload
        postgres = f"unavailable ({type(error).__name__})"
    return {
        "kind": "python-svc (2 cores, 24 GiB)",
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": postgres,
        "sqlite": sqlite3.sqlite_version,
    }


def _print(results: Results, header: dict[str, Any], output: Path) -> None:
    title = (
        f"Jifen benchmarks ({results.mode}) — {header['date']}, commit {header['git_commit'][:10]}"
        f"{' (dirty tree)' if header['git_dirty'] else ''}, load average before "
        f"{header['machine']['load_average_before'][0]}"
    )
    console.print(table(results, title=title))
    for note in results.notes:
        console.print(f"[dim]note:[/] {note}")
    for problem in results.problems:
        console.print(f"[red]problem:[/] {problem}")
    seconds = results.figures["run_seconds"]
    console.print(f"Wrote {output} ({seconds:.0f} s in all).")
