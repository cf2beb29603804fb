"""Analytics reports over a year of a generated railway program, on PostgreSQL.

`python -m benchmarks.analytics [--members N]` (default 100,000). The program is the one
`benchmarks/scale.py` loads with set-based SQL (members, a year of trips with their pending,
confirm, upgrade credit and spends, lots, expiries, tiers: about 22 ledger entries a member), not
yet folded into the rollups; the "one more day" below adds ledger rows only (no lots), as reports
read no lots.

It measures, each the median of `--repeats` runs: the KPIs of the year straight from the ledger
(nothing folded yet: what a report costs without rollups), the first fold of the whole year, the
KPIs and summary once folded, a night's fold of one more day, the KPIs with that day unfolded
(read live), and the other reports of the year.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from statistics import median
from time import perf_counter
from typing import Any

from sqlalchemy import Engine, text

from benchmarks.databases import Postgres, install_railway, row_counts
from benchmarks.scale import load
from jifen.programs.schema import Program
from jifen.services import analytics
from jifen.services.reports import summary
from jifen.storage.db import make_engine
from jifen.storage.uow import SqlUnitOfWork

YEAR = (date(2025, 1, 1), date(2025, 12, 31))

TRIPS = """
CREATE TABLE bench_trips AS
SELECT :first + row_number() OVER () AS n, m.id AS member_id, t.at,
       (20 + floor(random() * 1500))::bigint AS points
FROM members m
CROSS JOIN LATERAL (
    SELECT CAST(:start AS timestamptz) + random() * CAST(:span AS interval) AS at
    FROM generate_series(1, (m.id * 7919) % 21)
) t
WHERE t.at > m.joined_at AND random() < :keep
"""
TRANSACTIONS = """
INSERT INTO ledger_transactions (id, idempotency_key, request_hash, type, member_id,
                                 occurred_at, memo)
SELECT 4 * n - 3, 'p' || n, '', 'pending', member_id, at - interval '3 days', '{}'::json
       FROM bench_trips
UNION ALL SELECT 4 * n - 2, 'c' || n, '', 'confirm', member_id, at, '{}' FROM bench_trips
UNION ALL SELECT 4 * n - 1, 'u' || n, '', 'credit', member_id, at, '{}' FROM bench_trips
UNION ALL SELECT 4 * n, 's' || n, '', 'spend', member_id, at + interval '7 days', '{}'
          FROM bench_trips WHERE n % 4 = 0
"""
ENTRIES = """
INSERT INTO ledger_entries (transaction_id, account, member_id, kind, points)
SELECT 4 * n - 3, 'program:issued', NULL, 'ride', -points FROM bench_trips
UNION ALL SELECT 4 * n - 3, 'member:pending', member_id, 'ride', points FROM bench_trips
UNION ALL SELECT 4 * n - 2, 'member:pending', member_id, 'ride', -points FROM bench_trips
UNION ALL SELECT 4 * n - 2, 'member:available', member_id, 'ride', points FROM bench_trips
UNION ALL SELECT 4 * n - 1, 'program:issued', NULL, 'upgrade', -points FROM bench_trips
UNION ALL SELECT 4 * n - 1, 'member:available', member_id, 'upgrade', points FROM bench_trips
UNION ALL SELECT 4 * n, 'member:available', member_id, 'ride', -(points / 2)
          FROM bench_trips WHERE n % 4 = 0
UNION ALL SELECT 4 * n, 'program:redeemed', NULL, 'ride', points / 2
          FROM bench_trips WHERE n % 4 = 0
