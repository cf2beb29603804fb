"""The rules page: an admin proposes a program as YAML; its diff, what-if; another activates it.

Every form goes through `services.program_drafts`, as the API does, with `console:USERNAME` as the
actor; the proposing form carries an id made when it was shown, so sending it twice proposes once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.domain.errors import JifenError
from jifen.programs.loader import ProgramInvalid
from jifen.programs.schema import Program
from jifen.services import program_drafts as drafts
from jifen.services.event_schema import PRINTABLE
from jifen.services.whatif import WhatIf
from jifen.storage.console_user_repository import ConsoleUser
from jifen.web.console import charts
from jifen.web.console.common import (
    Admin,
    Gettext,
    actor,
    back,
    error_text,
    flash,
    gettext,
    names,
    now,
    page,
    today,
)
from jifen.web.labels import N_
from jifen.web.security import check_csrf

router = APIRouter(prefix="/console/rules")
Checked = [Depends(check_csrf)]
DraftPath = Annotated[str, Path(min_length=1, max_length=200, pattern=PRINTABLE)]
FormId = Annotated[str, Form(min_length=1, max_length=200, pattern=PRINTABLE)]
DraftQuery = Annotated[str | None, Query(min_length=1, max_length=200, pattern=PRINTABLE)]
Day = Annotated[str, Form(max_length=20)]
STATUS_WORDS = (N_("proposed"), N_("activated"), N_("rejected"), N_("withdrawn"))
AUDIT_ACTIONS = (  # as the audit log page shows them
    N_("program_draft.proposed"),
    N_("program_draft.previewed"),
    N_("program_draft.activated"),
    N_("program_draft.rejected"),
    N_("program_draft.withdrawn"),
)


@router.get("")
def rules_page(
    request: Request, user: Admin, uow: UowDep, program: ProgramDep, draft: DraftQuery = None
) -> Response:
    """The editor (the active program as YAML), the recent drafts, and the draft asked for."""
    return _page(request, user, uow, program, draft_id=draft)


@router.post("/drafts", dependencies=Checked)
def propose(
    request: Request,
    *,
    user: Admin,
    uow: UowDep,
    program: ProgramDep,
    form_id: FormId,
    yaml: Annotated[str, Form(max_length=200_000)],
) -> Response:
    """Propose the editor's text as a draft; its problems are shown next to the editor."""
    _ = gettext(request)
    try:
        drafts.propose_draft(
            uow, draft_id=form_id, yaml_text=yaml, actor=actor(user), now=now(request)
        )
    except ProgramInvalid as error:
        problems = [_problem(_, p) for p in error.details["errors"]]
        return _page(request, user, uow, program, text=yaml, problems=problems, status_code=422)
    except JifenError as error:
        flash(request, "error", _refusal(request, error))
        return back("/console/rules")
    flash(request, "ok", _("Draft proposed: another admin must activate it."))
    return back(_at(form_id))


@router.post("/drafts/{draft_id}/what-if", dependencies=Checked)
def preview(
    request: Request,
    *,
    draft_id: DraftPath,
    user: Admin,
    uow: UowDep,
    program: ProgramDep,
    start: Day = "",
    end: Day = "",
) -> Response:
    """Re-price the chosen past period under the draft and the active rules; shown on the page."""
    _ = gettext(request)
    try:
        first, last = drafts.preview_period(today(request, program), _day(start), _day(end))
        report = drafts.preview_draft(
            uow, draft_id=draft_id, start=first, end=last, actor=actor(user), now=now(request)
        )
    except (JifenError, ValueError) as error:
        text = (
            _refusal(request, error)
            if isinstance(error, JifenError)
            else _("Dates are written as YYYY-MM-DD, e.g. 2025-11-30.")
        )
        return _page(request, user, uow, program, draft_id=draft_id, messages=[_error(text)])
    shown = _preview(_, report, names(request, program).kind)
    return _page(request, user, uow, program, draft_id=draft_id, preview=shown)


@router.post("/drafts/{draft_id}/activate", dependencies=Checked)
@router.post("/drafts/{draft_id}/reject", dependencies=Checked)
def decide(request: Request, *, draft_id: DraftPath, user: Admin, uow: UowDep) -> Response:
    """Activate the draft (a second admin), or reject or withdraw it."""
    _ = gettext(request)
    activate = request.url.path.endswith("/activate")
    decide_draft = drafts.activate_draft if activate else drafts.reject_draft
    try:
        done = decide_draft(uow, draft_id=draft_id, actor=actor(user), now=now(request))
    except JifenError as error:
        flash(request, "error", _refusal(request, error))
        return back(_at(draft_id))
    if activate:
        request.app.state.jifen.programs.forget()
        text = _("The draft is now the active program, version {version}.")
        flash(request, "ok", text.format(version=done.version))
    else:
        flash(
            request,
            "ok",
            _("The draft was withdrawn.")
            if done.status == "withdrawn"
            else _("The draft was rejected."),
        )
    return back(_at(draft_id))


