"""A railway ticket's life as its events tell it: bought, then travelled, refunded or changed.

Events can arrive out of order: a travel, refund or change (改签) that comes before its purchase is
kept as a stub (`travelled_early`, `refunded_early`, `changed_early`) that the purchase, when it
comes, settles: the purchase opens the ticket and the waiting event is applied to it at once. A
ticket bought and never travelled ends `not_travelled` once its claim window has closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from jifen.domain.errors import JifenError


class TicketConflict(JifenError):
    """The event does not fit the ticket's state (refund after travel, a second purchase…)."""

    code = "ticket_conflict"
    status = 409


class TicketState(StrEnum):
    """Where a ticket stands; the values are the `tickets.status` stored in the database."""

    PURCHASED = "purchased"
    TRAVELLED = "travelled"
    REFUNDED = "refunded"
    CHANGED = "changed"
    NOT_TRAVELLED = "not_travelled"
    TRAVELLED_EARLY = "travelled_early"
    REFUNDED_EARLY = "refunded_early"
    CHANGED_EARLY = "changed_early"


class TicketEvent(StrEnum):
    """What can happen to a ticket: the railway's events and the claim window closing."""

    PURCHASE = "purchase"
    TRAVEL = "travel"
    CLAIM = "claim"  # 补登: a travel carrying the whole ticket, which the program never saw bought
    REFUND = "refund"
    CHANGE = "change"
    NO_SHOW = "no_show"  # the claim window closed with the ticket still awaiting its travel


_S, _E = TicketState, TicketEvent
TRANSITIONS: Mapping[tuple[TicketState | None, TicketEvent], TicketState] = {
    (None, _E.PURCHASE): _S.PURCHASED,
    (None, _E.TRAVEL): _S.TRAVELLED_EARLY,
    (None, _E.CLAIM): _S.TRAVELLED,
    (None, _E.REFUND): _S.REFUNDED_EARLY,
    (None, _E.CHANGE): _S.CHANGED_EARLY,
    (_S.TRAVELLED_EARLY, _E.PURCHASE): _S.PURCHASED,
    (_S.REFUNDED_EARLY, _E.PURCHASE): _S.PURCHASED,
    (_S.CHANGED_EARLY, _E.PURCHASE): _S.PURCHASED,
    (_S.TRAVELLED_EARLY, _E.CLAIM): _S.TRAVELLED,
    (_S.PURCHASED, _E.TRAVEL): _S.TRAVELLED,
    (_S.PURCHASED, _E.REFUND): _S.REFUNDED,
    (_S.PURCHASED, _E.CHANGE): _S.CHANGED,
    (_S.PURCHASED, _E.NO_SHOW): _S.NOT_TRAVELLED,
}
"""Every allowed move: `(state, event) → state`, None for a ticket the program has not seen."""

EARLY: Mapping[TicketState, TicketEvent] = {
    _S.TRAVELLED_EARLY: _E.TRAVEL,
    _S.REFUNDED_EARLY: _E.REFUND,
    _S.CHANGED_EARLY: _E.CHANGE,
}
"""The stubs of events that came before their ticket's purchase, with the event each waits with."""

_HINTS: Mapping[TicketState | None, str] = {
    None: "it was never bought",
    _S.TRAVELLED: "it was already travelled",
    _S.REFUNDED: "it was refunded",
    _S.CHANGED: "it was changed (改签); send events for the new ticket",
    _S.TRAVELLED_EARLY: "only its travel has arrived; send the purchase",
    _S.NOT_TRAVELLED: (
        "it was not travelled: its pending points were voided once the claim window closed"
    ),
    _S.REFUNDED_EARLY: "it was refunded (the refund came before its purchase)",
    _S.CHANGED_EARLY: "it was changed (改签, before its purchase came); send events for the "
    "new ticket",
}
_PAST = {
    _E.TRAVEL: "travelled",
    _E.CLAIM: "travelled",
    _E.REFUND: "refunded",
    _E.CHANGE: "changed",
    _E.NO_SHOW: "marked not travelled",
}


def ticket_after(state: TicketState | None, event: TicketEvent, *, ticket_id: str) -> TicketState:
    """The state `event` moves a ticket in `state` to; `TicketConflict` when it does not fit."""
    target = TRANSITIONS.get((state, event))
    if target is not None:
        return target
    if event is TicketEvent.PURCHASE:
        raise TicketConflict(f"Ticket {ticket_id} was already sent.", ticket_id=ticket_id)
    raise TicketConflict(
        f"Ticket {ticket_id} cannot be {_PAST[event]}: {_HINTS.get(state, state)}.",
        ticket_id=ticket_id,
        status=state,
    )


def travel_event(state: TicketState | None, *, carries_ticket: bool) -> TicketEvent:
    """A travel carrying the whole ticket is a claim (补登) unless the ticket was seen bought."""
    claim = carries_ticket and (state is None or state is TicketState.TRAVELLED_EARLY)
    return TicketEvent.CLAIM if claim else TicketEvent.TRAVEL


def awaiting_purchase(state: TicketState | None) -> bool:
    """True for a ticket not seen yet, or only a stub: a purchase (or a change) may open it."""
    return state is None or state in EARLY
