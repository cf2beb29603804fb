"""Every write of points goes through the ledger's one door: no other module writes its tables."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jifen

SOURCE = Path(jifen.__file__).parent
LEDGER_TABLES = {"ledger_entries", "ledger_transactions", "lots", "pending_points", "balances"}
DOOR = SOURCE / "storage" / "ledger_repository.py"
WRITES = ("insert", "update", "delete", "copy")  # in a called function's name
RAW_SQL = re.compile(
    r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(" + "|".join(LEDGER_TABLES) + r")\b",
    re.IGNORECASE,
)


def _writes_to_ledger_tables(path: Path) -> list[str]:
    """`file:line call` for each statement in `path` that writes a ledger table."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            names = {a.id for a in node.args if isinstance(a, ast.Name)}
            if name and any(w in name.lower() for w in WRITES) and names & LEDGER_TABLES:
                found.append(f"{path.name}:{node.lineno} {name}({', '.join(names)})")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and RAW_SQL.search(node.value)
        ):
            found.append(f"{path.name}:{node.lineno} SQL {node.value[:40]!r}")
    return found


def test_only_the_ledger_repository_writes_entries_lots_and_balances() -> None:
    offenders = [
        hit
        for path in sorted(SOURCE.rglob("*.py"))
        if path != DOOR and "migrations" not in path.parts
        for hit in _writes_to_ledger_tables(path)
    ]

    assert offenders == [], "write points through services.ledger.post, not around it"


def test_the_check_sees_a_write_around_the_door(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "from sqlalchemy import insert, update\n"
        "def f(c):\n"
        "    c.execute(insert(ledger_entries), [])\n"
        "    c.execute(update(balances).values(available=0))\n"
        "    c.exec_driver_sql('UPDATE lots SET remaining = 0')\n"
        "    self._insert(ledger_transactions, [])\n"
    )

    assert len(_writes_to_ledger_tables(sneaky)) == 4