def _page(
    request: Request,
    user: ConsoleUser,
    uow: UowDep,
    program: Program,
    *,
    draft_id: str | None = None,
    text: str | None = None,
    problems: list[dict[str, str]] | None = None,
    preview: dict[str, Any] | None = None,
    messages: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    _ = gettext(request)
    shown = None
    messages = list(messages or [])
    if draft_id:
        try:
            shown = _draft(drafts.view_draft(uow, draft_id=draft_id), user)
        except JifenError as error:
            messages.append(_error(_refusal(request, error)))
    start, end = drafts.preview_period(today(request, program), None, None)
    context = {
        "editor": drafts.active_yaml(uow) if text is None else text,
        "problems": problems or [],
        "drafts": drafts.list_drafts(uow, limit=20),
        "shown": shown,
        "preview": preview,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "form_id": f"console-{uuid.uuid4().hex}",
        "me": actor(user),
    }
    return page(
        request, "console/rules.html", user, context, messages=messages, status_code=status_code
    )


def _draft(view: drafts.DraftView, user: ConsoleUser) -> dict[str, Any]:
    """A draft as the page shows it: its diff as lines of a kind, and what the reader may do."""
    lines = []
    for line in (view.diff or "").splitlines():
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
        if line.startswith(("+++", "---")):
            kind = "file"
        lines.append({"kind": kind, "text": line})
    open_ = view.draft.status == "proposed"
    mine = view.draft.proposed_by == actor(user)
    return {
        "view": view,
        "diff": lines,
        "open": open_,
        "mine": mine,
        "unseen": open_ and view.draft.previewed_at is None,
        "can_activate": open_ and not mine and not view.stale and view.draft.previewed_at,
    }


def _preview(_: Gettext, report: WhatIf, kind_name: Callable[[str], str]) -> dict[str, Any]:
    """The preview's points per kind (live, draft, change) as a table and a bar chart."""
    kinds = sorted(set(report.live) | set(report.draft))
    rows = [
        {
            "kind": kind_name(k),
            "live": report.live[k],
            "draft": report.draft[k],
            "change": report.draft[k] - report.live[k],
        }
        for k in kinds
    ]
    chart = charts.bar_chart(
        days=[kind_name(k) for k in kinds],
        series=[
            (_("Active rules"), [report.live[k] for k in kinds]),
            (_("Draft"), [report.draft[k] for k in kinds]),
        ],
        x_name=_("Point kind"),
        y_name=_("Points"),
    )
    return {
        "report": report,
        "rows": rows,
        "cost_change": report.draft_cost_fen - report.live_cost_fen,
        "chart": chart,
    }


def _problem(_: Gettext, problem: dict[str, str]) -> dict[str, str]:
    """A loader problem in the reader's language where it is one of the common ones."""
    text = problem["problem"]
    known = {
        "is required": _("is required"),
        "is not a known setting (check the spelling)": _(
            "is not a known setting (check the spelling)"
        ),
    }
    if text.startswith("must stay "):
        text = _("must stay the active program's code: a draft changes it, not another program")
    elif problem["field"].startswith("line "):
        text = _("is not valid YAML: {problem}").format(problem=text)
    return {"field": problem["field"], "problem": known.get(text, text)}


def _refusal(request: Request, error: JifenError) -> str:
    _ = gettext(request)
    texts = {
        "draft_same_admin": _("You proposed this draft; another admin must activate it."),
        "draft_stale": _(
            "The active program changed since this draft was proposed; propose a new draft."
        ),
        "draft_decided": _("This draft was already decided."),
        "idempotency_conflict": _("This form was already sent with another text; reload the page."),
        "invalid_request": _(
            "Choose a period of at most a year whose end is not before its start."
        ),
    }
    return texts.get(error.code) or error_text(request, error)


def _at(draft_id: str) -> str:
    """The page showing a draft."""
    return f"/console/rules?draft={quote(draft_id, safe='')}"


def _error(text: str) -> dict[str, str]:
    return {"kind": "error", "text": text}


def _day(text: str) -> date | None:
    """A day from a date field; `ValueError` when it cannot be read."""
    return date.fromisoformat(text) if text.strip() else None
