"""A railway program at scale for the daily job and the reports, written with set-based SQL.

`python -m benchmarks.scale --members N` builds one on a fresh PostgreSQL database, checks its
ledger, runs the daily job once (per step) and the summary report, and drops it (`--keep` keeps it).
The runner's `daily_job` and `summary_report` use `build` with `sizes.scale_members`.

The rows are those the ticket events and the earlier nights' daily jobs leave (see
`services/events/tickets.py`, `services/daily.py`): for each trip a `pending` transaction at its
purchase (`program:issued` → `member:pending`, an open pending item), and at travel a `confirm`
(the pending item confirmed into a ride lot expiring 12 months later) and a `credit` of as many
upgrade points (a lot that never expires) with its `earnings` row; one trip in four is followed a
week later by a `spend` of half its ride points (from that trip's lot, into `program:redeemed`).
Tickets bought before the job's day for a later train stay pending. Earlier nights expired every
ride lot whose day had come up to `missed + 1` days before the job's day (an `expiry` transaction,
the lot at zero), queued their expiry reminders (and `points.expiring` notifications), and folded
the ledger into the analytics rollups up to the trips of the day before the job's day. Balances
are the sums of lots and open pending items. Tiers: a member holds the tier the upgrade points of
the 12 months to three days before the job's day support (one member in ten with at least 25,000
points one tier higher, as if left from the year before), valid for 12 months from a day spread
over the last year, with its `upgrade` row in `tier_history` and its `tier.changed`
notification. Members carry no identity (names, ID numbers, phones are NULL): nothing here reads
them. `events` and `tickets` rows are not written: neither the job nor the reports read them.

Trips: one member in fifty is a frequent traveller (40–149 trips, ¥100–¥900 fares, who reach
the upper tiers), the others make 0–3 trips (¥20–¥600) over the 13 months before the job's day,
so the ledger has about 22 entries per member (22M at 1M members). So the job has work: the ride
lots of 3 days expire (`missed` = 2 nights not run), reminders for 3 new expiry days, members
whose last trips lifted them over a threshold are upgraded, tiers that lapsed are renewed or
lowered, and two days of ledger are folded.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import date, timedelta
from time import perf_counter
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url

from benchmarks.databases import Postgres, install_railway, row_counts
from jifen.domain.calendar import rolling_window_start
from jifen.programs.schema import Program
from jifen.services.analytics.period import rollups, spendable_kinds
from jifen.services.daily import DailyReport, run_daily
from jifen.services.ledger_check import check_ledger
from jifen.services.programs import active_program
from jifen.services.reports import summary
from jifen.storage.db import make_engine
from jifen.storage.uow import SqlUnitOfWork

AS_OF = date(2026, 1, 5)  # the night the job runs for
HISTORY_DAYS = 395  # travel days before AS_OF: 13 months, so a month of lots has expired already
MISSED = 2  # nights the job did not run before AS_OF: their lots are due too
FOLD_CHUNK = 200_000

MEMBERS = """
INSERT INTO members (id, status, joined_at, tier_code, tier_in_grace)
SELECT g, 'active',
       (CAST(:first AS timestamp) - interval '20 days'
        - (g::bigint * 7919 % 700) * interval '1 day') AT TIME ZONE :zone,
       :join_tier, false
FROM generate_series(1, :members) AS g
"""

# One row per trip, numbered in travel order (so transaction ids grow with time, as they do).
TRIPS = """
CREATE UNLOGGED TABLE bench_trips AS
WITH raw AS (
    SELECT m.id AS member_id, m.id % 50 = 0 AS frequent,
           CAST(:first AS date) + floor(random() * (:days + 14))::int AS day,
           interval '6 hours' + random() * interval '16 hours' AS clock,
           random() * interval '14 days' AS ahead,
           random() AS fare
    FROM members m
    CROSS JOIN LATERAL generate_series(
        1, CASE WHEN m.id % 50 = 0 THEN 40 + m.id * 7919 % 110 ELSE m.id * 7919 % 4 END
    )
),
timed AS (
    SELECT member_id, day,
           (day + clock) AT TIME ZONE :zone AS travelled_at,
           (day + clock - ahead) AT TIME ZONE :zone AS bought_at,
           CASE WHEN frequent THEN 10000 + floor(fare * 80000)
                ELSE 2000 + floor(fare * 58000) END::bigint AS fare_fen
    FROM raw
)
SELECT *, CASE WHEN expired
                  THEN row_number() OVER (PARTITION BY expired ORDER BY expires_on, n) END AS x
