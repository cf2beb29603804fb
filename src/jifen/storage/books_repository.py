"""The books as `jifen replay --compare` reads them: rows by natural key, not by surrogate id.

Two databases that applied the same commands hold the same books even where the ids the
database handed out differ (a batch of events reserves ids, PostgreSQL's sequences skip after a
rollback). So each compared table is read without its integer ids and the integer references
to other rows, ciphertexts are left out (encrypting twice gives different tokens; the keyed
hashes beside them are compared instead), and every reference to a member is replaced by the
member's keyed ID-number hash.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Connection, Table, select

from jifen.storage.tables import (
    adjustments,
    balances,
    beneficiaries,
    lots,
    mall_orders,
    members,
    partner_operations,
    pending_points,
    redemption_actions,
    redemptions,
    tier_history,
)

COMPARED: tuple[Table, ...] = (
    members,
    balances,
    lots,
    pending_points,
    tier_history,
    redemptions,
    redemption_actions,
    mall_orders,
    beneficiaries,
    adjustments,
    partner_operations,
)
SKIPPED = frozenset({"version"})  # a balance's version counts its writes, not its value
# What erasure replaces with random or numbered pseudonyms: compared as erased, not by value.
PSEUDONYMS = frozenset({"name", "id_hash", "number_hash", "phone_hash"})
ERASED = "(erased)"
ERASED_PREFIX = "已注销 erased-"  # how erasure renames a member or beneficiary (services/privacy)

Row = tuple[Any, ...]


class BooksRepository:
    """Reads the compared tables of one database as sorted rows of comparable values."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def snapshot(self) -> dict[str, tuple[tuple[str, ...], list[Row]]]:
        """Per table: its compared columns and its rows, sorted."""
        keys = self._member_keys()
        return {table.name: self._rows(table, keys) for table in COMPARED}

    def _member_keys(self) -> dict[int, str]:
        """Each member's natural key: its ID-number hash, or once erased its place among them.

        Erasure replaces a member's hashes with random ones, so an erased member is known by
        the order it joined in instead.
        """
        m = members.c
        query = select(m.id, m.name, m.number_hash, m.joined_at).order_by(m.joined_at, m.id)
        keys: dict[int, str] = {}
        for n, row in enumerate(self.connection.execute(query)):
            unnamed = _erased(row.name) or row.number_hash is None
            keys[row.id] = f"erased:{row.joined_at.isoformat()}:{n}" if unnamed else row.number_hash
        return keys

    def _rows(self, table: Table, keys: dict[int, str]) -> tuple[tuple[str, ...], list[Row]]:
        columns = [c for c in table.columns if _compared(c)]
        member_refs = {c.name for c in columns if _refers_to_members(c)}
        if table is members:  # a member is named by its key, first
            columns, member_refs = [table.c.id, *columns], {"id"}
        names = tuple(c.name for c in columns)
        if table is members:
            names = ("member", *names[1:])
        rows = [
            tuple(
                keys.get(value, value)
                if name in member_refs
                else ERASED
                if erased and name in PSEUDONYMS
                else _comparable(value)
                for name, value in row._mapping.items()
            )
            for row in self.connection.execute(select(*columns))
            for erased in [_erased(row._mapping.get("name"))]
        ]
        rows.sort(key=repr)
        return names, rows


def _erased(name: object) -> bool:
    return isinstance(name, str) and name.startswith(ERASED_PREFIX)


def _refers_to_members(column: Column[Any]) -> bool:
    return any(fk.column.table is members for fk in column.foreign_keys)


def _compared(column: Column[Any]) -> bool:
    """Not a ciphertext, a write counter, an integer id or an integer reference to a non-member."""
    if column.name in SKIPPED or column.name.endswith("_enc"):
        return False
    if not _is_integer(column):
        return True
    if column.name == "id" and column.primary_key:
        return False
    return not column.foreign_keys or _refers_to_members(column)


def _is_integer(column: Column[Any]) -> bool:
    try:
        return column.type.python_type is int
    except NotImplementedError:
        return False


def _comparable(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
