"""`jifen ledger check` on a live database: passes on a busy ledger, reports a tampered one."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
from datetime import date, timedelta

from sqlalchemy import Engine, text

from jifen.domain.errors import InsufficientPoints
from jifen.services import ledger
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0


def jifen(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "JIFEN_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "jifen", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def busy_ledger(uow: SqlUnitOfWork, members: list[int], *, seed: int, operations: int) -> None:
    """Earn, promise, confirm, void, spend, reverse and expire at random (seeded)."""
    rng = random.Random(seed)
    day, open_pending, spends = T0, [], []
    for n in range(operations):
        member, roll, key = rng.choice(members), rng.random(), f"w{n}"
        if roll < 0.3:
            ledger.credit(
                uow,
                key=key,
                member_id=member,
                kind="ride",
                points=rng.randint(1, 900),
                occurred_at=day,
                expires_on=day.date() + timedelta(days=rng.randint(1, 400)),
            )
        elif roll < 0.45:
            open_pending.append(
                ledger.add_pending(
                    uow,
                    key=key,
                    member_id=member,
                    kind="ride",
                    points=rng.randint(1, 900),
                    occurred_at=day,
                ).pending_id
            )
        elif roll < 0.55 and open_pending:
            ledger.confirm_pending(
                uow,
                key=key,
                pending_id=open_pending.pop(),
                occurred_at=day,
                expires_on=day.date() + timedelta(days=365),
            )
        elif roll < 0.6 and open_pending:
            ledger.void_pending(uow, key=key, pending_id=open_pending.pop(0), occurred_at=day)
        elif roll < 0.85:
            with contextlib.suppress(InsufficientPoints):
                spends.append(
                    ledger.spend(
                        uow,
                        key=key,
                        member_id=member,
                        kind="ride",
                        points=rng.randint(1, 700),
                        occurred_at=day,
                    )
                )
        elif roll < 0.9 and spends:
            ledger.reverse(
                uow, key=key, transaction_id=spends.pop().transaction_id, occurred_at=day
            )
        else:
            day += timedelta(days=rng.randint(1, 60))
            with uow:
                due = [
                    lot.id
                    for m in members
                    for lot in uow.ledger.lots_of(m)
                    if lot.remaining and lot.expires_on <= day.date()
                ]
            for lot_id in due:
                ledger.expire_lot(uow, key=f"x{lot_id}-{n}", lot_id=lot_id, occurred_at=day)


def test_check_passes_on_a_busy_ledger_and_names_a_tampered_entry(engine, uow, new_member):
    members = [new_member() for _ in range(5)]
    busy_ledger(uow, members, seed=7, operations=400)

    ok = jifen(engine, "ledger", "check")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Ledger OK" in ok.stdout

    with engine.begin() as connection:
        entry = connection.execute(
            text(
                "SELECT id, transaction_id, lot_id FROM ledger_entries "
                "WHERE account = 'member:available' AND lot_id IS NOT NULL ORDER BY id LIMIT 1"
            )
        ).one()
        connection.execute(
            text("UPDATE ledger_entries SET points = points + 1 WHERE id = :id"), {"id": entry.id}
        )

    failed = jifen(engine, "ledger", "check")
    assert failed.returncode == 1
    assert "Ledger check FAILED" in failed.stdout
    assert f"transaction {entry.transaction_id} (ride)" in failed.stdout
    assert f"lot {entry.lot_id}" in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr


def test_check_reports_a_stored_balance_changed_behind_the_ledgers_back(engine, uow, new_member):
    member = new_member()
    ledger.credit(
        uow,
        key="c",
        member_id=member,
        kind="ride",
        points=100,
        occurred_at=T0,
        expires_on=date(2026, 1, 1),
    )
    with engine.begin() as connection:
        connection.execute(text("UPDATE balances SET available = 5000"))

    failed = jifen(engine, "ledger", "check")
    assert failed.returncode == 1
    assert f"member:{member}:available (ride)" in failed.stdout
    assert "stored balance = sum of entries" in failed.stdout
    assert "balance = sum of open lots" in failed.stdout
