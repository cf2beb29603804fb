"""`jifen recommend` as an operator runs it: seed demo orders, then measure the recommender."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from jifen.storage.db import make_engine
from jifen.storage.tables import members
from tests.conftest import SHANGHAI
from tests.e2e.cli.test_cli_program import jifen

JOINED = datetime(2025, 1, 6, 9, 30, tzinfo=SHANGHAI)


@pytest.fixture
def folder_and_url(engine: Engine, tmp_path: Path) -> tuple[Path, str]:
    return tmp_path, engine.url.render_as_string(hide_password=False)


def add_members(url: str, count: int) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(members), [{"joined_at": JOINED}] * count)
    engine.dispose()


def test_evaluate_refuses_without_orders_then_beats_popularity_on_demo_orders(folder_and_url):
    folder, url = folder_and_url
    assert jifen(folder, url, "init", "--preset", "railway").returncode == 0
    add_members(url, 40)

    empty = jifen(folder, url, "recommend", "evaluate", "--as-of", "2025-11-30")
    assert empty.returncode == 1
    assert "not_enough_data: Only 0 member(s) bought two or more products" in empty.stdout
    assert "jifen recommend demo-orders" in empty.stdout

    seeded = jifen(folder, url, "recommend", "demo-orders", "--members", "40", "--seed", "3")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert "44 demo products defined; 40 members ordered" in seeded.stdout
    assert "refused: none" in seeded.stdout

    again = jifen(folder, url, "recommend", "demo-orders", "--members", "40", "--seed", "3")
    assert "0 demo products defined" in again.stdout
    assert " 0 orders placed" in again.stdout

    measured = jifen(folder, url, "recommend", "evaluate", "--as-of", "2025-11-30", "--k", "10")
    assert measured.returncode == 0, measured.stdout + measured.stderr
    assert "mall items │ 40 " in measured.stdout
    assert "Mall: the model beats the popularity baseline (hit rate@10" in measured.stdout

    ledger = jifen(folder, url, "ledger", "check")
    assert ledger.returncode == 0, ledger.stdout