"""


def add_trips(engine: Engine, *, start: str, days: int, keep: float) -> int:
    """Write trips from `start` over `days` days into the ledger; how many."""
    with engine.begin() as connection:
        first = connection.execute(
            text("SELECT coalesce(max(id), 0) / 4 + 1 FROM ledger_transactions")
        ).scalar_one()
        connection.execute(text("DROP TABLE IF EXISTS bench_trips"))
        connection.execute(
            text(TRIPS),
            {"first": first, "start": start, "span": f"{days} days", "keep": keep},
        )
        connection.execute(text(TRANSACTIONS))
        connection.execute(text(ENTRIES))
        return int(connection.execute(text("SELECT count(*) FROM bench_trips")).scalar_one())


def generate(engine: Engine, program: Program, members: int) -> None:
    """The scale program's members and history (`benchmarks/scale.py`), nothing folded yet."""
    seconds = load(engine, program, members=members, fold=False)
    print("  " + ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items()))


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median seconds of `repeats` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = perf_counter()
        result = fn()
        times.append(perf_counter() - started)
    return median(times), result


def measure(engine: Engine, program: Program, repeats: int) -> dict[str, float]:
    """Seconds per operation, in the order the module docstring gives."""
    uow = SqlUnitOfWork(engine)
    year = {"program": program, "start": YEAR[0], "end": YEAR[1]}
    out: dict[str, float] = {}
    out["kpis_year_unfolded_s"], _ = timed(lambda: analytics.kpis(uow, **year), 1)
    out["first_fold_s"], done = timed(lambda: analytics.refresh_rollups(uow, program=program), 1)
    print(f"  first fold: {done.transactions:,} transactions")
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    out["kpis_year_s"], k = timed(lambda: analytics.kpis(uow, **year), repeats)
    out["summary_year_s"], _ = timed(lambda: summary(uow, **year), repeats)
    month = {"program": program, "start": date(2025, 6, 1), "end": date(2025, 6, 30)}
    out["kpis_month_s"], _ = timed(lambda: analytics.kpis(uow, **month), repeats)
    print(f"  year: {k}")
    night = add_trips(engine, start="2025-12-31 00:00+08", days=1, keep=1 / 365)
    print(f"  one more day: {night:,} trips")
    out["kpis_year_one_day_live_s"], _ = timed(lambda: analytics.kpis(uow, **year), repeats)
    out["nightly_fold_s"], _ = timed(lambda: analytics.refresh_rollups(uow, program=program), 1)
    reports = year_reports(engine, program, YEAR, repeats)
    out.update({name: value for name, value in reports.items() if name != "kpis_year_s"})
    return out


def year_reports(
    engine: Engine, program: Program, days: tuple[date, date], repeats: int
) -> dict[str, float]:
    """Median seconds of each report over `days` (the runner's `reports` workload uses this)."""
    uow = SqlUnitOfWork(engine)
    start, end = days
    year = {"program": program, "start": start, "end": end}
    return {
        "kpis_year_s": timed(lambda: analytics.kpis(uow, **year), repeats)[0],
        "daily_series_year_s": timed(lambda: analytics.daily_series(uow, **year), repeats)[0],
        "tier_mix_s": timed(lambda: analytics.tier_mix(uow, program=program, on=end), repeats)[0],
        "tier_movement_year_s": timed(lambda: analytics.tier_movement(uow, **year), repeats)[0],
        "cohorts_year_s": timed(lambda: analytics.cohorts(uow, **year), repeats)[0],
        "rfm_year_s": timed(lambda: analytics.rfm(uow, **year), repeats)[0],
    }


def main() -> int:
    """Generate, measure, print, drop."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.analytics", description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with Postgres() as server:
        url = server.create()
        engine = make_engine(url)
        try:
            program = install_railway(engine)
            started = perf_counter()
            generate(engine, program, args.members)
            print(f"  generated in {perf_counter() - started:.0f} s")
            counts = row_counts(engine)
            print(
                f"  ledger_transactions {counts['ledger_transactions']:,}, "
                f"ledger_entries {counts['ledger_entries']:,}"
            )
            for name, seconds in measure(engine, program, args.repeats).items():
                print(f"{name:32} {seconds * 1000:10,.1f} ms")
            with engine.connect() as connection:
                sizes = connection.execute(
                    text(
                        "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
                        "WHERE relname LIKE 'analytics_%' AND relkind = 'r'"
                    )
                ).all()
            for name, size in sizes:
                print(f"{name:32} {size / 1e6:10,.1f} MB")
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
