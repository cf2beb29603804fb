"""All SQL of the points ledger: journal transactions, entries, lots, pending points, balances."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from jifen.domain.errors import NotReversible
from jifen.domain.ledger import Entry, Lot, check_balanced, member_deltas
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


@dataclass(frozen=True, slots=True)
class Pending:
    """Points promised to a member and not yet spendable."""

    id: int
    member_id: int
    kind: str
    points: int
    status: str
    reference: str | None


def _entry(row: Any) -> Entry:
    return Entry(row.account, row.kind, row.points, row.member_id, row.lot_id, row.pending_id)


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
_LOCK_BALANCE = select(balances).where(_BALANCE_MATCHES).with_for_update()
_MOVE_BALANCE = (
    update(balances)
    .where(_BALANCE_MATCHES)
    .values(
        available=balances.c.available + bindparam("available_delta"),
        pending=balances.c.pending + bindparam("pending_delta"),
        version=balances.c.version + 1,
    )
)
_MOVE_LOT = (
    update(lots)
    .where(lots.c.id == bindparam("lot"))
    .values(remaining=lots.c.remaining + bindparam("delta"))
)


class LedgerRepository:
    """Reads and writes the ledger's tables on one connection inside a unit of work."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # -- members (the ledger needs only that they exist) -------------------------------------
    def add_member(self, *, joined_at: datetime) -> int:
        """Insert a bare member and return its id."""
        result = self.connection.execute(insert(members).values(joined_at=joined_at))
        return int(result.inserted_primary_key[0])

    def member_exists(self, member_id: int) -> bool:
        """Whether a member with this id exists."""
        return self.connection.execute(_MEMBER_EXISTS, {"member_id": member_id}).first() is not None

    # -- transactions --------------------------------------------------------------------------
    def find_by_key(self, key: str) -> StoredTransaction | None:
        """The transaction posted under an idempotency key, if any."""
        row = self.connection.execute(_BY_KEY, {"key": key}).first()
        return None if row is None else self._with_entries(row)

    def get_transaction(self, transaction_id: int) -> StoredTransaction | None:
        """A transaction by id, with its entries."""
        query = select(ledger_transactions).where(ledger_transactions.c.id == transaction_id)
        row = self.connection.execute(query).first()
        return None if row is None else self._with_entries(row)

    def _with_entries(self, row: Any) -> StoredTransaction:
        rows = self.connection.execute(_ENTRIES_OF, {"transaction_id": row.id})
        entries = tuple(_entry(e) for e in rows)
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

    def is_reversed(self, transaction_id: int) -> bool:
        """Whether a reversal of this transaction exists."""
        query = select(ledger_transactions.c.id).where(
            ledger_transactions.c.reverses_id == transaction_id
        )
        return self.connection.execute(query).first() is not None

    def insert_transaction(
        self,
        *,
        key: str,
        request_hash: str,
        type_: str,
        member_id: int | None,
        occurred_at: datetime,
        memo: dict[str, Any],
        reverses_id: int | None = None,
    ) -> int:
        """Claim the idempotency key with a new transaction header; `KeyTaken` if it is gone."""
        values = transaction_row(
            key=key,
            request_hash=request_hash,
            type_=type_,
            member_id=member_id,
            occurred_at=occurred_at,
            memo=memo,
            reverses_id=reverses_id,
        )
        try:
            result = self.connection.execute(insert(ledger_transactions), values)
        except IntegrityError as error:
            # Both databases name the violated column or constraint in the message.
            if "idempotency_key" in str(error.orig):
                raise KeyTaken(key) from error
            if "reverses_id" in str(error.orig):
                raise NotReversible(
                    f"Transaction {reverses_id} is already reversed.", transaction_id=reverses_id
                ) from error
            raise
        return int(result.inserted_primary_key[0])

    def insert_entries(self, transaction_id: int, entries: Sequence[Entry]) -> None:
        """Append the entries of a transaction."""
        self.connection.execute(
            insert(ledger_entries), [entry_row(transaction_id, e) for e in entries]
        )

    # -- balances ------------------------------------------------------------------------------
    def lock_balance(self, member_id: int, kind: str) -> Balance:
        """Lock a member's balance row of one kind (creating it at zero) for this transaction.

        The balance row is the member's mutex: every change to its lots or pending points takes it
        first, so concurrent spends of one member queue here and never overdraw.
        """
        params = {"balance_member_id": member_id, "balance_kind": kind}
        row = self.connection.execute(_LOCK_BALANCE, params).first()
        if row is None:  # the member's first points of this kind: create the row, then lock it
            dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
            self.connection.execute(
                dialect.insert(balances)
                .values(member_id=member_id, kind=kind)
                .on_conflict_do_nothing(index_elements=["member_id", "kind"])
            )
            row = self.connection.execute(_LOCK_BALANCE, params).one()
        return Balance(row.member_id, row.kind, row.available, row.pending, row.version)

    def move_balance(self, member_id: int, kind: str, *, available: int, pending: int) -> None:
        """Add the deltas to a locked balance row and bump its version."""
        self.connection.execute(
            _MOVE_BALANCE,
            {
                "balance_member_id": member_id,
                "balance_kind": kind,
                "available_delta": available,
                "pending_delta": pending,
            },
        )

    def balances_of(self, member_id: int) -> list[Balance]:
        """A member's stored balances, one per point kind."""
        query = select(balances).where(balances.c.member_id == member_id).order_by(balances.c.kind)
        return [
            Balance(r.member_id, r.kind, r.available, r.pending, r.version)
            for r in self.connection.execute(query)
        ]

    # -- lots ----------------------------------------------------------------------------------
    def insert_lot(
        self,
        *,
        member_id: int,
        kind: str,
        credited_on: date,
        expires_on: date | None,
        points: int,
        transaction_id: int,
    ) -> int:
        """Open an empty lot for `points`; the credit entry that follows fills it."""
        row = lot_row(
            member_id=member_id,
            kind=kind,
            credited_on=credited_on,
            expires_on=expires_on,
            points=points,
            transaction_id=transaction_id,
        )
        result = self.connection.execute(insert(lots), row)
        return int(result.inserted_primary_key[0])

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

    def lots_of(self, member_id: int) -> list[Lot]:
        """Every lot of a member, oldest first."""
        query = select(lots).where(lots.c.member_id == member_id).order_by(lots.c.id)
        return [_lot(r) for r in self.connection.execute(query)]

    def move_lots(self, deltas: dict[int, int]) -> None:
        """Add each delta to its lot's remaining points."""
        rows = [{"lot": lot_id, "delta": delta} for lot_id, delta in deltas.items()]
        if len(rows) == 1:  # one lot (every credit): a plain execute, not an executemany batch
            self.connection.execute(_MOVE_LOT, rows[0])
        elif rows:
            self.connection.execute(_MOVE_LOT, rows)

    # -- pending points ------------------------------------------------------------------------
    def insert_pending(
        self, *, member_id: int, kind: str, points: int, reference: str | None, transaction_id: int
    ) -> int:
        """Record points promised to a member."""
        result = self.connection.execute(
            insert(pending_points).values(
                member_id=member_id,
                kind=kind,
                points=points,
                status="open",
                reference=reference,
                transaction_id=transaction_id,
            )
        )
        return int(result.inserted_primary_key[0])

    def get_pending(self, pending_id: int) -> Pending | None:
        """Pending points by id."""
        query = select(pending_points).where(pending_points.c.id == pending_id)
        row = self.connection.execute(query).first()
        if row is None:
            return None
        return Pending(row.id, row.member_id, row.kind, row.points, row.status, row.reference)

    def settle_pending(self, pending_id: int, status: str) -> None:
        """Mark pending points confirmed or voided."""
        self.connection.execute(
            update(pending_points).where(pending_points.c.id == pending_id).values(status=status)
        )


