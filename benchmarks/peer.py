"""The peer: Jifen's ledger postings against django-hordak 2.0's, on the same PostgreSQL server.

Both sides post the same number of two-leg transactions (a source account to a member's) into
a fresh database each, one after the other, never side by side. Online is one database
transaction per posting; bulk is the same count in batches, one database transaction per
batch. hordak runs in its own virtual environment (Django and hordak from PyPI, never Jifen's
dependencies), as a subprocess that prints its timings as JSON (`peer_hordak/bench.py`); Jifen
posts with `services.ledger.credit` (online) and `credit_many`, the ledger's bulk path (bulk), in
this process. The venv is built once and kept in a cache
folder keyed by the pinned versions.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import Engine, event, func, select

from benchmarks.databases import Postgres, conninfo, install_railway
from benchmarks.dataset import enrol_all
from benchmarks.report import Check, Results, console
from benchmarks.sizes import Sizes
from jifen.demo import people
from jifen.services import ledger
from jifen.services.ledger.bulk import Credit, credit_many
from jifen.services.ledger.posting import Posted
from jifen.services.ledger_check import check_ledger
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine
from jifen.storage.tables import ledger_transactions
from jifen.storage.uow import SqlUnitOfWork

PINS = ("django-hordak==2.0.*", "Django==4.2.*", "psycopg[binary]==3.2.*")
PEER_SCRIPT = Path(__file__).resolve().parent / "peer_hordak" / "bench.py"
CACHE = Path(os.environ.get("JIFEN_BENCH_CACHE", Path.home() / ".cache" / "jifen-bench"))
WARMUP = 50  # untimed postings on each side first: connections, statement caches
KIND = "activity"
OCCURRED_AT = datetime(2025, 6, 1, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
EXPIRES_ON = date(2027, 12, 31)

USE_CASE = {"online": "credit", "bulk": "credit_many"}


@dataclass(frozen=True, slots=True)
class Timings:
    """One side's seconds for `postings` online and `postings` in bulk."""

    online_seconds: float
    bulk_seconds: float
    online_statements: float  # per posting, counted on untimed postings after the warm-up
    commit_ceiling_per_s: float  # one-row INSERT + COMMIT, on the same database


def commit_ceiling(url: str, count: int) -> float:
    """Commits per second of a one-row INSERT each: the floor any online posting stands on."""
    with psycopg.connect(conninfo(url)) as connection:
        connection.execute("CREATE TABLE bench_commits (id bigserial PRIMARY KEY, n int)")
        connection.commit()
        began = perf_counter()
        for n in range(count):
            connection.execute("INSERT INTO bench_commits (n) VALUES (%s)", (n,))
            connection.commit()
        seconds = perf_counter() - began
        connection.execute("DROP TABLE bench_commits")
        connection.commit()
    return count / seconds