FROM (
    SELECT *, CASE WHEN travelled AND n % 4 = 0 AND day + 7 < CAST(:as_of AS date)
                   THEN points / 2 ELSE 0 END AS spent,
              travelled AND expires_on < CAST(:as_of AS date) - :missed AS expired
    FROM (
        SELECT row_number() OVER (ORDER BY travelled_at) AS n, member_id, day, travelled_at,
               bought_at, fare_fen, (fare_fen * 5 + 50) / 100 AS points,
               day < CAST(:as_of AS date) AS travelled,
               (day + interval '12 months')::date AS expires_on
        FROM timed
        WHERE bought_at < CAST(:as_of AS timestamp) AT TIME ZONE :zone
    ) AS numbered
) AS facts;
CREATE INDEX ON bench_trips (n);
ANALYZE bench_trips
"""
# Transaction ids: the earlier nights' expiries first (1..E), then 4 per trip from E.
TRANSACTIONS = """
INSERT INTO ledger_transactions (id, idempotency_key, request_hash, type, member_id,
                                 occurred_at, memo)
SELECT x, 'expire:' || (2 * n - 1) || ':' || expires_on, '', 'expiry', member_id,
       CAST(expires_on AS timestamp) AT TIME ZONE :zone,
       json_build_object('job', 'daily', 'as_of', CAST(expires_on AS text))
FROM bench_trips WHERE expired
UNION ALL
SELECT :e + 4 * n - 3, 'b' || n || '\\:ride', '', 'pending', member_id, bought_at,
       json_build_object('event_id', 'b' || n, 'rules', json_build_array(json_build_object(
           'rule', 'ride_base_5x', 'kind', 'ride', 'points', points, 'mirrored', false)))
FROM bench_trips
UNION ALL
SELECT :e + 4 * n - 2, 't' || n || '\\:ride:confirm', '', 'confirm', member_id, travelled_at,
       json_build_object('event_id', 't' || n, 'rules', json_build_array(json_build_object(
           'rule', 'ride_base_5x', 'kind', 'ride', 'points', points, 'mirrored', false)))
FROM bench_trips WHERE travelled
UNION ALL
SELECT :e + 4 * n - 1, 't' || n || '\\:upgrade', '', 'credit', member_id, travelled_at,
       json_build_object('event_id', 't' || n, 'rules', json_build_array(json_build_object(
           'rule', 'ride_base_5x', 'kind', 'upgrade', 'points', points, 'mirrored', true)))
FROM bench_trips WHERE travelled
UNION ALL
SELECT :e + 4 * n, 'r' || n || '\\:spend', '', 'spend', member_id,
       travelled_at + interval '7 days', json_build_object('redemption_id', 'r' || n)
FROM bench_trips WHERE spent > 0
"""
PENDING = """
INSERT INTO pending_points (id, member_id, kind, points, status, reference, transaction_id)
SELECT n, member_id, 'ride', points, CASE WHEN travelled THEN 'confirmed' ELSE 'open' END,
       'T' || n, :e + 4 * n - 3
FROM bench_trips
"""
# Lot 2n - 1 holds trip n's ride points, lot 2n its upgrade points.
LOTS = """
INSERT INTO lots (id, member_id, kind, credited_on, expires_on, original, remaining,
                  transaction_id)
