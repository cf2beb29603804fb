"""The program page: point kinds, tiers, earning rules and policies written out, and campaigns."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.programs.schema import Program
from jifen.services.campaigns import list_campaigns
from jifen.storage.campaign_repository import StoredCampaign
from jifen.web.console import program_text
from jifen.web.console.common import Gettext, Names, Operator, gettext, names, page
from jifen.web.templating import request_locale

router = APIRouter(prefix="/console")


@router.get("/program")
def program_page(request: Request, user: Operator, uow: UowDep, program: ProgramDep) -> Response:
    """The active program as an operator reads it."""
    _ = gettext(request)
    shown = names(request, program)
    english = request_locale(request) == "en"
    context = {
        "program": program,
        "program_name": program.name.en if english else program.name.zh,
        "names": shown,
        "kinds": [
            {"kind": k, "expiry": program_text.expiry(_, k.expiry)} for k in program.point_kinds
        ],
        "tiers": [
            {
                "level": t,
                "name": shown.tier(t.code),
                "benefits": program_text.benefits(_, t.benefits),
            }
            for t in program.tiers.levels
        ],
        "rules": _rules(_, program, shown),
        "campaigns": [describe_campaign(_, c, shown) for c in list_campaigns(uow)],
        "charities": [c.name.en if english else c.name.zh for c in program.charities],
    }
    return page(request, "console/program.html", user, context)


def _rules(_: Gettext, program: Program, shown: Names) -> list[dict[str, Any]]:
    activity_rules = [a.as_rule(code) for code, a in program.activities.items()]
    rules = sorted(
        [*program.earning_rules, *activity_rules], key=lambda r: (r.on, -r.priority, r.code)
    )
    return [
        {
            "rule": r,
            "name": shown.rule(r.code),
            "effect": program_text.effect(_, r, shown),
            "conditions": program_text.conditions(_, r, shown),
            "caps": program_text.caps(_, r),
        }
        for r in rules
    ]


def describe_campaign(_: Gettext, campaign: StoredCampaign, shown: Names) -> dict[str, Any]:
    """A campaign with its bonus and whom it is for, written out in the reader's language."""
    effect, target = campaign.effect, campaign.target
    kind = shown.kind(effect.get("kind"))
    if effect.get("percent") is not None:
        bonus = _("+{percent}% {kind}").format(percent=effect["percent"], kind=kind)
    else:
        bonus = _("+{points} {kind} per trip").format(points=effect.get("points"), kind=kind)
    who = []
    if target.get("tiers"):
        who.append(", ".join(shown.tier(t) for t in target["tiers"]))
    if target.get("trains"):
        who.append(_("trains {prefixes}").format(prefixes=", ".join(target["trains"])))
    if target.get("weekdays"):
        days = ", ".join(str(d) for d in target["weekdays"])
        who.append(_("on weekdays {days} (1 = Monday)").format(days=days))
    if target.get("hours"):
        hours = target["hours"]
        who.append(_("from {start}:00 to {end}:00").format(start=hours["from"], end=hours["to"]))
    if target.get("member_ids"):
        who.append(_("{n} chosen members").format(n=len(target["member_ids"])))
    return {"campaign": campaign, "bonus": bonus, "target": who or [_("every trip")]}
