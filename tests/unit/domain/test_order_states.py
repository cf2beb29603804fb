"""A mall order's states: paid, then fulfilled, or cancelled and refunded; never shipped after."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jifen.domain.errors import JifenError
from jifen.domain.orders import (
    ENDED,
    START,
    OrderAction,
    OrderCancelled,
    OrderNotCancellable,
    OrderState,
    order_after,
)

S, A = OrderState, OrderAction

ALLOWED = {
    (S.PAID, A.FULFIL): S.FULFILLED,
    (S.FULFILLED, A.FULFIL): S.FULFILLED,
    (S.PAID, A.CANCEL): S.CANCELLED,
    (S.CANCELLED, A.REFUND): S.REFUNDED,
    (S.CANCELLED, A.CANCEL): S.CANCELLED,
    (S.REFUNDED, A.CANCEL): S.REFUNDED,
}


def after(state: OrderState, action: OrderAction) -> OrderState:
    return order_after(state, action, order_id="O1")


def test_states_are_the_statuses_stored_in_the_mall_orders_table():
    assert {s.value for s in OrderState} == {"paid", "fulfilled", "cancelled", "refunded"}


def test_a_paid_order_is_fulfilled_by_the_warehouse_and_a_second_report_keeps_it_so():
    assert START is S.PAID
    assert after(S.PAID, A.FULFIL) is S.FULFILLED
    assert after(S.FULFILLED, A.FULFIL) is S.FULFILLED


def test_a_cancelled_order_is_refunded_and_cancelling_it_again_changes_nothing():
    cancelled = after(S.PAID, A.CANCEL)
    assert cancelled is S.CANCELLED
    refunded = after(cancelled, A.REFUND)
    assert refunded is S.REFUNDED
    assert after(refunded, A.CANCEL) is S.REFUNDED


def test_a_shipped_order_cannot_be_cancelled():
    with pytest.raises(OrderNotCancellable) as refused:
        after(S.FULFILLED, A.CANCEL)
    assert refused.value.code == "order_not_cancellable"
    assert refused.value.message == (
        "Order 'O1' is fulfilled; only a paid order not yet shipped can be cancelled."
    )
    assert refused.value.details == {"order_id": "O1", "status": "fulfilled"}


@pytest.mark.parametrize("state", [S.CANCELLED, S.REFUNDED])
def test_a_cancelled_order_is_never_shipped(state):
    with pytest.raises(OrderCancelled) as refused:
        after(state, A.FULFIL)
    assert refused.value.code == "order_cancelled"
    assert "do not ship it" in refused.value.message


@pytest.mark.parametrize("state", [S.PAID, S.FULFILLED, S.REFUNDED])
def test_only_a_cancelled_order_is_refunded(state):
    with pytest.raises(OrderNotCancellable, match="only a cancelled order is refunded"):
        after(state, A.REFUND)


def test_cancelled_and_refunded_orders_no_longer_count():
    assert {S.CANCELLED, S.REFUNDED} == ENDED


@given(st.lists(st.sampled_from(list(OrderAction)), max_size=10))
def test_any_sequence_of_actions_follows_the_rules_or_is_refused_leaving_the_order_as_it_was(
    actions,
):
    state = START
    for action in actions:
        expected = ALLOWED.get((state, action))
        if expected is None:
            with pytest.raises(JifenError) as refused:
                after(state, action)
            assert refused.value.code in {"order_cancelled", "order_not_cancellable"}
        else:
            state = after(state, action)
            assert state is expected


@given(st.sampled_from(list(OrderAction)))
def test_a_refunded_order_takes_no_action_but_a_repeated_cancel(action):
    if action is A.CANCEL:
        assert after(S.REFUNDED, action) is S.REFUNDED
    else:
        with pytest.raises(JifenError):
            after(S.REFUNDED, action)


def test_every_state_is_reached_from_a_paid_order():
    reached, frontier = {START}, [START]
    while frontier:
        state = frontier.pop()
        for action in OrderAction:
            try:
                target = after(state, action)
            except JifenError:
                continue
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(OrderState)