# -- rows, as written here and by the bulk path (storage/staged.py) -------------------------------
def transaction_row(
    *,
    key: str,
    request_hash: str,
    type_: str,
    member_id: int | None,
    occurred_at: datetime,
    memo: dict[str, Any],
    reverses_id: int | None,
) -> dict[str, Any]:
    """The `ledger_transactions` row of a new transaction, without its id."""
    return {
        "idempotency_key": key,
        "request_hash": request_hash,
        "type": type_,
        "member_id": member_id,
        "occurred_at": occurred_at,
        "memo": memo,
        "reverses_id": reverses_id,
    }


def entry_row(transaction_id: int, entry: Entry) -> dict[str, Any]:
    """The `ledger_entries` row of one entry of a transaction."""
    return {
        "transaction_id": transaction_id,
        "account": entry.account,
        "member_id": entry.member_id,
        "kind": entry.kind,
        "points": entry.points,
        "lot_id": entry.lot_id,
        "pending_id": entry.pending_id,
    }


def lot_row(
    *,
    member_id: int,
    kind: str,
    credited_on: date,
    expires_on: date | None,
    points: int,
    transaction_id: int,
) -> dict[str, Any]:
    """The `lots` row of a new lot, without its id; the entry that funds it sets `remaining`."""
    return {
        "member_id": member_id,
        "kind": kind,
        "credited_on": credited_on,
        "expires_on": expires_on,
        "original": points,
        "remaining": 0,
        "transaction_id": transaction_id,
    }


