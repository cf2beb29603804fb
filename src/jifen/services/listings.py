"""A member's redemptions, orders, coupons and adjustments, newest first, a page at a time.

Also the adjustments of every member waiting for approval (the console's queue), and a mall
product's stock adjustments.

Each page is read after the position the cursor names (the last row's time and id), so a row
written while someone pages neither repeats nor shifts the pages still to come.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from jifen.domain.adjustments import AdjustmentState
from jifen.domain.errors import NotFound
from jifen.services.cursors import decode_position, encode_position
from jifen.services.mall.orders import PlacedOrder, coupon_source
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.audit_repository import AdjustmentRecord
from jifen.storage.mall_repository import Coupon, StockAdjustment
from jifen.storage.redemption_repository import RedemptionRecord

T = TypeVar("T")
Position = tuple[datetime, str]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Rows of one page, newest first, and the cursor of the next page (None: no more)."""

    items: list[T]
    next_cursor: str | None


def _page(
    uow: UnitOfWork,
    *,
    member_id: int,
    cursor: str | None,
    limit: int,
    read: Callable[[UnitOfWork, Position | None, int], list[T]],
    position: Callable[[T], Position],
) -> Page[T]:
    before = decode_position(cursor) if cursor else None
    with uow:
        if uow.members.get(member_id) is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        rows = read(uow, before, limit + 1)
    items = rows[:limit]
    more = len(rows) > limit
    return Page(items, encode_position(*position(items[-1])) if more else None)


def redemptions(
    uow: UnitOfWork, *, member_id: int, cursor: str | None, limit: int
) -> Page[RedemptionRecord]:
    """The member's ticket redemptions and seat upgrades, newest first."""
    return _page(
        uow,
        member_id=member_id,
        cursor=cursor,
        limit=limit,
        read=lambda u, before, n: u.redemptions.of_member(member_id, before=before, limit=n),
        position=lambda r: (r.created_at, r.id),
    )


def orders(uow: UnitOfWork, *, member_id: int, cursor: str | None, limit: int) -> Page[PlacedOrder]:
    """The member's mall orders, newest first, each with the coupons it issued."""

    def read(u: UnitOfWork, before: Position | None, n: int) -> list[PlacedOrder]:
        found = u.mall.orders_of(member_id, before=before, limit=n)
        issued: dict[str, list[Coupon]] = {}
        sources = [coupon_source(o.id) for o in found]
        for coupon in u.mall.coupons_issued_by(member_id, sources) if found else []:
            issued.setdefault(coupon.source, []).append(coupon)
        return [PlacedOrder(o, tuple(issued.get(coupon_source(o.id), ()))) for o in found]

    return _page(
        uow,
        member_id=member_id,
        cursor=cursor,
        limit=limit,
        read=read,
        position=lambda p: (p.order.created_at, p.order.id),
    )


def coupons(uow: UnitOfWork, *, member_id: int, cursor: str | None, limit: int) -> Page[Coupon]:
    """The member's coupons and vouchers, newest first."""
    return _page(
        uow,
        member_id=member_id,
        cursor=cursor,
        limit=limit,
        read=lambda u, before, n: u.mall.coupon_page(member_id, before=before, limit=n),
        position=lambda c: (c.issued_at, c.code),
    )


def adjustments(
    uow: UnitOfWork, *, member_id: int, cursor: str | None, limit: int
) -> Page[AdjustmentRecord]:
    """The member's adjustments (applied, awaiting approval, rejected), newest request first."""
    return _page(
        uow,
        member_id=member_id,
        cursor=cursor,
        limit=limit,
        read=lambda u, before, n: u.audit_log.list_adjustments(
            member_id=member_id, status=None, limit=n, before=before
        ),
        position=lambda a: (a.requested_at, a.id),
    )


def awaiting_approval(uow: UnitOfWork, *, cursor: str | None, limit: int) -> Page[AdjustmentRecord]:
    """Every member's adjustments waiting for a second person, newest request first."""
    before = decode_position(cursor) if cursor else None
    with uow:
        rows = uow.audit_log.list_adjustments(
            member_id=None, status=AdjustmentState.PENDING_APPROVAL, limit=limit + 1, before=before
        )
    items = rows[:limit]
    more = len(rows) > limit
    return Page(items, encode_position(items[-1].requested_at, items[-1].id) if more else None)


def stock_adjustments(
    uow: UnitOfWork, *, sku: str, cursor: str | None, limit: int
) -> Page[StockAdjustment]:
    """A mall product's stock adjustments, newest first; `NotFound` for an unknown sku."""
    before = decode_position(cursor) if cursor else None
    with uow:
        if uow.mall.get_product(sku) is None:
            raise NotFound(f"No product {sku!r}.", sku=sku)
        rows = uow.mall.stock_adjustments_of(sku, before=before, limit=limit + 1)
    items = rows[:limit]
    more = len(rows) > limit
    return Page(items, encode_position(items[-1].at, items[-1].id) if more else None)
