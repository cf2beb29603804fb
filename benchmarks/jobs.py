"""The daily job and the summary report over a generated program, on PostgreSQL.

The program is the `ingest_postgres` database after its ingest: demo members with their ticket
history (a year of it in the full run, a month in `--quick`). The job runs for the day after the
history ends, as that night's run would, having never run before (so it also catches up every
lot that expired meanwhile). The reference is one set-based read of every ledger entry in the
same database, measured in the same run.
"""

from __future__ import annotations

from datetime import timedelta
from time import perf_counter
from typing import Any

from sqlalchemy import Engine, text

from benchmarks.databases import row_counts
from benchmarks.ingest import LoadedProgram
from benchmarks.report import Check, Results, console, median
from benchmarks.sizes import Sizes
from jifen.services.daily import run_daily
from jifen.services.reports import summary
from jifen.storage.db import make_engine
from jifen.storage.uow import UnitOfWork

TARGET_MEMBERS = 1_000_000
DAILY_TARGET_S = 120.0
SUMMARY_TARGET_S = 2.0


def scan_entries(engine: Engine) -> float:
    """Seconds to read every ledger entry once, summed per member and kind (the reference)."""
    query = text("SELECT member_id, kind, sum(points) FROM ledger_entries GROUP BY member_id, kind")
    with engine.connect() as connection:
        started = perf_counter()
        connection.execute(query).fetchall()
        return perf_counter() - started


def verdict(seconds: float, target: float, members: int) -> bool | None:
    """Pass or fail only at the target's size; over the target at a smaller size is a fail."""
    if seconds > target:
        return False
    return True if members >= TARGET_MEMBERS else None


def run_jobs(results: Results, sizes: Sizes, loaded: LoadedProgram, chosen: set[str]) -> None:
    """`daily_job` and `summary_report`, each against `scan_entries`."""
    engine = make_engine(loaded.url)
    try:
        with engine.connect() as connection:  # as autovacuum would have, after a bulk load
            connection.execute(text("ANALYZE"))
            connection.commit()
        counts = row_counts(engine)
        members = counts["members"]
        results.sizes["program"] = {
            "members": members,
            "ledger_entries": counts["ledger_entries"],
            "ledger_transactions": counts["ledger_transactions"],
            "lots": counts["lots"],
            "history": f"{loaded.data.start}..{loaded.data.end}",
        }
        scan = median([scan_entries(engine) for _ in range(3)])
        results.record(
            scan_entries_s=scan,
            program_members=members,
            program_ledger_entries=counts["ledger_entries"],
        )
        if "daily_job" in chosen:
            _daily(results, engine, loaded, scan=scan, members=members)
        if "summary_report" in chosen:
            _summary(results, engine, loaded, sizes, scan=scan, members=members)
    finally:
        engine.dispose()


def _daily(
    results: Results, engine: Engine, loaded: LoadedProgram, *, scan: float, members: int
) -> None:
    as_of = loaded.data.end + timedelta(days=1)
    started = perf_counter()
    done = run_daily(UnitOfWork(engine), program=loaded.program, as_of=as_of)
    seconds = perf_counter() - started
    steps: dict[str, Any] = done.steps
    tier_changes = sum(steps.get("tiers", {}).get("changes", {}).values())
    results.record(
        daily_job_s=seconds,
        daily_job_lots_expired=steps.get("expire", {}).get("lots_expired", 0),
        daily_job_tier_changes=tier_changes,
        daily_job_reminders=steps.get("reminders", {}).get("reminders_queued", 0),
    )
    console.print(f"  daily_job for {as_of}: {seconds:.2f} s over {members:,} members; {steps}")
    results.check(
        Check(
            f"daily_job (s, {members:,} members)",
            seconds,
            "s",
            f"≤ {DAILY_TARGET_S:.0f} s at 1M members",
            verdict(seconds, DAILY_TARGET_S, members),
            reference="scan_entries",
            reference_value=scan,
            ratio_style="×",
        )
    )


def _summary(
    results: Results,
    engine: Engine,
    loaded: LoadedProgram,
    sizes: Sizes,
    *,
    scan: float,
    members: int,
) -> None:
    times = []
    for _ in range(sizes.summary_repeats):
        started = perf_counter()
        summary(
            UnitOfWork(engine), program=loaded.program, start=loaded.data.start, end=loaded.data.end
        )
        times.append(perf_counter() - started)
    seconds = median(times)
    results.record(summary_report_s=seconds, summary_report_first_s=times[0])
    console.print(f"  summary_report: median {seconds * 1000:.1f} ms of {len(times)}")
    results.check(
        Check(
            f"summary_report (s, {members:,} members)",
            seconds,
            "s",
            f"≤ {SUMMARY_TARGET_S:.0f} s at 1M members",
            verdict(seconds, SUMMARY_TARGET_S, members),
            reference="scan_entries",
            reference_value=scan,
            ratio_style="×",
        )
    )
