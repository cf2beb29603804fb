"""The mall page: products with stock and sale windows (flash sales first), and the orders.

Products are created, edited and restocked by `mall_actions`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jifen.api.deps import UowDep
from jifen.domain.orders import OrderState
from jifen.services import mall
from jifen.services.views import console as console_view
from jifen.storage.mall_repository import Product
from jifen.web.console.common import Operator, page, paged

router = APIRouter(prefix="/console")
ORDER_STATUSES = tuple(OrderState)


def sale_state(product: Product, now: datetime) -> str:
    """`sold out`, `upcoming`, `ended` or `on sale` at `now`."""
    if product.stock <= 0:
        return "sold out"
    if product.sale_starts_at is not None and now < product.sale_starts_at:
        return "upcoming"
    if product.sale_ends_at is not None and now >= product.sale_ends_at:
        return "ended"
    return "on sale"


@router.get("/mall")
def mall_page(request: Request, user: Operator, uow: UowDep) -> Response:
    """Products on offer, flash sales and the latest orders with totals per status."""
    now = request.app.state.jifen.clock.now()
    products = mall.products_on_offer(uow)
    flash_sales = [p for p in products if p.sale_starts_at is not None]
    counts = console_view.order_counts(uow)
    listing = paged(request, [p for p in products if p.sale_starts_at is None])
    context: dict[str, Any] = {
        "flash_sales": [{"product": p, "state": sale_state(p, now)} for p in flash_sales],
        "listing": listing,
        "products": [{"product": p, "state": sale_state(p, now)} for p in listing.items],
        "orders": console_view.recent_orders(uow, limit=50),
        "counts": [(status, *counts.get(status, (0, 0))) for status in ORDER_STATUSES],
    }
    return page(request, "console/mall.html", user, context)
