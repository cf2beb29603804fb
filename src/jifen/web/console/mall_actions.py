"""Managing the mall from the console: create or edit a product, adjust its stock (audited).

The forms go through `services.mall` (`set_product` is the API's `define_product`, audited;
`adjust_stock` adds or takes off units), with `console:USERNAME` as the actor. The stock form
carries an id made when the page was shown, so sending it twice changes the stock once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.domain.errors import JifenError
from jifen.programs.schema import Program
from jifen.services import listings, mall
from jifen.services.event_schema import PRINTABLE
from jifen.storage.mall_repository import Product
from jifen.web.console.common import (
    Operator,
    Short,
    actor,
    back,
    error_text,
    flash,
    gettext,
    now,
    page,
    whole_number,
)
from jifen.web.security import check_csrf

router = APIRouter(prefix="/console")
writes = APIRouter(prefix="/console", dependencies=[Depends(check_csrf)])
SkuPath = Annotated[str, Path(min_length=1, max_length=64, pattern=PRINTABLE)]
FormId = Annotated[str, Form(min_length=1, max_length=200, pattern=PRINTABLE)]
RECENT_ADJUSTMENTS = 20


@router.get("/mall/products/{sku}")
def product_page(
    request: Request, sku: SkuPath, user: Operator, uow: UowDep, program: ProgramDep
) -> Response:
    """One product: its form, filled in, the stock adjustment form and recent adjustments."""
    zone = ZoneInfo(program.timezone)

    def local(moment: datetime | None) -> str:  # a `datetime-local` field's value
        return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")

    product = mall.get_product(uow, sku)
    recent = listings.stock_adjustments(uow, sku=sku, cursor=None, limit=RECENT_ADJUSTMENTS)
    context = {
        "p": product,
        "fmt_local": local,
        "adjustments": recent.items,
        "form_id": f"stock-{uuid.uuid4().hex}",
    }
    return page(request, "console/product.html", user, context)


def _moment(text: str, program: Program) -> datetime | None:
    text = text.strip()
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(program.timezone)) if text else None


@writes.post("/mall/products")
def save_product(
    request: Request,
    *,
    user: Operator,
    uow: UowDep,
    program: ProgramDep,
    sku: Annotated[str, Form(min_length=1, max_length=64, pattern=PRINTABLE)],
    name: Short,
    kind: Short,
    price_points: Short,
    stock: Short,
    cash_fen: Short = "",
    per_member_limit: Short = "",
    coupon_valid_days: Short = "",
    sale_starts_at: Short = "",
    sale_ends_at: Short = "",
    active: Short = "",
) -> Response:
    """Create the product, or replace every field of the one with this sku."""
    _ = gettext(request)
    try:
        product = Product(
            sku=sku.strip(),
            name=name.strip(),
            kind=kind,
            price_points=whole_number(price_points) or 0,
            cash_fen=whole_number(cash_fen) or 0,
            stock=whole_number(stock) or 0,
            per_member_limit=whole_number(per_member_limit),
            sale_starts_at=_moment(sale_starts_at, program),
            sale_ends_at=_moment(sale_ends_at, program),
            coupon_valid_days=whole_number(coupon_valid_days),
            active=bool(active),
        )
    except ValueError:
        flash(request, "error", _("Check the form: numbers and dates must be filled in."))
        return back("/console/mall")
    try:
        _stored, created = mall.set_product(
            uow, product=product, actor=actor(user), now=now(request)
        )
    except JifenError as error:
        flash(request, "error", _product_error(request, error))
        return back("/console/mall")
    text = _("Product {sku} created.") if created else _("Product {sku} saved.")
    flash(request, "ok", text.format(sku=product.sku))
    return back(f"/console/mall/products/{product.sku}")


def _product_error(request: Request, error: JifenError) -> str:
    _ = gettext(request)
    if error.code == "invalid_request":
        return _("The product cannot be saved: {problem}").format(problem=error.message)
    return error_text(request, error)


@writes.post("/mall/products/{sku}/stock")
def adjust_stock(
    request: Request,
    *,
    sku: SkuPath,
    user: Operator,
    uow: UowDep,
    form_id: FormId,
    change: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Add units to the stock, or take them off (a negative change), with a reason, once."""
    _ = gettext(request)
    location = f"/console/mall/products/{sku}"
    try:
        amount = whole_number(change)
    except ValueError:
        amount = None
    if not amount or not reason.strip():
        flash(request, "error", _("Give a whole number other than 0, e.g. 50 or -5, and a reason."))
        return back(location)
    try:
        adjusted = mall.adjust_stock(
            uow,
            adjustment_id=form_id,
            sku=sku,
            change=amount,
            reason=reason,
            actor=actor(user),
            now=now(request),
        )
    except JifenError as error:
        below = error.code == mall.StockBelowZero.code
        text = _("Fewer units are left than you take off; stock cannot go below 0.")
        flash(request, "error", text if below else error_text(request, error))
        return back(location)
    if adjusted.replayed:
        text = _("This form was sent before; the stock was not changed again. It is now {stock}.")
        flash(request, "warn", text.format(stock=f"{adjusted.product.stock:,}"))
        return back(location)
    text = _("Stock changed by {change}; now {stock}.")
    flash(request, "ok", text.format(change=f"{amount:+,}", stock=f"{adjusted.product.stock:,}"))
    return back(location)