def peer_python() -> Path:
    """The peer venv's interpreter, built on first use under CACHE (keyed by the pins)."""
    base = shutil.which("python3.11") or sys.executable
    key = hashlib.sha256("\n".join((*PINS, base)).encode()).hexdigest()[:12]
    folder = CACHE / f"hordak-venv-{key}"
    python = folder / "bin" / "python"
    if (folder / "ready").exists():
        return python
    building = CACHE / f"hordak-venv-{key}.building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    console.print(f"  building the hordak venv in {folder} (once) …")
    began = perf_counter()
    _call([base, "-m", "venv", str(building)])
    _call([str(building / "bin" / "python"), "-m", "pip", "install", "--quiet", *PINS])
    (building / "ready").write_text("\n".join(PINS) + "\n", encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    building.rename(folder)  # only bin/python is used, which survives the move
    console.print(f"  venv ready ({perf_counter() - began:.1f} s)")
    return python


def _call(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=900)  # noqa: S603


def run_peer(results: Results, sizes: Sizes, pg: Postgres) -> None:
    """`peer_online`, `peer_bulk`: hordak, then Jifen, each on a fresh database; the ratios."""
    python = peer_python()
    url = pg.create()
    try:
        peer = _hordak(python, url, sizes)
    finally:
        pg.drop(url)
    _check_peer(results, peer, sizes)
    url = pg.create()
    try:
        jifen = _jifen(results, url, sizes)
    finally:
        pg.drop(url)
    _report(results, sizes, peer, jifen)


def _hordak(python: Path, url: str, sizes: Sizes) -> dict[str, Any]:
    command = [
        str(python),
        str(PEER_SCRIPT),
        *("--postings", str(sizes.peer_postings), "--members", str(sizes.peer_members)),
        *("--batch", str(sizes.peer_batch), "--warmup", str(WARMUP)),
    ]
    env = {**os.environ, "JIFEN_PEER_DATABASE_URL": conninfo(url)}
    done = subprocess.run(  # noqa: S603 - our own script in our own venv
        command, env=env, capture_output=True, text=True, timeout=3600, check=False
    )
    if done.returncode != 0:
        msg = f"the hordak script failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
        raise RuntimeError(msg)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    console.print(
        f"  hordak {figures['hordak']} on Django {figures['django']}: online "
        f"{figures['online_seconds']:.2f} s, bulk {figures['bulk_seconds']:.2f} s"
    )
    return figures


def _check_peer(results: Results, peer: dict[str, Any], sizes: Sizes) -> None:
    missing = {"check_leg_trigger", "check_leg_and_account_currency_match_trigger"} - set(
        peer["triggers"]
    )
    if missing:
        results.problem(f"peer: hordak's triggers missing: {', '.join(sorted(missing))}")
    if not peer["refuses_unbalanced"]:
        results.problem("peer: hordak's database accepted an unbalanced transaction")
    if (
        peer["transactions"] != peer["expected_transactions"]
        or peer["legs"] != 2 * peer["transactions"]
    ):
        results.problem(
            f"peer: hordak stored {peer['transactions']} transactions and {peer['legs']} legs "
            f"for {peer['expected_transactions']} postings"
        )
    results.sizes["peer"] = {
        "postings": sizes.peer_postings,
        "members": sizes.peer_members,
        "batch": sizes.peer_batch,
        "warmup": WARMUP,
        "hordak": peer["hordak"],
        "django": peer["django"],
        "psycopg": peer["psycopg"],
        "hordak_triggers": peer["triggers"],
    }


def _jifen(results: Results, url: str, sizes: Sizes) -> Timings:
    """Jifen's credits: warm-up, N online (a unit of work each), N in batches of `peer_batch`."""
    engine = make_engine(url)
    try:
        members = _members(engine, sizes.peer_members)
        warm = max(WARMUP, len(members))  # every member's first credit also opens its balance
        _online(engine, members, 0, warm)
        statements = _count_statements(engine, lambda: _online(engine, members, warm, WARMUP))
        first = warm + WARMUP
        online = _online(engine, members, first, sizes.peer_postings)
        first += sizes.peer_postings
        bulk = _bulk(engine, members, first, sizes.peer_postings, sizes.peer_batch)
        _check_jifen(results, engine, first + sizes.peer_postings)
    finally:
        engine.dispose()
    ceiling = commit_ceiling(url, min(sizes.peer_postings, 1000))
    return Timings(online, bulk, statements / WARMUP, ceiling)


def _members(engine: Engine, count: int) -> list[int]:
    program = install_railway(engine)
    vault = IdentityVault([IdentityVault.generate_key()], IdentityVault.generate_key())
    cast = people.members(
        count=count, seed=8, joined_from=date(2024, 1, 1), joined_to=date(2025, 5, 1)
    )
    return enrol_all(engine, program=program, vault=vault, cast=list(cast))


def _credit_of(members: list[int], n: int) -> Credit:
    return Credit(
        key=f"peer:{n}",
        member_id=members[n % len(members)],
        kind=KIND,
        points=10 + n % 1000,  # the same amounts as the hordak side
        occurred_at=OCCURRED_AT,
        expires_on=EXPIRES_ON,
        memo={"n": n},
    )


def _online(engine: Engine, members: list[int], first: int, count: int) -> float:
    began = perf_counter()
    for n in range(first, first + count):
        c = _credit_of(members, n)
        ledger.credit(  # as the API does: a unit of work per request
            SqlUnitOfWork(engine),
            key=c.key,
            member_id=c.member_id,
            kind=c.kind,
            points=c.points,
            occurred_at=c.occurred_at,
            expires_on=c.expires_on,
            memo=c.memo,
        )
    return perf_counter() - began


def _bulk(engine: Engine, members: list[int], first: int, count: int, batch: int) -> float:
    """The ledger's bulk path (`credit_many`): one transaction and a few statements per batch."""
    began = perf_counter()
    for start in range(first, first + count, batch):
        postings = [_credit_of(members, n) for n in range(start, min(start + batch, first + count))]
        results = credit_many(SqlUnitOfWork(engine), postings)
        if any(not isinstance(r, Posted) for r in results):
            raise RuntimeError(f"a bulk credit was refused: {results}")
    return perf_counter() - began


def _count_statements(engine: Engine, work: Any) -> int:
    count = 0

    def counted(*_: Any) -> None:
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", counted)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count


def _check_jifen(results: Results, engine: Engine, expected: int) -> None:
    with engine.connect() as connection:
        posted = connection.execute(
            select(func.count()).where(ledger_transactions.c.idempotency_key.like("peer:%"))
        ).scalar_one()
    if posted != expected:
        results.problem(f"peer: Jifen stored {posted} ledger transactions for {expected} credits")
    if not check_ledger(SqlUnitOfWork(engine)).ok:
        results.problem("peer: `jifen ledger check` fails after Jifen's credits")


def _report(results: Results, sizes: Sizes, peer: dict[str, Any], jifen: Timings) -> None:
    n = sizes.peer_postings
    figures = {
        "peer_online_per_s": n / peer["online_seconds"],
        "peer_bulk_per_s": n / peer["bulk_seconds"],
        "jifen_ledger_online_per_s": n / jifen.online_seconds,
        "jifen_ledger_bulk_per_s": n / jifen.bulk_seconds,
    }
    results.record(
        **figures,
        peer_online_ratio=figures["jifen_ledger_online_per_s"] / figures["peer_online_per_s"],
        peer_bulk_ratio=figures["jifen_ledger_bulk_per_s"] / figures["peer_bulk_per_s"],
        peer_postings=n,
        peer_migrate_s=peer["migrate_seconds"],
        peer_online_statements_per_posting=peer["online_statements_per_posting"],
        peer_bulk_statements_per_batch=peer["bulk_statements_per_batch"],
        jifen_ledger_online_statements_per_posting=jifen.online_statements,
        peer_commit_ceiling_per_s=jifen.commit_ceiling_per_s,
    )
    results.notes.append(
        f"peer: one-row INSERT + COMMIT runs at {jifen.commit_ceiling_per_s:,.0f}/s on this "
        "server: the ceiling of any online posting (one synchronous commit each)"
    )
    for mode, use_case in USE_CASE.items():
        mine, theirs = figures[f"jifen_ledger_{mode}_per_s"], figures[f"peer_{mode}_per_s"]
        label = "one transaction each" if mode == "online" else f"batches of {sizes.peer_batch:,}"
        results.check(
            Check(
                f"peer_{mode}: {use_case}, {n:,} postings ({label})",
                mine,
                "/s",
                "≥ 3× hordak",
                mine >= 3 * theirs,
                reference="hordak 2.0",
                reference_value=theirs,
                ratio_style="×",
            )
        )
    console.print(
        f"  Jifen: online {jifen.online_seconds:.2f} s, bulk {jifen.bulk_seconds:.2f} s "
        f"({jifen.online_statements:.1f} statements per online credit)"
    )
