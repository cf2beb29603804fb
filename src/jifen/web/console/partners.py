"""The partners page: partners with their terms and a month's settlement; add, suspend, activate.

The forms go through `services.partners` as the API does (`add_partner`, `set_partner_status`,
both audited), with `console:USERNAME` as the actor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.domain.errors import JifenError
from jifen.domain.partners import MilesRate
from jifen.services import partners
from jifen.web.console.common import (
    Anyone,
    Operator,
    Short,
    actor,
    back,
    error_text,
    flash,
    gettext,
    names,
    now,
    page,
    paged,
    today,
    whole_number,
)
from jifen.web.console.labels import PARTNER_STATUS
from jifen.web.security import check_csrf

router = APIRouter(prefix="/console")
writes = APIRouter(prefix="/console", dependencies=[Depends(check_csrf)])
CodePath = Annotated[str, Path(min_length=1, max_length=24, pattern="^[a-z0-9_-]+$")]


@router.get("/partners")
def partners_page(request: Request, user: Anyone, uow: UowDep, program: ProgramDep) -> Response:
    """Every partner, a page at a time, each with its settlement for `?month=YYYY-MM`."""
    _ = gettext(request)
    month = request.query_params.get("month") or today(request, program).strftime("%Y-%m")
    messages = []
    listing = paged(request, partners.list_partners(uow))
    try:
        settled = {
            p.code: partners.settlement(uow, code=p.code, month=month) for p in listing.items
        }
    except JifenError:
        messages.append({"kind": "error", "text": _("A month is written YYYY-MM, e.g. 2025-11.")})
        month = today(request, program).strftime("%Y-%m")
        settled = {
            p.code: partners.settlement(uow, code=p.code, month=month) for p in listing.items
        }
    shown = names(request, program)
    context = {
        "listing": listing,
        "month": month,
        "rows": [{"partner": p, "settlement": settled[p.code]} for p in listing.items],
        "kinds": [(k.code, shown.kind(k.code)) for k in program.point_kinds if k.spendable],
        "names": shown,
    }
    return page(request, "console/partners.html", user, context, messages=messages)


@writes.post("/partners")
def add(
    request: Request,
    *,
    user: Operator,
    uow: UowDep,
    program: ProgramDep,
    code: Short,
    name: Short,
    point_kind: Short,
    max_points_per_award: Short,
    max_points_per_member_day: Short,
    max_points_per_month: Short,
    price_per_1000_points_fen: Short,
    exchange_miles: Short = "",
    exchange_points: Short = "",
    min_miles: Short = "1",
) -> Response:
    """Add a partner with its terms; the same terms again change nothing."""
    _ = gettext(request)
    try:
        miles, points = whole_number(exchange_miles), whole_number(exchange_points)
        terms = partners.PartnerTerms(
            code=code.strip(),
            name=name,
            point_kind=point_kind,
            max_points_per_award=whole_number(max_points_per_award) or 0,
            max_points_per_member_day=whole_number(max_points_per_member_day) or 0,
            max_points_per_month=whole_number(max_points_per_month) or 0,
            price_per_1000_points_fen=whole_number(price_per_1000_points_fen) or 0,
            rate=None if miles is None and points is None else MilesRate(miles or 0, points or 0),
            min_miles=whole_number(min_miles) or 1,
        )
    except (TypeError, ValueError, JifenError):
        flash(request, "error", _("Check the form: limits, price and rate are whole numbers."))
        return back("/console/partners")
    try:
        added = partners.add_partner(
            uow, program=program, terms=terms, actor=actor(user), now=now(request)
        )
    except JifenError as error:
        flash(request, "error", _partner_error(request, error))
        return back("/console/partners")
    flash(request, "ok", _("Partner {name} added.").format(name=added.name))
    return back("/console/partners")


def _partner_error(request: Request, error: JifenError) -> str:
    _ = gettext(request)
    if error.code == "partner_exists":
        return _("A partner with this code exists with other terms.")
    if error.code == "invalid_request":
        return _("The partner cannot be added: {problem}").format(problem=error.message)
    return error_text(request, error)


@writes.post("/partners/{code}/status")
def set_status(
    request: Request,
    *,
    code: CodePath,
    user: Operator,
    uow: UowDep,
    status: Annotated[str, Form(pattern="^(active|suspended)$")],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Suspend the partner (its awards and exchanges are refused) or make it active again."""
    _ = gettext(request)
    try:
        changed = partners.set_partner_status(
            uow,
            code=code,
            status=status,
            reason=reason.strip(),
            actor=actor(user),
            now=now(request),
        )
    except JifenError as error:
        flash(request, "error", error_text(request, error))
        return back("/console/partners")
    text = _("Partner {name} is now {status}.")
    flash(request, "ok", text.format(name=changed.name, status=_(PARTNER_STATUS[changed.status])))
    return back("/console/partners")
