"""Mall products: defining them (upsert by sku) and what is on offer."""

from __future__ import annotations

from datetime import datetime

from jifen.domain.errors import InvalidRequest, JifenError
from jifen.services import journal
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.mall_repository import Product

PRODUCT_KINDS = ("goods", "coupon")


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
    check_product(product)
    with uow:
        created = uow.mall.get_product(product.sku) is None
        uow.mall.put_product(product)
        stored = uow.mall.get_product(product.sku)
        journal.record(uow, "define_product", at=None, product=product)
        uow.commit()
    assert stored is not None  # noqa: S101 - just written
    return stored, created


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
