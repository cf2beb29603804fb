"""Mall orders: placing them under a flash-sale rush, cancelling with a refund, reading them.

An order is placed in two transactions. The first is short: it takes the units off sale, records
them as held for the order (`stock_holds`) and commits, so the product row is locked only while
the stock is decided and a buyer who comes too late hears `out_of_stock` at once, not after the
winners ahead have paid. The second pays and stores the order in the hold's place; when it fails,
a compensating third puts the units back. A hold left by a crash between the first two goes back
on sale with the daily job (`release_stale_holds`). Locks are always taken in one order — order
row (cancel only), hold row, product row, member balance — so no two orders ever deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from jifen.domain.calendar import local_datetime
from jifen.domain.errors import IdempotencyConflict, InvalidRequest, JifenError, NotFound
from jifen.domain.ledger import PROGRAM_REDEEMED
from jifen.domain.orders import START, OrderAction, OrderState, order_after
from jifen.programs.schema import Program
from jifen.services import journal
from jifen.services.ledger import fingerprint
from jifen.services.mall.coupons import issue_coupons
from jifen.services.mall.payment import lock_balances_of, pay, refund
from jifen.services.mall.products import require_on_sale
from jifen.services.mall.warehouse import WarehouseAdapter
from jifen.services.members import MemberNotActive, require_active_member
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.mall_repository import Coupon, MallOrder, MallRowTaken, Product, StockHold

MAX_QUANTITY = 100
STALE_HOLD = timedelta(minutes=15)
"""How old a hold must be before the daily job takes it for one a crash left behind."""


class OutOfStock(JifenError):
    """Fewer units are left than the order asks for."""

    code = "out_of_stock"
    status = 409


class LimitReached(JifenError):
    """The order would take the member past the product's per-member limit."""

    code = "limit_reached"
    status = 409


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """An order with the coupons it issued; `replayed` when its id had been placed before."""

    order: MallOrder
    coupons: tuple[Coupon, ...] = ()
    replayed: bool = False


def payment_key(order_id: str) -> str:
    """The ledger key under which an order is paid (`<key>:<kind>` per kind)."""
    return f"mall:order:{order_id}"


def coupon_source(order_id: str) -> str:
    """The `source` of the coupons an order issues."""
    return f"order:{order_id}"


def order_fingerprint(*, member_id: int, sku: str, quantity: int) -> str:
    """The hash of an order request: its id sent again with another request is a conflict."""
    request = {"op": "mall_order", "member_id": member_id, "sku": sku, "quantity": quantity}
    return fingerprint(request)


def place_order(
    uow: UnitOfWork,
    *,
    program: Program,
    warehouse: WarehouseAdapter,
    order_id: str,
    member_id: int,
    sku: str,
    quantity: int,
    now: datetime,
) -> PlacedOrder:
    """Sell `quantity` units of `sku` to the member for points.

    Checks, in order: the sale window (`SaleNotOpen`), the stock (`OutOfStock`), the member's
    limit (`LimitReached`), the points (`InsufficientPoints`). The stock is decided first, in a
    transaction of its own that holds the units for the order; the payment follows in a second,
    and when it fails, for any reason, the units go back on sale and its error is raised. So a
    product's stock plus its units sold — in live orders and in holds not settled yet — is at
    every moment what it was stocked with. Points are price × quantity, paid from the program's
    mall kinds into `program:redeemed`; the cash part is recorded, not taken. Goods go to the
    warehouse (status `paid`); coupons are issued at once (status `fulfilled`).
    The same id with the same request returns the first result, and after a failed or broken
    attempt pays for the units still held under it rather than taking more; with another
    request, a conflict. `now` is the instant; the order keeps it as the program's local time.
    """
    now = local_datetime(now, program.timezone)
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidRequest(f"Order 1 to {MAX_QUANTITY} units at a time, not {quantity}.")
    request_hash = order_fingerprint(member_id=member_id, sku=sku, quantity=quantity)
    order = MallOrder(
        order_id, member_id, sku, quantity, 0, 0, START, request_hash, None, {}, now, now
    )
    while True:  # round again only when the units went before this call could hold or pay for them
        placed = _reserve(uow, order)
        if placed is None:
            placed = _pay_for_hold(uow, program=program, warehouse=warehouse, order=order)
        if placed is not None:
            break
    if placed.replayed and placed.order.request_hash != request_hash:
        raise IdempotencyConflict(order_id)
    return placed


