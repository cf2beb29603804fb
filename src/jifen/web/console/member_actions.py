"""Acting on a member from the console: adjust points, approve or reject, freeze and unfreeze.

Every form goes through the same services as the API, with `console:USERNAME` as the actor;
each form carries an id made when it was shown, so sending it twice applies it once.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.domain.adjustments import AdjustmentState
from jifen.domain.errors import JifenError
from jifen.services import adjustments, member_status
from jifen.services.event_schema import PRINTABLE
from jifen.storage.console_user_repository import ConsoleUser
from jifen.storage.uow import SqlUnitOfWork
from jifen.web.console.common import Operator, actor, back, error_text, flash, gettext
from jifen.web.console.labels import MEMBER_STATUS
from jifen.web.security import check_csrf

router = APIRouter(prefix="/console", dependencies=[Depends(check_csrf)])
MemberPath = Annotated[int, Path(ge=1, le=10**12)]
AdjustmentPath = Annotated[str, Path(min_length=1, max_length=200, pattern=PRINTABLE)]
Text = Annotated[str, Form(max_length=500)]
FormId = Annotated[str, Form(min_length=1, max_length=200, pattern=PRINTABLE)]


def _points(text: str) -> int | None:
    try:
        return int(text.replace(",", "").strip())
    except ValueError:
        return None


@router.post("/members/{member_id}/adjustments")
def adjust(
    request: Request,
    *,
    member_id: MemberPath,
    user: Operator,
    uow: UowDep,
    program: ProgramDep,
    form_id: FormId,
    kind: Annotated[str, Form(max_length=24)],
    points: Annotated[str, Form(max_length=20)],
    reason: Text = "",
    point_kind: Annotated[str, Form(max_length=24)] = "",
) -> Response:
    """Adjust the member's points, or hold a large adjustment for a second person's approval."""
    _ = gettext(request)
    location = f"/console/members/{member_id}"
    amount = _points(points)
    if amount is None:
        flash(request, "error", _("Points must be a whole number, e.g. 500 or -200."))
        return back(location)
    try:
        record = adjustments.request_adjustment(
            uow,
            program=program,
            adjustment_id=form_id,
            member_id=member_id,
            kind=kind,
            points=amount,
            reason=reason.strip(),
            point_kind=point_kind or None,
            actor=actor(user),
            now=request.app.state.jifen.clock.now(),
        )
    except JifenError as error:
        flash(request, "error", error_text(request, error))
        return back(location)
    if record.status == AdjustmentState.APPLIED:
        text = _("Adjusted by {points} points; the balance is now {balance}.").format(
            points=f"{record.points:+,}", balance=f"{record.balance_after:,}"
        )
        flash(request, "ok", text)
    else:
        text = _("The adjustment of {points} points waits for a second person's approval.")
        flash(request, "warn", text.format(points=f"{record.points:+,}"))
    return back(location)


def _return_to(request: Request) -> str:
    # Back to the console page the form was on; never anywhere else.
    referer = urlsplit(request.headers.get("referer", ""))
    path = referer.path
    return path if path.startswith("/console/members") else "/console/members"


@router.post("/adjustments/{adjustment_id}/approve")
@router.post("/adjustments/{adjustment_id}/reject")
def decide(
    request: Request,
    *,
    adjustment_id: AdjustmentPath,
    user: Operator,
    uow: UowDep,
    program: ProgramDep,
    form_id: FormId,
    note: Text = "",
) -> Response:
    """Approve a held adjustment and post it, or reject it (not by the person who asked for it)."""
    _ = gettext(request)
    approve = request.url.path.endswith("/approve")
    try:
        record = adjustments.decide_adjustment(
            uow,
            program=program,
            adjustment_id=adjustment_id,
            approve=approve,
            decision_id=form_id,
            note=note.strip() or None,
            actor=actor(user),
            now=request.app.state.jifen.clock.now(),
        )
    except JifenError as error:
        flash(request, "error", error_text(request, error))
        return back(_return_to(request))
    flash(
        request, "ok", _("Approved and posted.") if approve else _("Rejected; nothing was posted.")
    )
    return back(f"/console/members/{record.member_id}")


@router.post("/members/{member_id}/freeze")
def freeze(
    request: Request, member_id: MemberPath, user: Operator, uow: UowDep, reason: Text = ""
) -> Response:
    """Freeze the member (no earning or spending; the balance is kept); a reason is required."""
    _ = gettext(request)
    if not reason.strip():
        flash(request, "error", _("Say why the member is frozen."))
    else:
        _change(request, uow, user, member_id=member_id, reason=reason.strip(), freeze=True)
    return back(f"/console/members/{member_id}")


@router.post("/members/{member_id}/unfreeze")
def unfreeze(
    request: Request, member_id: MemberPath, user: Operator, uow: UowDep, reason: Text = ""
) -> Response:
    """Let a frozen member earn and spend again."""
    _change(request, uow, user, member_id=member_id, reason=reason.strip() or None, freeze=False)
    return back(f"/console/members/{member_id}")


def _change(
    request: Request,
    uow: SqlUnitOfWork,
    user: ConsoleUser,
    *,
    member_id: int,
    reason: str | None,
    freeze: bool,
) -> None:
    _ = gettext(request)
    now = request.app.state.jifen.clock.now()
    try:
        if freeze:
            change = member_status.freeze_member(
                uow, member_id=member_id, reason=reason or "", actor=actor(user), now=now
            )
        else:
            change = member_status.unfreeze_member(
                uow, member_id=member_id, reason=reason, actor=actor(user), now=now
            )
    except JifenError as error:
        flash(request, "error", error_text(request, error))
        return
    if not change.changed:
        flash(
            request,
            "warn",
            _("Nothing changed: the member already was {status}.").format(
                status=_(MEMBER_STATUS[change.status])
            ),
        )
    else:
        flash(
            request,
            "ok",
            _("The member is now {status}.").format(status=_(MEMBER_STATUS[change.status])),
        )
