"""Mall products: defining them (upsert by sku), adjusting their stock, and what is on offer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from jifen.domain.errors import IdempotencyConflict, InvalidRequest, JifenError, NotFound
from jifen.services import audit, journal, ledger
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.mall_repository import MallRowTaken, Product, StockAdjustment

PRODUCT_KINDS = ("goods", "coupon")


class StockBelowZero(JifenError):
    """A stock adjustment takes off more units than are left: stock never goes below 0."""

    code = "stock_below_zero"
    status = 409

    def __init__(self, sku: str, *, change: int, stock: int) -> None:
        super().__init__(
            f"{sku!r} has {stock} units left; taking off {-change} would put its stock below 0.",
            sku=sku,
            change=change,
            stock=stock,
        )


@dataclass(frozen=True, slots=True)
class StockAdjusted:
    """A stock adjustment and its product as it stands; `replayed` when the id was used before."""

    product: Product
    adjustment: StockAdjustment
    replayed: bool = False


class SaleNotOpen(JifenError):
    """The product's sale window (限时抢购) has not opened yet or has closed."""

    code = "sale_not_open"
    status = 409


def check_product(product: Product) -> Product:
    """Refuse a product definition that makes no sense; returns it unchanged."""
    problems = []
    if product.kind not in PRODUCT_KINDS:
        problems.append(f"kind must be one of {', '.join(PRODUCT_KINDS)}")
    if product.price_points < 1:
        problems.append("price_points is at least 1 (grant a free gift as a coupon instead)")
    if min(product.cash_fen, product.stock) < 0:
        problems.append("cash_fen and stock cannot be negative")
    if product.per_member_limit is not None and product.per_member_limit < 1:
        problems.append("per_member_limit is at least 1 (leave it out for no limit)")
    if (product.kind == "coupon") != (product.coupon_valid_days is not None):
        problems.append("coupon_valid_days is required for a coupon and only for a coupon")
    if product.coupon_valid_days is not None and product.coupon_valid_days < 1:
        problems.append("coupon_valid_days is at least 1")
    starts, ends = product.sale_starts_at, product.sale_ends_at
    if starts is not None and ends is not None and ends <= starts:
        problems.append("sale_ends_at must come after sale_starts_at")
    if problems:
        raise InvalidRequest(f"The product {product.sku!r} is not valid: {'; '.join(problems)}.")
    return product


def define_product(uow: UnitOfWork, *, product: Product) -> tuple[Product, bool]:
    """Create the product, or replace the one with its sku; `(stored, created)`.

    Replacing sets every field, stock included: `stock` is what is left to sell from now on.
    Orders already placed keep the price they were charged.
    """
    return _define(uow, product, None)


def set_product(
    uow: UnitOfWork, *, product: Product, actor: str, now: datetime
) -> tuple[Product, bool]:
    """`define_product` as an operator does it (the console): the same rules, and audited."""
    return _define(uow, product, (actor, now))


def _define(
    uow: UnitOfWork, product: Product, by: tuple[str, datetime] | None
) -> tuple[Product, bool]:
    check_product(product)
    with uow:
        created = uow.mall.get_product(product.sku) is None
        uow.mall.put_product(product)
        stored = uow.mall.get_product(product.sku)
        if by is None:
            journal.record(uow, "define_product", at=None, product=product)
        else:
            actor, now = by
            action = "product.created" if created else "product.changed"
            details = journal.plain(product)
            subject = f"product:{product.sku}"
            audit.record(uow, at=now, actor=actor, action=action, subject=subject, details=details)
            journal.record(uow, "set_product", at=now, product=product, actor=actor)
        uow.commit()
    assert stored is not None  # noqa: S101 - just written
    return stored, created


def adjust_stock(
    uow: UnitOfWork,
    *,
    adjustment_id: str,
    sku: str,
    change: int,
    reason: str,
    actor: str,
    now: datetime,
) -> StockAdjusted:
    """Add `change` units to the product's stock (negative takes them off), recorded and audited.

    Idempotent by `adjustment_id`: the same request again changes nothing and answers with the
    stored adjustment and the product as it stands (`replayed`); another request under that id
    raises `IdempotencyConflict`. Stock never goes below 0: a change that would is refused
    (`StockBelowZero`) and nothing changes. Concurrent orders keep their units: the change is
    added to the stock as it stands when it commits. The adjustment's row, the stock and the
    audit record commit together.
    """
    reason = reason.strip()
    if change == 0 or not reason:
        raise InvalidRequest("A stock adjustment needs a change other than 0 and a reason.")
    new = StockAdjustment(
        id=adjustment_id,
        sku=sku,
        change=change,
        stock_after=0,  # known once the change is made
        reason=reason,
        actor=actor,
        at=now,
        request_hash=ledger.fingerprint({"sku": sku, "change": change, "reason": reason}),
    )
    try:
        return _adjust(uow, new)
    except MallRowTaken:  # a concurrent request stored this id first: answer as it stands
        return _adjust(uow, new)


def _adjust(uow: UnitOfWork, new: StockAdjustment) -> StockAdjusted:
    with uow:
        stored = uow.mall.get_stock_adjustment(new.id)
        if stored is not None:
            if stored.request_hash != new.request_hash:
                raise IdempotencyConflict(new.id)
            product = uow.mall.get_product(stored.sku)
            assert product is not None  # noqa: S101 - products are never deleted
            return StockAdjusted(product, stored, replayed=True)
        before = uow.mall.get_product(new.sku)
        if before is None:
            raise NotFound(f"No product {new.sku!r}.", sku=new.sku)
        if not uow.mall.add_stock(new.sku, new.change):
            raise StockBelowZero(new.sku, change=new.change, stock=before.stock)
        after = uow.mall.get_product(new.sku)
        assert after is not None  # noqa: S101 - just changed
        record = replace(new, stock_after=after.stock)
        uow.mall.insert_stock_adjustment(record)
        details = {
            "id": record.id,
            "change": record.change,
            "stock": record.stock_after,
            "reason": record.reason,
        }
        audit.record(
            uow,
            at=record.at,
            actor=record.actor,
            action="product.stock_adjusted",
            subject=f"product:{record.sku}",
            details=details,
        )
        journal.record(
            uow,
            "adjust_stock",
            at=record.at,
            adjustment_id=record.id,
            sku=record.sku,
            change=record.change,
            reason=record.reason,
            actor=record.actor,
        )
        uow.commit()
    return StockAdjusted(after, record)


def get_product(uow: UnitOfWork, sku: str) -> Product:
    """The product with this sku, on offer or not; `NotFound` when there is none."""
    with uow:
        product = uow.mall.get_product(sku)
    if product is None:
        raise NotFound(f"No product {sku!r}.", sku=sku)
    return product


def products_on_offer(uow: UnitOfWork) -> list[Product]:
    """Every active product with its stock and sale window, sold out or not."""
    with uow:
        return uow.mall.active_products()


def require_on_sale(product: Product, now: datetime) -> None:
    """Refuse with `SaleNotOpen` outside the window `[sale_starts_at, sale_ends_at)`."""
    starts, ends = product.sale_starts_at, product.sale_ends_at
    if (starts is None or now >= starts) and (ends is None or now < ends):
        return
    opens = None if starts is None else starts.astimezone(now.tzinfo).isoformat()
    closes = None if ends is None else ends.astimezone(now.tzinfo).isoformat()
    raise SaleNotOpen(
        f"{product.sku!r} is on sale from {opens or 'any time'} until {closes or 'further notice'}"
        "; order it while the sale is open.",
        sku=product.sku,
        sale_starts_at=opens,
        sale_ends_at=closes,
    )