def _reserve(uow: UnitOfWork, order: MallOrder) -> PlacedOrder | None:
    """The first transaction: hold the order's units, unless its id has a hold or an order.

    Returns the stored order (replayed), or None: units are held under the id — by this call or
    by an earlier or concurrent attempt — or the last ones went while this call read the stock.
    The second transaction finds out which.
    """
    try:
        with uow:
            # The stock is read before the id: units an attempt under the id took are seen below.
            product = uow.mall.get_product(order.sku)
            if uow.mall.get_hold(order.id) is not None:
                return None
            stored = _stored(uow, order.id)
            if stored is not None:
                return replace(stored, replayed=True)
            product = _require_offered(uow, product, order)
            if product.stock < order.quantity:  # sold out as read: no queueing for the row
                raise _out_of_stock(product, order.quantity)
            _require_within_limit(uow, product, order)  # and again, when paying, under lock
            if uow.mall.hold_stock(_hold_for(order)):  # the product row locked till the commit
                uow.commit()
            return None  # if the units went meanwhile, the next round reads it all afresh
    except MallRowTaken:
        if uow.depth:
            raise  # the enclosing use case's transaction is spoilt; it retries as a whole
        return None  # a concurrent attempt under the id holds the units: pay for those


def _hold_for(order: MallOrder) -> StockHold:
    o = order
    return StockHold(o.id, o.sku, o.quantity, o.member_id, o.request_hash, o.created_at)


def _require_offered(uow: UnitOfWork, product: Product | None, order: MallOrder) -> Product:
    """The product, if the member is active and it is on sale at the order's time."""
    require_active_member(uow, order.member_id)  # an unknown member is refused before any lock
    if product is None or not product.active:
        raise NotFound(f"No product {order.sku!r} on offer.", sku=order.sku)
    require_on_sale(product, order.created_at)
    return product


def _pay_for_hold(
    uow: UnitOfWork, *, program: Program, warehouse: WarehouseAdapter, order: MallOrder
) -> PlacedOrder | None:
    """The second transaction, and if it fails the compensating third that returns the units."""
    try:
        return _settle(uow, program=program, warehouse=warehouse, order=order)
    except Exception:
        with uow:
            hold = uow.mall.get_hold(order.id, lock=True)
            if hold is not None and hold.request_hash == order.request_hash:
                uow.mall.release_hold(hold)
                uow.commit()
        raise


def _settle(
    uow: UnitOfWork, *, program: Program, warehouse: WarehouseAdapter, order: MallOrder
) -> PlacedOrder | None:
    """Pay for the units held under the order's id and store the order in the hold's place.

    Returns the stored order (replayed) if a concurrent attempt placed it first, and None if the
    hold has gone without an order (such an attempt failed, or the daily job returned it).
    """
    with uow:
        hold = uow.mall.get_hold(order.id, lock=True)  # one payer per hold at a time
        stored = _stored(uow, order.id)
        if stored is not None:
            if hold is not None and hold.request_hash == order.request_hash:
                uow.mall.release_hold(hold)  # held as the concurrent attempt placed the order
                uow.commit()
            return replace(stored, replayed=True)
        if hold is None:
            return None
        if hold.request_hash != order.request_hash:
            raise IdempotencyConflict(order.id)
        product = uow.mall.get_product(order.sku)
        assert product is not None  # noqa: S101 - the hold refers to it
        placed = _pay(uow, program=program, warehouse=warehouse, order=order, product=product)
        uow.mall.delete_hold(order.id)
        journal.record(
            uow,
            "place_order",
            at=order.created_at,
            order_id=order.id,
            member_id=order.member_id,
            sku=order.sku,
            quantity=order.quantity,
        )
        uow.commit()
    return placed


def _pay(
    uow: UnitOfWork,
    *,
    program: Program,
    warehouse: WarehouseAdapter,
    order: MallOrder,
    product: Product,
) -> PlacedOrder:
    """Pay for the order under the member's lock and store it (goods) or fulfil it (coupons)."""
    kinds = program.redemption.mall_kinds
    lock_balances_of(uow, order.member_id, kinds)
    require_active_member(uow, order.member_id)  # again: a freeze or close has waited or is done
    _require_within_limit(uow, product, order)
    points = product.price_points * order.quantity
    paid = pay(
        uow,
        key=payment_key(order.id),
        member_id=order.member_id,
        kinds=kinds,
        points=points,
        occurred_at=order.created_at,
        to_account=PROGRAM_REDEEMED,
        memo={"mall_order": order.id, "sku": product.sku},
    )
    order = replace(
        order,
        points=points,
        cash_fen=product.cash_fen * order.quantity,
        transaction_id=paid[0].transaction_id if paid else None,
    )
    if product.kind != "coupon":
        order = replace(order, fulfilment={"warehouse": warehouse.submit(order)})
        uow.mall.insert_order(order)
        return PlacedOrder(order)
    fulfilled = order_after(OrderState(order.status), OrderAction.FULFIL, order_id=order.id)
    order = replace(order, status=fulfilled, fulfilment={"coupons": order.quantity})
    uow.mall.insert_order(order)
    assert product.coupon_valid_days is not None  # noqa: S101 - required of coupon products
    issued = issue_coupons(
        uow,
        member_id=order.member_id,
        coupon_type=product.sku,
        count=order.quantity,
        valid_days=product.coupon_valid_days,
        source=coupon_source(order.id),
        issued_at=order.created_at,
    )
    return PlacedOrder(order, tuple(issued))


