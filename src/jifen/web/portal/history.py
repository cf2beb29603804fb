"""The member's points history: the ledger, newest first, a page at a time, with the rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.domain.calendar import local_datetime
from jifen.domain.errors import InvalidRequest
from jifen.services.views import member as member_view
from jifen.storage.statement_repository import StatementLine
from jifen.web.labels import N_
from jifen.web.portal.context import gettext, page, words
from jifen.web.session import PortalMemberDep

router = APIRouter(prefix="/portal")
PAGE_SIZE = 20
WHAT = {
    "credit": N_("Earned"),
    "pending": N_("Promised, awaiting travel"),
    "confirm": N_("Confirmed after travel"),
    "void": N_("Voided"),
    "spend": N_("Spent"),
    "reversal": N_("Reversed"),
    "expiry": N_("Expired"),
    "transfer": N_("Transferred"),
}
RELEASED = N_("Hold released")
REASONS = {  # why points were voided or given back; an operator's own words are not shown
    "not_travelled": N_("Not travelled: no claim can confirm the ticket any more"),
    "departure_passed": N_("The train had left"),
    "force_majeure": N_("Force majeure"),
    "railway_fault": N_("Railway fault"),
}


def _what(line: StatementLine) -> str | None:
    """The message id for what a line is; a hold given back reads as released, not reversed."""
    return RELEASED if line.memo.get("step") == "release" else WHAT.get(line.type)


@router.get("/history")
def history(
    request: Request,
    member_id: PortalMemberDep,
    uow: UowDep,
    program: ProgramDep,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """One page of the ledger; `cursor` continues from the previous page."""
    try:
        lines, next_cursor = member_view.statement(
            uow, member_id=member_id, cursor=cursor, limit=PAGE_SIZE
        )
    except InvalidRequest:  # a stale or edited cursor: start from the newest
        lines, next_cursor = member_view.statement(
            uow, member_id=member_id, cursor=None, limit=PAGE_SIZE
        )
        cursor = None
    _ = gettext(request)
    rows = [
        {
            "at": local_datetime(line.at, program.timezone),
            "kind": line.kind,
            "points": line.points,
            "what": _(what) if (what := _what(line)) else line.type,
            "rules": [r.get("rule", "") for r in line.memo.get("rules", [])],
            "reason": _(reason) if (reason := REASONS.get(line.memo.get("reason", ""))) else None,
        }
        for line in lines
        # A confirmation also takes the points off the pending account: the member sees one line.
        if not (line.type == "confirm" and line.account.endswith(":pending"))
    ]
    context = {"rows": rows, "next_cursor": next_cursor, "first_page": cursor is None}
    return page(request, member_id, "portal/history.html", {**context, **words(request, program)})