SELECT 2 * n - 1, member_id, 'ride', day, expires_on, points,
       CASE WHEN expired THEN 0 ELSE points - spent END, :e + 4 * n - 2
FROM bench_trips WHERE travelled
UNION ALL
SELECT 2 * n, member_id, 'upgrade', day, NULL, points, points, :e + 4 * n - 1
FROM bench_trips WHERE travelled
"""
ENTRIES = """
INSERT INTO ledger_entries (transaction_id, account, member_id, kind, points, lot_id,
                            pending_id)
SELECT :e + 4 * n - 3, 'program:issued', CAST(NULL AS bigint), 'ride', -points,
       CAST(NULL AS bigint), CAST(NULL AS bigint)
FROM bench_trips
UNION ALL SELECT :e + 4 * n - 3, 'member:pending', member_id, 'ride', points, NULL, n
          FROM bench_trips
UNION ALL SELECT :e + 4 * n - 2, 'member:pending', member_id, 'ride', -points, NULL, n
          FROM bench_trips WHERE travelled
UNION ALL SELECT :e + 4 * n - 2, 'member:available', member_id, 'ride', points, 2 * n - 1, NULL
          FROM bench_trips WHERE travelled
UNION ALL SELECT :e + 4 * n - 1, 'program:issued', NULL, 'upgrade', -points, NULL, NULL
          FROM bench_trips WHERE travelled
UNION ALL SELECT :e + 4 * n - 1, 'member:available', member_id, 'upgrade', points, 2 * n, NULL
          FROM bench_trips WHERE travelled
UNION ALL SELECT :e + 4 * n, 'member:available', member_id, 'ride', -spent, 2 * n - 1, NULL
          FROM bench_trips WHERE spent > 0
UNION ALL SELECT :e + 4 * n, 'program:redeemed', NULL, 'ride', spent, NULL, NULL
          FROM bench_trips WHERE spent > 0
UNION ALL SELECT x, 'member:available', member_id, 'ride', -(points - spent), 2 * n - 1, NULL
          FROM bench_trips WHERE expired
UNION ALL SELECT x, 'program:expired', NULL, 'ride', points - spent, NULL, NULL
          FROM bench_trips WHERE expired
"""
EARNINGS = """
INSERT INTO earnings (member_id, rule_code, day, points, event_id)
SELECT member_id, 'ride_base_5x', day, points, 't' || n || '\\:confirm'
FROM bench_trips WHERE travelled ORDER BY n
"""
# Versions count the postings on each balance, as `move_balance` bumps them.
BALANCES = """
INSERT INTO balances (member_id, kind, available, pending, version)
SELECT member_id, kind, sum(available), sum(pending), sum(postings)
FROM (
    SELECT member_id, 'ride' AS kind,
           CASE WHEN expired OR NOT travelled THEN 0 ELSE points - spent END AS available,
           CASE WHEN travelled THEN 0 ELSE points END AS pending,
           1 + travelled::int + (spent > 0)::int + expired::int AS postings
    FROM bench_trips
    UNION ALL
    SELECT member_id, 'upgrade', points, 0, 1 FROM bench_trips WHERE travelled
) AS parts
GROUP BY member_id, kind
"""
# The previous nights' reminders: one per member and expiry day, 30 days ahead, up to the last
# night that ran (AS_OF - MISSED - 1), and their notifications, long since fanned out.
REMINDERS = """
INSERT INTO reminders (member_id, kind, expires_on, points, queued_on)
SELECT member_id, 'ride', expires_on, sum(points - spent), expires_on - 30
FROM bench_trips
WHERE travelled AND expires_on <= CAST(:as_of AS date) - :missed - 1 + 30
GROUP BY member_id, expires_on
ORDER BY expires_on - 30, member_id
"""
REMINDER_NOTIFICATIONS = """
INSERT INTO notifications (topic, dedupe_key, payload, occurred_at, fanned_out)
SELECT 'points.expiring',
       'points.expiring:' || member_id || ':' || kind || ':' || expires_on,
       json_build_object('member_id', member_id, 'kind', kind, 'points', points,
                         'expires_on', CAST(expires_on AS text)),
       CAST(queued_on AS timestamp) AT TIME ZONE :zone, true