def release_stale_holds(uow: UnitOfWork, *, before: datetime) -> list[StockHold]:
    """Put back on sale the units of holds taken before `before` that no payment settled.

    Such a hold was left by a crash between an order's two transactions; retrying the order
    later takes units afresh. A hold being paid for at this moment is skipped.
    """
    with uow:
        released = uow.mall.release_stale_holds(before=before)
        uow.commit()
    return released


def _out_of_stock(product: Product, quantity: int) -> OutOfStock:
    return OutOfStock(
        f"{product.sku!r} has {product.stock} left; {quantity} were asked for.",
        sku=product.sku,
        requested=quantity,
        left=product.stock,
    )


def _require_within_limit(uow: UnitOfWork, product: Product, order: MallOrder) -> None:
    """Refuse an order past the member's limit; only orders count, holds are not sales yet."""
    limit = product.per_member_limit
    if limit is None:
        return
    bought = uow.mall.units_bought(order.member_id, product.sku)
    if bought + order.quantity > limit:
        raise LimitReached(
            f"Member {order.member_id} may buy {limit} of {product.sku!r} and holds {bought}; "
            f"{order.quantity} more would pass the limit.",
            sku=product.sku,
            limit=limit,
            bought=bought,
        )


def _stored(uow: UnitOfWork, order_id: str) -> PlacedOrder | None:
    order = uow.mall.get_order(order_id)
    if order is None:
        return None
    issued = uow.mall.coupons_of(order.member_id, source=coupon_source(order_id))
    return PlacedOrder(order, tuple(sorted(issued, key=lambda c: c.code)))


def get_order(uow: UnitOfWork, *, order_id: str) -> PlacedOrder:
    """An order with the coupons it issued; `NotFound` if there is none."""
    with uow:
        placed = _stored(uow, order_id)
    if placed is None:
        raise NotFound(f"No mall order {order_id!r}.", order_id=order_id)
    return placed


def cancel_order(
    uow: UnitOfWork, *, program: Program, order_id: str, cancel_id: str, now: datetime
) -> MallOrder:
    """Cancel a paid goods order: the stock goes back on sale and the points back to their lots.

    Cancelling and refunding happen in one transaction, so the order ends `refunded`. Cancelling
    a refunded order again returns it unchanged; a fulfilled (shipped or coupon) order raises
    `OrderNotCancellable`. `now` is the instant; the order keeps it as the program's local time.
    """
    now = local_datetime(now, program.timezone)
    with uow:
        order = uow.mall.get_order(order_id, lock=True)
        if order is None:
            raise NotFound(f"No mall order {order_id!r}.", order_id=order_id)
        state = OrderState(order.status)
        cancelled = order_after(state, OrderAction.CANCEL, order_id=order_id)
        if cancelled is state:  # cancelled before: nothing more to do
            return order
        uow.mall.return_stock(order.sku, order.quantity)  # the product row before the member's
        kinds = program.redemption.mall_kinds
        lock_balances_of(uow, order.member_id, kinds)
        _require_not_closed(uow, order.member_id)
        refund(
            uow,
            key=payment_key(order_id),
            member_id=order.member_id,
            kinds=kinds,
            points=order.points,
            occurred_at=now,
            memo={"mall_order": order_id, "cancel_id": cancel_id},
        )
        cancel = {"id": cancel_id, "cancelled_at": now.isoformat(), "refunded_at": now.isoformat()}
        fulfilment = {**order.fulfilment, "cancel": cancel}
        refunded = order_after(cancelled, OrderAction.REFUND, order_id=order_id)
        uow.mall.update_order(order_id, status=refunded, fulfilment=fulfilment, at=now)
        updated = uow.mall.get_order(order_id)
        journal.record(uow, "cancel_order", at=now, order_id=order_id, cancel_id=cancel_id)
        uow.commit()
    assert updated is not None  # noqa: S101 - just updated
    return updated


def _require_not_closed(uow: UnitOfWork, member_id: int) -> None:
    member = uow.members.get(member_id)
    if member is not None and member.status == "closed":
        raise MemberNotActive(
            f"Member {member_id} is closed and their points forfeited; nothing can be refunded.",
            member_id=member_id,
            status=member.status,
        )
