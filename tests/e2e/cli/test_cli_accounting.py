"""`jifen accounting …` and `/v1/accounting/…` end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.programs import install_program
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import Api
from tests.e2e.cli.test_ledger_check_cli import jifen
from tests.integration.services.test_accounting import D1, D2, D3, D4, FAR, at, credit, spend


def small_ledger(uow: SqlUnitOfWork, new_member: Callable[[], int]) -> None:
    """1,000 points issued on D1; 300 redeemed on D2; 200 expire on D3; 500 redeemed on D4."""
    a, b = new_member(), new_member()
    credit(uow, a, 800, on=D1, expires=FAR)
    credit(uow, b, 200, on=D1, expires=D3)
    spend(uow, a, 300, on=D2)
    with uow:
        lot = uow.ledger.lots_of(b)[0].id
    ledger.expire_lot(uow, key="x-b", lot_id=lot, occurred_at=at(D3, 0))
    spend(uow, a, 500, on=D4)


@pytest.fixture
def books(engine: Engine, railway: Program, new_member: Callable[[], int]) -> Engine:
    install_program(SqlUnitOfWork(engine), program=railway, source="preset:railway")
    small_ledger(SqlUnitOfWork(engine), new_member)
    return engine


class TestCli:
    def test_estimate_liability_and_journal(self, books: Engine, tmp_path: Path) -> None:
        done = jifen(books, "accounting", "estimate", "--as-of", str(D3))
        assert done.returncode == 0, done.stdout + done.stderr
        # the January cohort is still the current month: 200 expired of 500 settled = 40%
        assert "v1" in done.stdout
        assert "4000 bps" in done.stdout
        assert "history_to_date" in done.stdout

        shown = jifen(books, "accounting", "liability", "--as-of", str(D3))
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert "500" in shown.stdout  # points held at the end of D3
        assert "300" in shown.stdout  # 500 fen × (1 − 40%)

        out = tmp_path / "journal.csv"
        args = ("accounting", "journal", "--from", str(D1), "--to", str(D4), "--output", str(out))
        done = jifen(books, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
        for day in (D1, D2, D3, D4):
            of_day = [r for r in rows if r["date"] == str(day)]
            debits = sum(int(r["debit_fen"]) for r in of_day)
            assert debits == sum(int(r["credit_fen"]) for r in of_day)
        issued = [r for r in rows if r["date"] == str(D1)]
        assert [(r["account_code"], r["debit_fen"], r["credit_fen"]) for r in issued] == [
            ("6001", "1000", "0"),
            ("2401", "0", "1000"),
        ]

    def test_bad_dates_are_refused_with_a_code(self, books: Engine) -> None:
        done = jifen(books, "accounting", "journal", "--from", str(D4), "--to", str(D1))
        assert done.returncode == 1
        assert "invalid_period" in done.stdout
        done = jifen(books, "accounting", "liability", "--as-of", "2025-13-01")
        assert done.returncode == 2
        assert "YYYY-MM-DD" in done.stdout + done.stderr


@pytest.fixture
def api_books(api: Api, engine: Engine, new_member: Callable[[], int]) -> Api:
    small_ledger(SqlUnitOfWork(engine), new_member)
    return api


class TestApi:
    def test_liability_says_which_estimate_it_used(self, api_books: Api) -> None:
        made = api_books.post("/v1/accounting/estimates", {"as_of": str(D3), "key": "jan"})
        assert made.status_code == 200, made.text
        again = api_books.post("/v1/accounting/estimates", {"as_of": str(D3), "key": "jan"})
        assert again.json() == made.json()
        body = api_books.get(f"/v1/accounting/liability?as_of={D3}", role="analyst").json()
        assert body["outstanding_points"] == 500
        assert (body["value_fen"], body["breakage_bps"], body["liability_fen"]) == (500, 4000, 300)
        assert body["estimate"]["version"] == made.json()["version"]

    def test_journal_as_json_and_csv(self, api_books: Api) -> None:
        query = f"/v1/accounting/journal?from={D1}&to={D4}"
        body = api_books.get(query, role="analyst").json()
        assert [d["points"]["redeemed"] for d in body["days"]] == [0, 300, 0, 500]
        assert all(d["debits_fen"] == d["credits_fen"] for d in body["days"])
        assert [d["closing_liability_fen"] for d in body["days"]] == [1000, 700, 500, 0]
        assert body["days"][1]["value_fen"]["redeemed"] == 300
        got = api_books.get(query + "&format=csv", role="analyst")
        assert got.headers["content-type"].startswith("text/csv")
        assert got.text.splitlines()[0].startswith("date,entry,account_code,account_name")

    def test_only_finance_roles_may_read_and_only_admin_estimates(self, api_books: Api) -> None:
        liability = f"/v1/accounting/liability?as_of={D1}"
        assert api_books.get(liability, role="operator").status_code == 403
        assert api_books.get(liability, role="integrator").status_code == 403
        made = api_books.post("/v1/accounting/estimates", {"as_of": str(D1)}, role="analyst")
        assert made.status_code == 403

    @pytest.mark.parametrize(
        ("query", "code"),
        [
            (f"journal?from={D4}&to={D1}", "invalid_period"),
            ("journal?from=2024-01-01&to=2025-06-01", "invalid_period"),
            ("journal?from=yesterday&to=2025-01-01", "validation_error"),
            ("liability?as_of=1800-01-01", "validation_error"),
            ("journal?from=2025-01-01&to=2025-01-02&format=xml", "validation_error"),
        ],
    )
    def test_bad_dates_give_a_structured_error(self, api_books: Api, query: str, code: str) -> None:
        got = api_books.get(f"/v1/accounting/{query}", role="analyst")
        assert got.status_code == 422
        assert got.json()["error"]["code"] == code
