"""The rows of postings: what a posting writes, and how it moves balances and lots.

Written once for the live path and the bulk path (`LedgerRepository`) and the staged ledger
(`storage/staged.py`); pure functions, no SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from jifen.domain.ledger import MEMBER_AVAILABLE, Entry
from jifen.domain.postings import OpensLot, OpensPending, Posted, Posting


def opened_table(posting: Posting) -> str | None:
    """The table of the row a posting opens, if it opens one."""
    if posting.opens is None:
        return None
    return "lots" if isinstance(posting.opens, OpensLot) else "pending_points"


def posting_rows(
    posting: Posting, transaction_id: int, opened_id: int | None
) -> tuple[dict[str, Any], dict[str, Any] | None, Posted]:
    """A posting with reserved ids: its header row, the row it opens (if any), as written."""
    header = {"id": transaction_id, **header_row(posting)}
    opened = None
    if opened_id is not None:
        opened = {"id": opened_id, **opened_row(posting, transaction_id)}
    return header, opened, resolved(posting, transaction_id, opened_id)


def header_row(posting: Posting) -> dict[str, Any]:
    """The `ledger_transactions` row of a posting, without its id."""
    header = posting.header
    return {
        "idempotency_key": header.key,
        "request_hash": header.request_hash,
        "type": str(posting.type),
        "member_id": posting.member_id,
        "occurred_at": header.occurred_at,
        "memo": dict(header.memo or {}),
        "reverses_id": posting.reverses_id,
    }


def opened_row(posting: Posting, transaction_id: int) -> dict[str, Any]:
    """The `lots` or `pending_points` row a posting opens, without its id, funded in full."""
    leg = posting.legs[posting.funding]
    if isinstance(posting.opens, OpensLot):
        return {
            "member_id": leg.member_id,
            "kind": leg.kind,
            "credited_on": posting.opens.credited_on,
            "expires_on": posting.opens.expires_on,
            "original": leg.points,
            "remaining": leg.points,
            "transaction_id": transaction_id,
        }
    assert isinstance(posting.opens, OpensPending)  # noqa: S101 - only called when it opens one
    return {
        "member_id": leg.member_id,
        "kind": leg.kind,
        "points": leg.points,
        "status": "open",
        "reference": posting.opens.reference,
        "transaction_id": transaction_id,
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


def resolved(posting: Posting, transaction_id: int, opened_id: int | None) -> Posted:
    """The posting as written: its funding leg names the lot or pending item it opened."""
    legs = posting.legs
    if opened_id is not None:
        i = posting.funding
        was = legs[i]
        lot, pending = (
            (opened_id, None) if isinstance(posting.opens, OpensLot) else (None, opened_id)
        )
        leg = Entry(was.account, was.kind, was.points, was.member_id, lot, pending)
        legs = (*legs[:i], leg, *legs[i + 1 :])
    return Posted(transaction_id, str(posting.type), posting.member_id, legs)


def member_moves(posting: Posting) -> dict[tuple[int, str], list[int]]:
    """How one posting moves each member balance it touches: `[available, pending]` deltas."""
    moves: dict[tuple[int, str], list[int]] = {}
    for leg in posting.legs:
        if leg.member_id is not None:
            move = moves.setdefault((leg.member_id, leg.kind), [0, 0])
            move[0 if leg.account == MEMBER_AVAILABLE else 1] += leg.points
    return moves


def lot_legs(posting: Posting, posted: Posted) -> Iterator[tuple[int, int]]:
    """`(lot, points)` of each leg that moves a lot's remainder; a lot it opens is written full."""
    funding = posting.funding if isinstance(posting.opens, OpensLot) else -1
    for i, leg in enumerate(posted.entries):
        if leg.lot_id is not None and i != funding:
            yield leg.lot_id, leg.points


def balance_moves(postings: Iterable[Posting]) -> list[dict[str, Any]]:
    """Each member balance's deltas, and how many postings moved it (its version's step)."""
    moves: dict[tuple[int, str], list[int]] = {}
    for p in postings:
        for owner, (available, pending) in member_moves(p).items():
            move = moves.setdefault(owner, [0, 0, 0])
            move[0] += available
            move[1] += pending
            move[2] += 1
    return [
        {
            "balance_member_id": member_id,
            "balance_kind": kind,
            "available_delta": available,
            "pending_delta": pending,
            "postings": count,
        }
        for (member_id, kind), (available, pending, count) in moves.items()
    ]


def lot_moves(postings: Sequence[Posting], posted: Sequence[Posted]) -> list[dict[str, Any]]:
    """How each lot's remaining points move, for all these postings together."""
    moves: dict[int, int] = {}
    for p, w in zip(postings, posted, strict=True):
        for lot_id, points in lot_legs(p, w):
            moves[lot_id] = moves.get(lot_id, 0) + points
    return [{"lot": lot_id, "delta": delta} for lot_id, delta in moves.items() if delta]