def lock_member_balances(connection: Connection, owners: Sequence[Any]) -> None:
    """Lock the balance rows of `owners` (member id, kind pairs) in one order, for a set-based job.

    Locks a superset of the pairs (their members' rows of their kinds), which an index scan finds at
    once where a list of pairs would not; member then kind, the order every posting locks in.
    """
    if not owners:
        return
    b = balances.c
    connection.execute(
        select(b.member_id)
        .where(
            and_(
                b.member_id.in_(sorted({m for m, _k in owners})),
                b.kind.in_(sorted({k for _m, k in owners})),
            )
        )
        .order_by(b.member_id, b.kind)
        .with_for_update()
    ).all()


def taken_keys(connection: Connection, keys: Sequence[str]) -> set[str]:
    """Which of these idempotency keys a transaction already holds."""
    t = ledger_transactions.c
    query = select(t.idempotency_key).where(t.idempotency_key.in_(list(keys)))
    return set(connection.execute(query).scalars())


def insert_postings(
    connection: Connection, headers: Sequence[dict[str, Any]], legs: Sequence[Sequence[Entry]]
) -> None:
    """Write one transaction per header with its legs, in three statements, for a set-based job.

    The rows a posting at a time writes: the legs checked to balance, each member balance moved
    by them and its version bumped once per transaction that moves it. The caller has locked the
    balance rows (`lock_member_balances`) and updates the lots or pending items the legs name.
    """
    t = ledger_transactions.c
    ids = connection.execute(
        insert(ledger_transactions).returning(t.id, sort_by_parameter_order=True), list(headers)
    ).scalars()
    entries: list[dict[str, Any]] = []
    moves: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for transaction_id, transaction_legs in zip(ids, legs, strict=True):
        check_balanced(transaction_legs)
        entries += [entry_row(transaction_id, leg) for leg in transaction_legs]
        for owner, (available, pending) in member_deltas(transaction_legs).items():
            move = moves[owner]
            move[0] += available
            move[1] += pending
            move[2] += 1
    connection.execute(insert(ledger_entries), entries)
    b = balances.c
    connection.execute(
        update(balances)
        .where(and_(b.member_id == bindparam("owner"), b.kind == bindparam("point_kind")))
        .values(
            available=b.available + bindparam("available_delta"),
            pending=b.pending + bindparam("pending_delta"),
            version=b.version + bindparam("postings"),
        ),
        [
            {
                "owner": member_id,
                "point_kind": kind,
                "available_delta": available,
                "pending_delta": pending,
                "postings": postings,
            }
            for (member_id, kind), (available, pending, postings) in moves.items()
        ],
    )
