"""The daily job, the summary report and the other reports over a program loaded at scale.

The program is written with set-based SQL by `benchmarks/scale.py` (`sizes.scale_members`
members: 2,000 in `--quick`, 1M in the full run, about 22 ledger entries each), in the shape the
ticket events and the earlier nights' jobs leave it; its load time is recorded, and `jifen ledger
check` must pass on it. The job runs for the night after the history ends, with work to do:
lots expiring, reminders, tier changes, a fold of the last days. The reference is one set-based
read of every ledger entry in the same database, measured in the same run.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from sqlalchemy import Engine, text

from benchmarks import analytics, scale
from benchmarks.databases import Postgres, row_counts
from benchmarks.report import Check, Results, console, median
from benchmarks.scale import ScaleProgram
from benchmarks.sizes import Sizes
from jifen.services.ledger_check import check_ledger
from jifen.services.reports import summary
from jifen.storage.db import make_engine
from jifen.storage.uow import SqlUnitOfWork

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


def run_jobs(results: Results, sizes: Sizes, pg: Postgres, chosen: set[str]) -> None:
    """`daily_job`, `summary_report` (each against `scan_entries`) and `reports`."""
    loaded = scale.build(pg, members=sizes.scale_members)
    engine = make_engine(loaded.url)
    try:
        console.print(
            f"  loaded {loaded.members:,} members in {loaded.seconds['total']:.1f} s: "
            + ", ".join(f"{k} {v:.1f}" for k, v in loaded.seconds.items() if k != "total")
        )
        counts = row_counts(engine)
        results.sizes["program"] = {
            "members": counts["members"],
            "ledger_entries": counts["ledger_entries"],
            "ledger_transactions": counts["ledger_transactions"],
            "lots": counts["lots"],
            "history": f"{loaded.start}..{loaded.end}",
            "job_day": str(loaded.as_of),
            "load_seconds": {k: round(v, 2) for k, v in loaded.seconds.items()},
        }
        started = perf_counter()
        audit = check_ledger(SqlUnitOfWork(engine))
        results.record(scale_ledger_check_s=perf_counter() - started)
        if not audit.ok:
            results.problem(f"scale program: ledger check failed: {audit.violations[:3]}")
        scan = median([scan_entries(engine) for _ in range(3)])
        results.record(
            scale_load_s=loaded.seconds["total"],
            scan_entries_s=scan,
            program_members=counts["members"],
            program_ledger_entries=counts["ledger_entries"],
        )
        if "daily_job" in chosen:
            _daily(results, engine, loaded, scan=scan)
        if "summary_report" in chosen:
            _summary(results, engine, loaded, sizes, scan=scan)
        if "reports" in chosen:
            figures = analytics.year_reports(
                engine, loaded.program, (loaded.start, loaded.end), sizes.summary_repeats
            )
            results.record(**{f"reports_{name}": value for name, value in figures.items()})
            console.print(
                "  reports: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in figures.items())
            )
    finally:
        engine.dispose()
        pg.drop(loaded.url)


def _daily(results: Results, engine: Engine, loaded: ScaleProgram, *, scan: float) -> None:
    seconds, per_step, done = scale.timed_daily(engine, loaded)
    steps: dict[str, Any] = done.steps
    tier_changes = sum(steps.get("tiers", {}).get("changes", {}).values())
    results.record(
        daily_job_s=seconds,
        daily_job_lots_expired=steps.get("expire", {}).get("lots_expired", 0),
        daily_job_tier_changes=tier_changes,
        daily_job_reminders=steps.get("reminders", {}).get("reminders_queued", 0),
        daily_job_transactions_folded=steps.get("analytics", {}).get("transactions_folded", 0),
        **{f"daily_job_{name}_s": value for name, value in per_step.items()},
    )
    members = loaded.members
    console.print(
        f"  daily_job for {loaded.as_of}: {seconds:.2f} s over {members:,} members ("
        + ", ".join(f"{k} {v:.2f} s" for k, v in per_step.items())
        + f"); {steps}"
    )
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
    results: Results, engine: Engine, loaded: ScaleProgram, sizes: Sizes, *, scan: float
) -> None:
    members = loaded.members
    times = []
    for _ in range(sizes.summary_repeats):
        started = perf_counter()
        summary(SqlUnitOfWork(engine), program=loaded.program, start=loaded.start, end=loaded.end)
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
