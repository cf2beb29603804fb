"""Comparing the books of two databases, table by table, by natural key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jifen.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Difference:
    """Rows of one table found in one database and not the other (as many times as they differ)."""

    table: str
    columns: tuple[str, ...]
    only_in_source: list[tuple[Any, ...]]
    only_in_target: list[tuple[Any, ...]]


def compare(source: UnitOfWork, target: UnitOfWork) -> list[Difference]:
    """Every table of the books whose rows differ between `source` and `target`."""
    with source:
        theirs = source.books.snapshot()
    with target:
        ours = target.books.snapshot()
    differences = []
    for table, (columns, rows) in theirs.items():
        other = ours[table][1]
        missing, extra = _multiset_difference(rows, other), _multiset_difference(other, rows)
        if missing or extra:
            differences.append(Difference(table, columns, missing, extra))
    return differences


def _multiset_difference(rows: list[Any], other: list[Any]) -> list[Any]:
    remaining: dict[Any, int] = {}
    for row in other:
        remaining[row] = remaining.get(row, 0) + 1
    left = []
    for row in rows:
        if remaining.get(row, 0):
            remaining[row] -= 1
        else:
            left.append(row)
    return left
