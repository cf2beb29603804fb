"""All SQL of the points ledger: journal transactions, entries, lots, pending points, balances."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, and_, bindparam, insert, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from jifen.domain.errors import NotFound, NotReversible
from jifen.domain.ledger import Entry, Lot
from jifen.domain.postings import OpensLot, OpensPending, PendingItem, Posted, Posting
from jifen.storage.ledger_rows import (
    balance_moves,
    entry_row,
    header_row,
    lot_moves,
    opened_row,
    opened_table,
    posting_rows,
    resolved,
)
from jifen.storage.rows import insert_rows, inserted_id
from jifen.storage.tables import (
    balances,
    ledger_entries,
    ledger_transactions,
    lots,
    members,
    pending_points,
)


class KeyTaken(Exception):
    """Another transaction claimed this idempotency key first (raised inside a rolled-back UoW)."""


@dataclass(frozen=True, slots=True)
class StoredTransaction:
    """A journal transaction as stored, with its entries."""

    id: int
    idempotency_key: str
    request_hash: str
    type: str
    member_id: int | None
    occurred_at: datetime
    reverses_id: int | None
    memo: dict[str, Any]
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Balance:
    """A member's stored balance of one point kind."""

    member_id: int
    kind: str
    available: int
    pending: int
    version: int


def _entry(row: Any) -> Entry:
    return Entry(row.account, row.kind, row.points, row.member_id, row.lot_id, row.pending_id)


def _stored(row: Any, entries: tuple[Entry, ...]) -> StoredTransaction:
    return StoredTransaction(
        row.id,
        row.idempotency_key,
        row.request_hash,
        row.type,
        row.member_id,
        row.occurred_at,
        row.reverses_id,
        row.memo,
        entries,
    )


def _lot(row: Any) -> Lot:
    return Lot(
        row.id,
        row.member_id,
        row.kind,
        row.credited_on,
        row.expires_on,
        row.original,
        row.remaining,
    )


# The hot path's statements, built once: building a Core statement and its cache key costs
# more Python than executing the compiled, cached form (benchmarks/peer.py measures it).
_MEMBER_EXISTS = select(members.c.id).where(members.c.id == bindparam("member_id"))
_BY_KEY = select(ledger_transactions).where(
    ledger_transactions.c.idempotency_key == bindparam("key")
)
_ENTRIES_OF = (
    select(ledger_entries)
    .where(ledger_entries.c.transaction_id == bindparam("transaction_id"))
    .order_by(ledger_entries.c.id)
)
_BALANCE_MATCHES = and_(
    balances.c.member_id == bindparam("balance_member_id"),
    balances.c.kind == bindparam("balance_kind"),
)
_LOCK_BALANCE = (
    select(balances, members.c.redemption_unlocked_on)
    .join(members, members.c.id == balances.c.member_id)
    .where(_BALANCE_MATCHES)
    .with_for_update(of=balances)
)
_MOVE_BALANCE = (
    update(balances)
    .where(_BALANCE_MATCHES)
    .values(
        available=balances.c.available + bindparam("available_delta"),
        pending=balances.c.pending + bindparam("pending_delta"),
        version=balances.c.version + bindparam("postings"),
    )
)
_SETTLE = (
    update(pending_points)
    .where(pending_points.c.id == bindparam("pending"))
    .values(status=bindparam("settled_as"))
)
_INSERT = {t.name: insert(t) for t in (ledger_transactions, lots, pending_points, ledger_entries)}
_RETURNING = {
    t.name: insert(t).returning(t.c.id, sort_by_parameter_order=True)
    for t in (ledger_transactions, lots, pending_points)
}
T = TypeVar("T")
_MOVE_LOT = (
    update(lots)
    .where(lots.c.id == bindparam("lot"))
    .values(remaining=lots.c.remaining + bindparam("delta"))
)


# The same three updates for many rows at once on PostgreSQL: one round trip, not one per row.
_UNNESTED = {
    _SETTLE: text(
        "UPDATE pending_points AS p SET status = v.settled_as"
        " FROM unnest(CAST(:pending AS bigint[]), CAST(:settled_as AS text[]))"
        " AS v(id, settled_as) WHERE p.id = v.id"
    ),
    _MOVE_BALANCE: text(
        "UPDATE balances AS b SET available = b.available + v.available_delta,"
        " pending = b.pending + v.pending_delta, version = b.version + v.postings"
        " FROM unnest(CAST(:balance_member_id AS bigint[]), CAST(:balance_kind AS text[]),"
        " CAST(:available_delta AS bigint[]), CAST(:pending_delta AS bigint[]),"
        " CAST(:postings AS int[])) AS v(member_id, kind, available_delta, pending_delta, postings)"
        " WHERE b.member_id = v.member_id AND b.kind = v.kind"
    ),
    _MOVE_LOT: text(
        "UPDATE lots AS l SET remaining = l.remaining + v.delta"
        " FROM unnest(CAST(:lot AS bigint[]), CAST(:delta AS bigint[])) AS v(id, delta)"
        " WHERE l.id = v.id"
    ),
}


