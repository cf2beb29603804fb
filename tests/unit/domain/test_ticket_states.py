"""A ticket's states: which railway events fit where, and what a misfit is refused with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jifen.domain.tickets import (
    EARLY,
    TicketConflict,
    TicketEvent,
    TicketState,
    awaiting_purchase,
    ticket_after,
    travel_event,
)

S, E = TicketState, TicketEvent

# What the railway's events do, written out from the event handlers' rules (SPEC §4).
ALLOWED = {
    (None, E.PURCHASE): S.PURCHASED,
    (None, E.CLAIM): S.TRAVELLED,
    (None, E.TRAVEL): S.TRAVELLED_EARLY,
    (None, E.REFUND): S.REFUNDED_EARLY,
    (None, E.CHANGE): S.CHANGED_EARLY,
    (S.PURCHASED, E.TRAVEL): S.TRAVELLED,
    (S.PURCHASED, E.REFUND): S.REFUNDED,
    (S.PURCHASED, E.CHANGE): S.CHANGED,
    (S.PURCHASED, E.NO_SHOW): S.NOT_TRAVELLED,
    (S.TRAVELLED_EARLY, E.PURCHASE): S.PURCHASED,
    (S.TRAVELLED_EARLY, E.CLAIM): S.TRAVELLED,
    (S.REFUNDED_EARLY, E.PURCHASE): S.PURCHASED,
    (S.CHANGED_EARLY, E.PURCHASE): S.PURCHASED,
}
ENDED = {S.TRAVELLED, S.REFUNDED, S.CHANGED, S.NOT_TRAVELLED}


def after(state: TicketState | None, event: TicketEvent) -> TicketState:
    return ticket_after(state, event, ticket_id="T1")


def test_states_are_the_statuses_stored_in_the_tickets_table():
    assert {s.value for s in TicketState} == {
        "purchased",
        "travelled",
        "refunded",
        "changed",
        "not_travelled",
        "travelled_early",
        "refunded_early",
        "changed_early",
    }
    assert TicketState("travelled_early") is S.TRAVELLED_EARLY


def test_a_bought_ticket_is_travelled_refunded_changed_or_left_not_travelled():
    assert after(S.PURCHASED, E.TRAVEL) is S.TRAVELLED
    assert after(S.PURCHASED, E.REFUND) is S.REFUNDED
    assert after(S.PURCHASED, E.CHANGE) is S.CHANGED
    assert after(S.PURCHASED, E.NO_SHOW) is S.NOT_TRAVELLED


def test_a_travel_refund_or_change_before_the_purchase_waits_as_a_stub():
    assert after(None, E.TRAVEL) is S.TRAVELLED_EARLY
    assert after(None, E.REFUND) is S.REFUNDED_EARLY
    assert after(None, E.CHANGE) is S.CHANGED_EARLY


@pytest.mark.parametrize(
    ("stub", "ends"),
    [
        (S.TRAVELLED_EARLY, S.TRAVELLED),
        (S.REFUNDED_EARLY, S.REFUNDED),
        (S.CHANGED_EARLY, S.CHANGED),
    ],
)
def test_the_purchase_opens_a_stub_and_its_waiting_event_settles_it(stub, ends):
    bought = after(stub, E.PURCHASE)
    assert bought is S.PURCHASED
    assert after(bought, EARLY[stub]) is ends


def test_a_second_purchase_is_a_ticket_conflict():
    with pytest.raises(TicketConflict) as refused:
        after(S.PURCHASED, E.PURCHASE)
    assert refused.value.code == "ticket_conflict"
    assert refused.value.message == "Ticket T1 was already sent."


def test_a_refund_after_travel_is_refused_saying_why():
    with pytest.raises(TicketConflict) as refused:
        after(S.TRAVELLED, E.REFUND)
    assert refused.value.message == "Ticket T1 cannot be refunded: it was already travelled."
    assert refused.value.details == {"ticket_id": "T1", "status": "travelled"}


def test_a_travel_after_the_claim_window_closed_is_refused():
    with pytest.raises(TicketConflict, match="pending points were voided"):
        after(S.NOT_TRAVELLED, E.TRAVEL)


def test_a_second_early_travel_asks_for_the_purchase():
    with pytest.raises(TicketConflict, match="send the purchase"):
        after(S.TRAVELLED_EARLY, E.TRAVEL)


def test_a_travel_carrying_the_ticket_is_a_claim_only_when_the_purchase_was_never_seen():
    assert travel_event(None, carries_ticket=True) is E.CLAIM
    assert travel_event(S.TRAVELLED_EARLY, carries_ticket=True) is E.CLAIM
    assert travel_event(S.PURCHASED, carries_ticket=True) is E.TRAVEL
    assert travel_event(None, carries_ticket=False) is E.TRAVEL


def test_only_an_unknown_ticket_or_a_stub_awaits_its_purchase():
    assert awaiting_purchase(None)
    assert all(awaiting_purchase(s) for s in (S.TRAVELLED_EARLY, S.REFUNDED_EARLY))
    assert not awaiting_purchase(S.PURCHASED)
    assert not awaiting_purchase(S.CHANGED)


@given(st.lists(st.sampled_from(list(TicketEvent)), max_size=12))
def test_any_sequence_of_events_follows_the_rules_or_is_refused_leaving_the_ticket_as_it_was(
    events,
):
    state: TicketState | None = None
    for event in events:
        expected = ALLOWED.get((state, event))
        if expected is None:
            with pytest.raises(TicketConflict):
                after(state, event)
        else:
            state = after(state, event)
            assert state is expected


@given(st.sampled_from(sorted(ENDED)), st.sampled_from(list(TicketEvent)))
def test_a_ticket_that_ended_accepts_no_event(state, event):
    with pytest.raises(TicketConflict) as refused:
        after(state, event)
    assert refused.value.details["ticket_id"] == "T1"


def test_every_state_is_reached_from_a_ticket_not_seen_yet():
    reached: set[TicketState | None] = {None}
    frontier: list[TicketState | None] = [None]
    while frontier:
        state = frontier.pop()
        for event in TicketEvent:
            try:
                target = after(state, event)
            except TicketConflict:
                continue
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == {None, *TicketState}


def test_a_ticket_never_seen_cannot_be_marked_not_travelled():
    with pytest.raises(TicketConflict, match="it was never bought"):
        after(None, E.NO_SHOW)
