"""Member search and the member page: balances, lots, ledger, tiers, entitlements, orders."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep, VaultDep
from jifen.domain.errors import InvalidRequest, JifenError, NotFound
from jifen.domain.ledger import Lot
from jifen.programs.schema import Program
from jifen.services import adjustments, listings
from jifen.services.beneficiaries import list_beneficiaries
from jifen.services.entitlements import member_entitlements
from jifen.services.views import console as console_view
from jifen.services.views import member as member_view
from jifen.storage.crypto import IdentityVault
from jifen.storage.uow import SqlUnitOfWork
from jifen.web.console.common import Operator, actor, error_text, gettext, names, now, page
from jifen.web.templating import request_locale

router = APIRouter(prefix="/console")
LEDGER_PAGE = 50
QUEUE_PAGE = 50
LIST_PAGE = 20  # redemptions, orders, coupons, adjustments: each pages on its own cursor
LISTS = {
    "redemptions": listings.redemptions,
    "orders": listings.orders,
    "coupons": listings.coupons,
    "adjustments": listings.adjustments,
}
Cursor = Annotated[str | None, Query(max_length=64)]


def list_cursor(name: str) -> Any:
    """The `?name=` cursor of a paged list (positions keyed by ids of up to 200 characters)."""
    return Query(alias=name, max_length=400)


NUMBER = re.compile(r"[0-9]{1,12}")


@router.get("/members")
def search(
    request: Request,
    *,
    user: Operator,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    q: str = "",
    queue_at: Annotated[str | None, list_cursor("queue")] = None,
) -> Response:
    """Find members by number, exact phone or exact ID number; the approval queue below.

    The queue shows `QUEUE_PAGE` adjustments at a time, `?queue=` naming the page after.
    """
    _ = gettext(request)
    found: list[dict[str, Any]] | None = None
    messages = []
    q = q[:64]  # longer than any number, phone or ID number: it finds nothing either way
    if q.strip():
        try:
            members = console_view.find_members(uow, program=program, vault=vault, query=q)
        except InvalidRequest:
            members = []
            messages.append(
                {"kind": "error", "text": _("Search by member number, phone or ID number.")}
            )
        found = [{"member": m, "identity": console_view.masked_identity(vault, m)} for m in members]
    try:
        queue = listings.awaiting_approval(uow, cursor=queue_at, limit=QUEUE_PAGE)
    except JifenError as error:  # a cursor that is not ours: the first page
        messages.append({"kind": "error", "text": error_text(request, error)})
        queue = listings.awaiting_approval(uow, cursor=None, limit=QUEUE_PAGE)
    context = {
        "q": q,
        "found": found,
        "queue": queue.items,
        "queue_next": queue.next_cursor,
        "queue_at": queue_at,
        "names": names(request, program),
    }
    return page(request, "console/members.html", user, context, messages=messages)


@router.get("/members/{member_id}")
def member_page(
    request: Request,
    *,
    member_id: str,
    user: Operator,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    cursor: Cursor = None,
    redemptions_at: Annotated[str | None, list_cursor("redemptions")] = None,
    orders_at: Annotated[str | None, list_cursor("orders")] = None,
    coupons_at: Annotated[str | None, list_cursor("coupons")] = None,
    adjustments_at: Annotated[str | None, list_cursor("adjustments")] = None,
) -> Response:
    """Everything about one member an operator needs, and the forms to act on it.

    `cursor` pages the ledger; `redemptions`, `orders`, `coupons` and `adjustments` page
    those lists (a cursor that cannot be read shows every list from its first page).
    """
    _ = gettext(request)
    number = int(member_id) if NUMBER.fullmatch(member_id) else 0  # 0: no such member
    cursors = {
        "redemptions": redemptions_at,
        "orders": orders_at,
        "coupons": coupons_at,
        "adjustments": adjustments_at,
    }
    try:
        context = _member_context(
            request, uow, program, vault, member_id=number, cursor=cursor, cursors=cursors
        )
    except NotFound:
        text = _("There is no member {number}.").format(number=member_id[:64])
        context = {"q": member_id[:64], "found": [], "queue": [], "names": names(request, program)}
        messages = [{"kind": "error", "text": text}]
        return page(
            request, "console/members.html", user, context, messages=messages, status_code=404
        )
    except JifenError as error:  # a cursor from elsewhere: the first page instead
        context = _member_context(
            request, uow, program, vault, member_id=number, cursor=None, cursors={}
        )
        messages = [{"kind": "error", "text": error_text(request, error)}]
        return page(request, "console/member.html", user, context, messages=messages)
    return page(request, "console/member.html", user, {**context, "viewer": actor(user)})


def _member_context(
    request: Request,
    uow: SqlUnitOfWork,
    program: Program,
    vault: IdentityVault,
    *,
    member_id: int,
    cursor: str | None,
    cursors: dict[str, str | None],
) -> dict[str, Any]:
    _ = gettext(request)
    moment = now(request)
    summary = member_view.member_summary(uow, program=program, member_id=member_id, now=moment)
    day = summary.today
    lines, next_cursor = member_view.statement(
        uow, member_id=member_id, cursor=cursor, limit=LEDGER_PAGE
    )
    _member, tiers = member_view.tier_history(uow, member_id=member_id)
    lots = console_view.member_lots(uow, member_id=member_id)
    spendable = [k.code for k in program.point_kinds if k.spendable]
    return {
        "today": day,
        "summary": summary,
        "member": summary.member,
        "identity": console_view.masked_identity(vault, summary.member),
        "tier_code": summary.member.tier.code if summary.member.tier else program.tiers.join_tier,
        "next_threshold": _threshold(program, summary),
        "lines": lines,
        "next_cursor": next_cursor,
        "tiers": list(reversed(tiers)),
        "beneficiaries": list_beneficiaries(
            uow,
            program=program,
            vault=vault,
            member_id=member_id,
            now=moment,
            include_removed=True,
        ),
        "lots": _lots([lot for lot in lots if lot.kind in spendable], day),
        "entitlements": member_entitlements(uow, program=program, member_id=member_id, now=moment),
        "benefit_names": _benefit_names(request, program),
        "entitlement_states": {
            "active": _("usable"),
            "used_up": _("used up"),
            "expired": _("expired"),
            "lapsed": _("lapsed"),
        },
        "lists": {
            name: read(uow, member_id=member_id, cursor=cursors.get(name), limit=LIST_PAGE)
            for name, read in LISTS.items()
        },
        "list_cursors": cursors,
        "names": names(request, program),
        "program": program,
        "adjustment_kinds": adjustments.KINDS,
        "spendable_kinds": spendable,
        "default_kind": adjustments.default_point_kind(program),
        "threshold": program.risk.adjustment_approval_threshold,
        "form_id": f"console-{uuid.uuid4().hex}",
        "cursor": cursor,
    }


def _benefit_names(request: Request, program: Program) -> dict[str, str]:
    english = request_locale(request) == "en"
    return {b.code: b.name.en if english else b.name.zh for b in program.entitlements}


def _threshold(program: Program, summary: member_view.MemberSummary) -> int | None:
    if summary.progress is None:
        return None
    levels = {level.code: level.threshold for level in program.tiers.levels}
    return levels.get(summary.progress.next_code)


def _lots(lots: list[Lot], day: date) -> list[dict[str, Any]]:
    """Open lots first (soonest expiry first), then the spent and expired ones, newest first."""
    shown: list[dict[str, Any]] = []
    for lot in lots:
        if lot.spendable_on(day):
            state = "open"
        elif lot.expires_on is not None and lot.expires_on <= day:
            state = "expired"
        else:
            state = "used"
        shown.append({"lot": lot, "state": state})
    open_lots = sorted(
        (s for s in shown if s["state"] == "open"),
        key=lambda s: (s["lot"].expires_on is None, s["lot"].expires_on, s["lot"].id),
    )
    closed = sorted(
        (s for s in shown if s["state"] != "open"), key=lambda s: s["lot"].id, reverse=True
    )
    return open_lots + closed[:50]