class LedgerRepository:
    """Reads and writes the ledger's tables on one connection inside a unit of work."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.locked: set[tuple[int, str]] = set()  # balance rows this transaction holds
        self.unlocked: set[int] = set()  # members seen, while locking, to have redemption open

    # -- members (the ledger needs only that they exist) -------------------------------------
    def add_member(self, *, joined_at: datetime) -> int:
        """Insert a bare member and return its id."""
        result = self.connection.execute(insert(members).values(joined_at=joined_at))
        return inserted_id(result)

    def member_exists(self, member_id: int) -> bool:
        """Whether a member with this id exists."""
        return self.connection.execute(_MEMBER_EXISTS, {"member_id": member_id}).first() is not None

    def members_known(self, member_ids: Iterable[int]) -> set[int]:
        """Which of these members exist."""
        query = select(members.c.id).where(members.c.id.in_(sorted(member_ids)))
        return set(self.connection.execute(query).scalars())

    # -- transactions --------------------------------------------------------------------------
    def find_by_key(self, key: str) -> StoredTransaction | None:
        """The transaction posted under an idempotency key, if any."""
        row = self.connection.execute(_BY_KEY, {"key": key}).first()
        return None if row is None else self._with_entries(row)

    def find_by_keys(self, keys: Sequence[str]) -> dict[str, StoredTransaction]:
        """The transactions posted under any of these keys, by key: one query when none is."""
        if len(keys) == 1:
            found = self.find_by_key(keys[0])
            return {} if found is None else {keys[0]: found}
        t, e = ledger_transactions.c, ledger_entries.c
        rows = self.connection.execute(
            select(ledger_transactions).where(t.idempotency_key.in_(list(keys)))
        ).all()
        if not rows:
            return {}
        legs: dict[int, list[Entry]] = {row.id: [] for row in rows}
        query = select(ledger_entries).where(e.transaction_id.in_(list(legs))).order_by(e.id)
        for entry in self.connection.execute(query):
            legs[entry.transaction_id].append(_entry(entry))
        return {row.idempotency_key: _stored(row, tuple(legs[row.id])) for row in rows}

    def get_transaction(self, transaction_id: int) -> StoredTransaction | None:
        """A transaction by id, with its entries."""
        query = select(ledger_transactions).where(ledger_transactions.c.id == transaction_id)
        row = self.connection.execute(query).first()
        return None if row is None else self._with_entries(row)

    def _with_entries(self, row: Any) -> StoredTransaction:
        rows = self.connection.execute(_ENTRIES_OF, {"transaction_id": row.id})
        return _stored(row, tuple(_entry(e) for e in rows))

    def is_reversed(self, transaction_id: int) -> bool:
        """Whether a reversal of this transaction exists."""
        query = select(ledger_transactions.c.id).where(
            ledger_transactions.c.reverses_id == transaction_id
        )
        return self.connection.execute(query).first() is not None

    # -- balances ------------------------------------------------------------------------------
    def lock_balance(self, member_id: int, kind: str) -> Balance:
        """Lock a member's balance row of one kind (creating it at zero) for this transaction.

        The balance row is the member's mutex: every change to its lots or pending points takes it
        first, so concurrent spends of one member queue here and never overdraw.
        """
        params = {"balance_member_id": member_id, "balance_kind": kind}
        row = self.connection.execute(_LOCK_BALANCE, params).first()
        if row is None:  # the member's first points of this kind: create the row, then lock it
            self._create_balances([(member_id, kind)])
            row = self.connection.execute(_LOCK_BALANCE, params).one()
        self.locked.add((member_id, kind))
        if row.redemption_unlocked_on is not None:
            self.unlocked.add(member_id)
        return Balance(row.member_id, row.kind, row.available, row.pending, row.version)

    def lock_balances(self, owners: Sequence[tuple[int, str]]) -> None:
        """Lock these balance rows (member, kind) in that order, creating missing ones at zero.

        Rows this transaction already holds are skipped. `NotFound` for a member that does not
        exist. The door passes them sorted, member then kind: the one order every writer takes.
        """
        wanted = [o for o in owners if o not in self.locked]
        if len(wanted) <= 1:
            for owner in wanted:
                self.lock_balance(*owner)
            return
        b = balances.c
        query = (
            select(b.member_id, b.kind, members.c.redemption_unlocked_on)
            .join(members, members.c.id == b.member_id)
            .order_by(b.member_id, b.kind)
            .with_for_update(of=balances)
        )
        pairs = tuple_(b.member_id, b.kind)
        rows = list(self.connection.execute(query.where(pairs.in_(wanted))))
        missing = sorted(set(wanted) - {(r.member_id, r.kind) for r in rows})
        if missing:
            self._create_balances(missing)
            rows += self.connection.execute(query.where(pairs.in_(missing))).all()
        self.unlocked.update(r.member_id for r in rows if r.redemption_unlocked_on is not None)
        self.locked.update(wanted)

    def _create_balances(self, owners: Sequence[tuple[int, str]]) -> None:
        wanted = {m for m, _k in owners}
        for member_id in sorted(wanted - self.members_known(wanted)):
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        self.connection.execute(
            dialect.insert(balances).on_conflict_do_nothing(index_elements=["member_id", "kind"]),
            [{"member_id": m, "kind": k} for m, k in owners],
        )

    def balances_of(self, member_id: int) -> list[Balance]:
        """A member's stored balances, one per point kind."""
        query = select(balances).where(balances.c.member_id == member_id).order_by(balances.c.kind)
        return [
            Balance(r.member_id, r.kind, r.available, r.pending, r.version)
            for r in self.connection.execute(query)
        ]

    # -- lots ----------------------------------------------------------------------------------
    def open_lots(self, member_id: int, kind: str) -> list[Lot]:
        """A member's lots of one kind that still hold points."""
        query = select(lots).where(
            and_(lots.c.member_id == member_id, lots.c.kind == kind, lots.c.remaining > 0)
        )
        return [_lot(r) for r in self.connection.execute(query)]

    def get_lot(self, lot_id: int) -> Lot | None:
        """A lot by id."""
        row = self.connection.execute(select(lots).where(lots.c.id == lot_id)).first()
        return None if row is None else _lot(row)

    def lots_by_id(self, lot_ids: Sequence[int]) -> dict[int, Lot]:
        """These lots, by id (those that exist)."""
        if not lot_ids:
            return {}
        query = select(lots).where(lots.c.id.in_(list(lot_ids)))
        return {r.id: _lot(r) for r in self.connection.execute(query)}

    def lots_of(self, member_id: int) -> list[Lot]:
        """Every lot of a member, oldest first."""
        query = select(lots).where(lots.c.member_id == member_id).order_by(lots.c.id)
        return [_lot(r) for r in self.connection.execute(query)]

    # -- pending points ------------------------------------------------------------------------
    def get_pending(self, pending_id: int) -> PendingItem | None:
        """Pending points by id."""
        query = select(pending_points).where(pending_points.c.id == pending_id)
        row = self.connection.execute(query).first()
        if row is None:
            return None
        return PendingItem(row.id, row.member_id, row.kind, row.points, row.status, row.reference)

    # -- writing postings (the storage of the one door, `services.ledger.post`) --------------
    def write(self, postings: Sequence[Posting]) -> list[Posted]:
        """Write postings whose balances are locked; ids come back from the inserts.

        A statement per table whatever the batch's size: headers (claiming the keys), the lots
        and pending items they open, the entries, then the settled items, balances and lots
        moved. `KeyTaken` when a concurrent writer claimed a key first.
        """
        if not postings:
            return []
        if len(postings) >= STREAMED_FROM:
            return self._write_streamed(postings)
        headers = [header_row(p) for p in postings]
        transaction_ids = self._translated(lambda: self._returning(ledger_transactions, headers))
        opened: dict[int, int] = {}
        for opens, table in ((OpensLot, lots), (OpensPending, pending_points)):
            rows = [
                (i, opened_row(p, transaction_ids[i]))
                for i, p in enumerate(postings)
                if isinstance(p.opens, opens)
            ]
            new_ids = self._returning(table, [row for _i, row in rows])
            opened.update(zip((i for i, _row in rows), new_ids, strict=True))
        posted = [resolved(p, transaction_ids[i], opened.get(i)) for i, p in enumerate(postings)]
        self._apply(postings, posted)
        return posted

    def _write_streamed(self, postings: Sequence[Posting]) -> list[Posted]:
        """A large batch: ids reserved up front, each table's rows streamed (`COPY`)."""
        opening = {
            "lots": sum(isinstance(p.opens, OpensLot) for p in postings),
            "pending_points": sum(isinstance(p.opens, OpensPending) for p in postings),
        }
        transaction_ids = iter(reserve_ids(self.connection, "ledger_transactions", len(postings)))
        opened_ids = {t: iter(reserve_ids(self.connection, t, n)) for t, n in opening.items()}
        reserved = Reserved()
        for posting in postings:
            table = opened_table(posting)
            opened_id = None if table is None else next(opened_ids[table])
            header, opened, posted = posting_rows(posting, next(transaction_ids), opened_id)
            reserved.headers.append(header)
            if opened is not None:
                (reserved.lots if table == "lots" else reserved.pending).append(opened)
            reserved.postings.append(posting)
            reserved.posted.append(posted)
        self.write_reserved(reserved)
        return reserved.posted

    def write_reserved(self, reserved: Reserved) -> None:
        """Write postings made with reserved ids (the bulk path), each table's rows streamed."""
        if reserved.new_balances:
            self._create_balances(reserved.new_balances)
        connection = self.connection
        self._translated(lambda: insert_rows(connection, ledger_transactions, reserved.headers))
        insert_rows(connection, lots, reserved.lots)
        insert_rows(connection, pending_points, reserved.pending)
        self._apply(reserved.postings, reserved.posted, bulk=True)

    def _translated(self, write: Callable[[], T]) -> T:
        try:
            return write()
        except IntegrityError as error:
            # Both databases name the violated column or constraint in the message.
            if "idempotency_key" in str(error.orig):
                raise KeyTaken(str(error.orig)) from error
            if "reverses_id" in str(error.orig):
                raise NotReversible("That transaction is already reversed.") from error
            raise

    def _returning(self, table: Table, rows: list[dict[str, Any]]) -> list[int]:
        if len(rows) == 1:
            result = self.connection.execute(_INSERT[table.name], rows[0])
            return [inserted_id(result)]
        if not rows:
            return []
        return list(self.connection.execute(_RETURNING[table.name], rows).scalars())

    def _apply(
        self, postings: Sequence[Posting], posted: Sequence[Posted], *, bulk: bool = False
    ) -> None:
        entries = [entry_row(w.transaction_id, e) for w in posted for e in w.entries]
        if bulk:
            insert_rows(self.connection, ledger_entries, entries)
        else:
            self.connection.execute(_INSERT["ledger_entries"], entries)
        settles = [
            {"pending": p.settles[0], "settled_as": p.settles[1]}
            for p in postings
            if p.settles is not None
        ]
        self._many(_SETTLE, settles)
        self._many(_MOVE_BALANCE, balance_moves(postings))
        self._many(_MOVE_LOT, lot_moves(postings, posted))

    def _many(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        """One statement for all `rows`: PostgreSQL joins them as arrays (`unnest`)."""
        if len(rows) == 1:
            self.connection.execute(statement, rows[0])
        elif rows and self.connection.dialect.name == "postgresql":
            columns = {name: [row[name] for row in rows] for name in rows[0]}
            self.connection.execute(_UNNESTED[statement], columns)
        elif rows:
            self.connection.execute(statement, rows)


@dataclass(slots=True)
class Reserved:
    """Postings made with reserved ids, and the rows they open, waiting to be written."""

    headers: list[dict[str, Any]] = field(default_factory=list)
    lots: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    postings: list[Posting] = field(default_factory=list)
    posted: list[Posted] = field(default_factory=list)
    new_balances: list[tuple[int, str]] = field(default_factory=list)


STREAMED_FROM = 50
"""Postings in a batch from which reserving ids and streaming rows beats `INSERT … RETURNING`."""


def reserve_ids(connection: Connection, table: str, count: int) -> list[int]:
    """`count` ids of `table` no one else will take: sequence values, or past SQLite's max."""
    if count == 0:
        return []
    if connection.dialect.name == "postgresql":
        # A writer holds this lock from its first insert; the analytics watermark waits for
        # the holders (`high_water`), so it must not pass ids this batch holds unwritten.
        connection.execute(text(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE"))
        query = text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)")
        return list(connection.execute(query, {"t": table, "n": count}).scalars())
    # SQLite: the writer holds the database's write lock from BEGIN IMMEDIATE to COMMIT.
    top = connection.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()  # noqa: S608 - a fixed table name
    return list(range(int(top or 0) + 1, int(top or 0) + 1 + count))
