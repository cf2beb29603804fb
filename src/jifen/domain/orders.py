"""A mall order's life: paid, then fulfilled (shipped, coupons issued) or cancelled → refunded.

An order is stored paid. The warehouse's reports (shipped, delivered) fulfil it, and coupons
fulfil it at once. A paid order not yet fulfilled can be cancelled, and a cancelled order is
refunded (Jifen does both in one transaction, so orders are stored `refunded`); cancelling it again
changes nothing. Nothing ships once it is cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from jifen.domain.errors import JifenError


class OrderNotCancellable(JifenError):
    """Only a paid goods order that has not been shipped can be cancelled."""

    code = "order_not_cancellable"
    status = 409


class OrderCancelled(JifenError):
    """The warehouse reported on an order that was cancelled and refunded."""

    code = "order_cancelled"
    status = 409


class OrderState(StrEnum):
    """Where an order stands; the values are the `mall_orders.status` stored in the database."""

    PAID = "paid"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class OrderAction(StrEnum):
    """What can happen to an order once it is paid."""

    FULFIL = "fulfil"  # a warehouse report (shipped, delivered), or its coupons issued
    CANCEL = "cancel"
    REFUND = "refund"


_S, _A = OrderState, OrderAction
START = OrderState.PAID
"""Every order is stored paid: it is placed and paid for in one transaction."""
TRANSITIONS: Mapping[tuple[OrderState, OrderAction], OrderState] = {
    (_S.PAID, _A.FULFIL): _S.FULFILLED,
    (_S.FULFILLED, _A.FULFIL): _S.FULFILLED,  # delivered after shipped, or another parcel
    (_S.PAID, _A.CANCEL): _S.CANCELLED,
    (_S.CANCELLED, _A.CANCEL): _S.CANCELLED,  # cancelled already: nothing more to do
    (_S.REFUNDED, _A.CANCEL): _S.REFUNDED,
    (_S.CANCELLED, _A.REFUND): _S.REFUNDED,
}
"""Every allowed move: `(state, action) → state`."""
ENDED = frozenset({OrderState.CANCELLED, OrderState.REFUNDED})
"""Orders that no longer count: no units sold, nothing to ship."""


def order_after(state: OrderState, action: OrderAction, *, order_id: str) -> OrderState:
    """The state `action` moves an order in `state` to.

    Raises `OrderCancelled` for fulfilling a cancelled order and `OrderNotCancellable` for
    cancelling (or refunding) one that cannot be.
    """
    target = TRANSITIONS.get((state, action))
    if target is not None:
        return target
    if action is OrderAction.FULFIL:
        raise OrderCancelled(
            f"Order {order_id!r} was {state}; do not ship it.", order_id=order_id, status=state
        )
    what = (
        "only a paid order not yet shipped can be cancelled"
        if action is OrderAction.CANCEL
        else "only a cancelled order is refunded"
    )
    raise OrderNotCancellable(
        f"Order {order_id!r} is {state}; {what}.", order_id=order_id, status=state
    )