FROM reminders ORDER BY id
"""
QUALIFYING = """
CREATE UNLOGGED TABLE bench_tiers AS
SELECT member_id, sum(points) AS points
FROM bench_trips
WHERE travelled AND day >= CAST(:since AS date) AND day <= CAST(:until AS date)
GROUP BY member_id
"""
TIER_HISTORY = """
CREATE UNLOGGED TABLE bench_tier_state AS
SELECT member_id, points, code, valid_until,
       (valid_until + 1 - interval '12 months')::date AS decided_on
FROM (
    SELECT member_id, points,
           (CAST(:codes AS text[]))[1 + least(
               {rank} + CASE WHEN member_id % 10 = 0 AND points >= 25000 THEN 1 ELSE 0 END,
               :top)] AS code,
           CAST(:until AS date) + (member_id * 37 % 365)::int AS valid_until
    FROM bench_tiers
) AS s
WHERE code <> :join_tier;
UPDATE members m SET tier_code = s.code, tier_valid_until = s.valid_until
FROM bench_tier_state s WHERE s.member_id = m.id;
INSERT INTO tier_history (member_id, decided_on, old_code, new_code, valid_until, reason,
                          qualifying_points)
SELECT member_id, decided_on, :join_tier, code, valid_until, 'upgrade', points
FROM bench_tier_state ORDER BY decided_on, member_id;
INSERT INTO notifications (topic, dedupe_key, payload, occurred_at, fanned_out)
SELECT 'tier.changed', 'tier.changed:' || member_id || ':' || decided_on,
       json_build_object('member_id', member_id, 'old_tier', CAST(:join_tier AS text),
                         'new_tier', code,
                         'valid_until', CAST(valid_until AS text), 'in_grace', false,
                         'reason', 'upgrade', 'qualifying_points', points,
                         'decided_on', CAST(decided_on AS text)),
       CAST(decided_on AS timestamp) AT TIME ZONE :zone, true
FROM bench_tier_state ORDER BY decided_on, member_id
"""
# Indexes that back no primary key and no foreign key: dropped for the load and built again
# afterwards (one sort each instead of millions of insertions). Returns (table, name, definition).
SECONDARY_INDEXES = """
SELECT c.relname, i.relname, pg_get_indexdef(x.indexrelid),
       (SELECT conname FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype = 'u')
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
WHERE c.relname IN ('ledger_transactions', 'ledger_entries', 'lots', 'pending_points',
                    'earnings', 'reminders', 'notifications', 'tier_history')
  AND NOT x.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f'
                                                 AND f.conindid = x.indexrelid)
