"""The campaigns pages: the list with budgets, a form to create one, pause/resume/stop, the report.

Every form goes through `services.campaigns` as the API does, with `console:USERNAME` as the
actor; a new campaign's id is shown in the form (made when it was shown), so sending the form
twice creates it once.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from jifen.api.deps import ProgramDep, UowDep
from jifen.api.schemas.campaigns import CampaignIn
from jifen.domain.errors import JifenError
from jifen.programs.schema import Program
from jifen.services import campaigns
from jifen.services.event_schema import PRINTABLE
from jifen.web.console import charts
from jifen.web.console.common import (
    Anyone,
    Operator,
    actor,
    back,
    error_text,
    flash,
    gettext,
    names,
    now,
    page,
    paged,
)
from jifen.web.console.labels import CAMPAIGN_STATUS
from jifen.web.console.program import describe_campaign as described
from jifen.web.security import check_csrf

router = APIRouter(prefix="/console")
writes = APIRouter(prefix="/console", dependencies=[Depends(check_csrf)])
CampaignPath = Annotated[str, Path(min_length=1, max_length=64, pattern=PRINTABLE)]
Field = Annotated[str, Form(max_length=2000)]
LIST = re.compile(r"[\s,，、]+")


@router.get("/campaigns")
def campaigns_page(request: Request, user: Anyone, uow: UowDep, program: ProgramDep) -> Response:
    """Every campaign with its status and budget used, a page at a time, and the create form."""
    _ = gettext(request)
    shown = names(request, program)
    listed = paged(request, campaigns.list_campaigns(uow))
    context = {
        "listing": listed,
        "campaigns": [described(_, c, shown) for c in listed.items],
        "form_id": f"campaign-{uuid.uuid4().hex[:12]}",
        "tiers": [(t.code, shown.tier(t.code)) for t in program.tiers.levels],
        "kinds": [(k.code, shown.kind(k.code)) for k in program.point_kinds if k.spendable],
    }
    return page(request, "console/campaigns.html", user, context)


def _words(text: str) -> list[str] | None:
    found = [w for w in LIST.split(text.strip()) if w]
    return found or None


def _moment(text: str, program: Program) -> str:
    """A `datetime-local` field's value, on the program's clock, as ISO text with its offset."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(program.timezone)).isoformat()


def _body(form: dict[str, Any], program: Program) -> CampaignIn:
    """The API's body for what the create form says; `ValueError` when it cannot be read.

    The API's schema checks it, so a campaign made here meets the same rules as one sent there.
    """
    members = _words(form["member_ids"])
    target = {
        "tiers": form["tiers"] or None,
        "segments": _words(form["segments"]),
        "member_ids": None if members is None else [int(m) for m in members],
        "trains": _words(form["trains"]),
    }
    return CampaignIn.model_validate(
        {
            "id": form["campaign_id"].strip(),
            "name": form["name"].strip(),
            "starts_at": _moment(form["starts_at"], program),
            "ends_at": _moment(form["ends_at"], program),
            "budget_points": int(form["budget_points"].replace(",", "")),
            "effect": {"kind": form["kind"], form["bonus"]: int(form["amount"])},
            "target": {k: v for k, v in target.items() if v is not None},
            "control_percent": int(form["control_percent"]),
        }
    )


_FIELDS = (
    "campaign_id",
    "name",
    "starts_at",
    "ends_at",
    "budget_points",
    "kind",
    "bonus",
    "amount",
    "control_percent",
    "segments",
    "member_ids",
    "trains",
)


@writes.post("/campaigns")
async def create(request: Request, user: Operator, uow: UowDep, program: ProgramDep) -> Response:
    """Create the campaign the form describes, then show its report page."""
    _ = gettext(request)
    sent = await request.form()
    form: dict[str, Any] = {k: str(sent.get(k, "")) for k in _FIELDS}
    form["tiers"] = [str(t) for t in sent.getlist("tiers")]
    try:
        draft = _body(form, program).draft()
    except ValueError:  # pydantic's ValidationError is one
        flash(
            request,
            "error",
            _(
                "Check the form: an id of letters, digits, . _ : or -, both dates, "
                "and whole numbers for budget and bonus."
            ),
        )
        return back("/console/campaigns")
    try:
        stored, _created = await run_in_threadpool(
            campaigns.create_campaign,
            uow,
            program=program,
            draft=draft,
            actor=actor(user),
            now=now(request),
        )
    except JifenError as error:
        flash(request, "error", _campaign_error(request, error))
        return back("/console/campaigns")
    flash(request, "ok", _("Campaign {name} created.").format(name=stored.name))
    return back(f"/console/campaigns/{stored.id}")


def _campaign_error(request: Request, error: JifenError) -> str:
    _ = gettext(request)
    if error.code == "invalid_campaign":
        problems = "; ".join(error.details.get("problems", []))
        return _("The campaign cannot be created: {problems}.").format(problems=problems)
    return error_text(request, error)


_CHANGES = {
    "pause": (campaigns.pause_campaign, "paused"),
    "resume": (campaigns.resume_campaign, "active"),
    "stop": (campaigns.stop_campaign, "stopped"),
}


@writes.post("/campaigns/{campaign_id}/{change}")
def change_status(
    request: Request,
    campaign_id: CampaignPath,
    change: Annotated[str, Path(pattern="^(pause|resume|stop)$")],
    user: Operator,
    uow: UowDep,
) -> Response:
    """Pause, resume or stop the campaign; the page says what it is now."""
    _ = gettext(request)
    use_case, wanted = _CHANGES[change]
    try:
        changed = use_case(uow, campaign_id=campaign_id, actor=actor(user), now=now(request))
    except JifenError as error:
        flash(request, "error", error_text(request, error))
        return back("/console/campaigns")
    status = _(CAMPAIGN_STATUS[changed.status])
    if changed.status == wanted:
        flash(request, "ok", _("The campaign is now {status}.").format(status=status))
    else:
        flash(
            request, "warn", _("Nothing changed: the campaign is {status}.").format(status=status)
        )
    return back(f"/console/campaigns/{campaign_id}")


@router.get("/campaigns/{campaign_id}")
def report_page(
    request: Request, campaign_id: CampaignPath, user: Anyone, uow: UowDep, program: ProgramDep
) -> Response:
    """One campaign: what it is, its budget, and its cost and uplift against the control group."""
    _ = gettext(request)
    report = campaigns.campaign_report(uow, program=program, campaign_id=campaign_id)
    context = {
        "c": described(_, report.campaign, names(request, program)),
        "report": report,
        "charts": {
            "trips": charts.campaign_uplift(_, [report], "trips", 1, _("Trips per member")),
            "spend": charts.campaign_uplift(
                _, [report], "spend_fen", 100, _("Spend per member (yuan)")
            ),
        },
    }
    return page(request, "console/campaign.html", user, context)