"""
SEQUENCES = (
    "members",
    "ledger_transactions",
    "ledger_entries",
    "lots",
    "pending_points",
    "earnings",
    "tier_history",
    "reminders",
    "notifications",
)


@dataclass(frozen=True, slots=True)
class ScaleProgram:
    """A loaded program: where it is, the night to run the job for, and what it holds."""

    url: str
    program: Program
    as_of: date
    start: date  # the first travel day of the history
    end: date  # the last day before `as_of`
    members: int
    seconds: dict[str, float] = field(default_factory=dict)  # load time per phase


def _statements(sql: str) -> list[str]:
    return [part.strip() for part in sql.split(";") if part.strip()]


def _run(connection: Connection, sql: str, params: dict[str, Any]) -> None:
    for statement in _statements(sql):
        connection.execute(text(statement), params)


def _rank_case(program: Program) -> str:
    """SQL for the tier rank (0 = join tier) that `points` support."""
    levels = list(program.tiers.levels)
    whens = " ".join(
        f"WHEN points >= {level.threshold} THEN {rank}"
        for rank, level in reversed(list(enumerate(levels)))
        if rank > 0
    )
    return f"(CASE {whens} ELSE 0 END)"


def load(
    engine: Engine,
    program: Program,
    *,
    members: int,
    as_of: date = AS_OF,
    missed: int = MISSED,
    fold: bool = True,
) -> dict[str, float]:
    """Write the program's members and history into a migrated database; seconds per phase.

    With `fold`, the earlier nights' folds into the analytics rollups are made too.
    """
    zone = program.timezone
    first = as_of - timedelta(days=HISTORY_DAYS)
    codes = [level.code for level in program.tiers.levels]
    tier_day = as_of - timedelta(days=missed + 1)
    params: dict[str, Any] = {
        "members": members,
        "first": first,
        "days": HISTORY_DAYS,
        "as_of": as_of,
        "missed": missed,
        "zone": zone,
        "join_tier": codes[0],
        "codes": codes,
        "top": len(codes) - 1,
        "since": rolling_window_start(tier_day, 12),
        "until": tier_day,
    }
    seconds: dict[str, float] = {}

    def phase(name: str, connection: Connection, sql: str) -> None:
        started = perf_counter()
        _run(connection, sql, params)
        seconds[name] = seconds.get(name, 0.0) + perf_counter() - started

    with engine.begin() as connection:
        connection.execute(text("SET LOCAL work_mem = '256MB'"))
        # The rows are consistent by construction (`jifen ledger check` verifies it afterwards);
        # skipping the foreign-key triggers makes the load several times faster.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("SELECT setseed(0.2026)"))
        indexes = connection.execute(text(SECONDARY_INDEXES)).all()
        for table, name, _definition, constraint in indexes:
            if constraint is None:
                connection.execute(text(f'DROP INDEX "{name}"'))
            else:
                connection.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"'))
        phase("members", connection, MEMBERS)
        phase("trips", connection, TRIPS)
        params["e"] = connection.execute(
            text("SELECT count(*) FROM bench_trips WHERE expired")
        ).scalar_one()
        phase("transactions", connection, TRANSACTIONS)
        phase("pending_lots", connection, PENDING + ";" + LOTS)
        phase("entries", connection, ENTRIES)
        phase("earnings_balances", connection, EARNINGS + ";" + BALANCES)
        phase("reminders", connection, REMINDERS + ";" + REMINDER_NOTIFICATIONS)
        tiers = TIER_HISTORY.replace("{rank}", _rank_case(program))
        phase("tiers", connection, QUALIFYING + ";" + tiers)
        # Earlier nights folded the ledger up to the trips of the day before `as_of`.
        watermark = connection.execute(
            text("SELECT :e + 4 * coalesce(max(n), 0) FROM bench_trips WHERE day < :yesterday"),
            {"e": params["e"], "yesterday": as_of - timedelta(days=1)},
        ).scalar_one()
        for table in SEQUENCES:
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            )
        for scratch in ("bench_trips", "bench_tiers", "bench_tier_state"):
            connection.execute(text(f"DROP TABLE {scratch}"))
        started = perf_counter()
        connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for table, name, definition, constraint in indexes:
            connection.execute(text(definition))
            if constraint is not None:
                add = f'ADD CONSTRAINT "{constraint}" UNIQUE USING INDEX "{name}"'
                connection.execute(text(f'ALTER TABLE "{table}" {add}'))
        seconds["indexes"] = perf_counter() - started
    started = perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE)"))
    seconds["vacuum_analyze"] = perf_counter() - started
    if fold:
        started = perf_counter()
        fold_through(engine, program, int(watermark))
        seconds["earlier_folds"] = perf_counter() - started
    return seconds


def fold_through(engine: Engine, program: Program, watermark: int) -> None:
    """Fold the ledger into the analytics rollups up to transaction `watermark`, as nights did."""
    uow = SqlUnitOfWork(engine)
    kinds = spendable_kinds(program)
    while True:
        with uow:
            repo = rollups(uow, program)
            after = repo.lock_watermark()
            if after >= watermark:
                return
            repo.fold(kinds=kinds, after=after, through=min(after + FOLD_CHUNK, watermark))
            uow.commit()


def build(pg: Postgres, *, members: int) -> ScaleProgram:
    """A fresh database holding the program at `members` members; the caller drops it."""
    url = pg.create()
    engine = make_engine(url)
    try:
        started = perf_counter()
        program = install_railway(engine)
        seconds = load(engine, program, members=members)
        seconds["total"] = perf_counter() - started
    finally:
        engine.dispose()
    return ScaleProgram(
        url=url,
        program=program,
        as_of=AS_OF,
        start=_history(AS_OF)[0],
        end=_history(AS_OF)[1],
        members=members,
        seconds=seconds,
    )


def step_timer(engine: Engine) -> tuple[list[float], Any]:
    """Instants at which the daily job recorded a finished step (its `job_runs` insert).

    Returns the list the instants are appended to and the listener (to remove afterwards).
    """
    marks: list[float] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO JOB_RUNS"):
            marks.append(perf_counter())

    event.listen(engine, "before_cursor_execute", executed)
    return marks, executed


def timed_daily(engine: Engine, scale: ScaleProgram) -> tuple[float, dict[str, float], DailyReport]:
    """Run the daily job for `scale.as_of`: seconds in all, seconds per step, the report."""
    marks, listener = step_timer(engine)
    started = perf_counter()
    try:
        report = run_daily(SqlUnitOfWork(engine), program=scale.program, as_of=scale.as_of)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    seconds = perf_counter() - started
    names = [name for name in report.steps if name not in report.skipped]
    edges = [started, *marks]
    steps = {name: edges[i + 1] - edges[i] for i, name in enumerate(names) if i + 1 < len(edges)}
    return seconds, steps, report


def main() -> int:
    """Build (or copy `--from`), check, run the job and the summary, print, drop."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--no-check", action="store_true", help="skip `jifen ledger check`")
    parser.add_argument(
        "--keep", action="store_true", help="build, check and keep the database; no job"
    )
    parser.add_argument("--from", dest="source", help="run on a copy of this kept database")
    args = parser.parse_args()
    with Postgres() as server:
        if args.source:
            url = server.create(template=args.source)
            engine = make_engine(url)
            with SqlUnitOfWork(engine) as uow:
                program = active_program(uow)
            members = row_counts(engine)["members"]
            scale = ScaleProgram(url, program, AS_OF, *_history(AS_OF), members)
        else:
            scale = build(server, members=args.members)
            print(f"  loaded {args.members:,} members: {_format(scale.seconds)}")
            engine = make_engine(scale.url)
        try:
            counts = row_counts(engine)
            print("  " + ", ".join(f"{t} {n:,}" for t, n in counts.items() if n))
            if not args.no_check:
                started = perf_counter()
                check = check_ledger(SqlUnitOfWork(engine))
                print(f"  ledger check: {check} ({perf_counter() - started:.1f} s)")
            if args.keep:
                server.created.remove(str(make_url(scale.url).database))
                print(f"  kept {scale.url}")
                return 0
            seconds, steps, report = timed_daily(engine, scale)
            print(f"  daily job {scale.as_of}: {seconds:.2f} s; {_format(steps)}")
            print(f"  {report.steps}")
            times = []
            for _ in range(3):
                started = perf_counter()
                summary(
                    SqlUnitOfWork(engine), program=scale.program, start=scale.start, end=scale.end
                )
                times.append(perf_counter() - started)
            print(f"  summary: {', '.join(f'{t:.2f}' for t in times)} s")
        finally:
            engine.dispose()
    return 0


def _history(as_of: date) -> tuple[date, date]:
    """The first and last day of the history before `as_of`."""
    return as_of - timedelta(days=HISTORY_DAYS), as_of - timedelta(days=1)


def _format(seconds: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items())


if __name__ == "__main__":
    raise SystemExit(main())
