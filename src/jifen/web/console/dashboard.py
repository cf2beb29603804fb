"""The dashboard: members, points and liability over a date range, as figures and charts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.programs.schema import Program
from jifen.services import analytics
from jifen.storage.uow import SqlUnitOfWork
from jifen.web.console import charts
from jifen.web.console.common import Anyone, DateRange, Names, date_range, gettext, names, page
from jifen.web.console.common import today as program_today

router = APIRouter(prefix="/console")


@router.get("")
def dashboard(request: Request, user: Anyone, uow: UowDep, program: ProgramDep) -> Response:
    """KPIs of the range (`?from=&to=`, the last 30 days by default) and their charts."""
    span = date_range(request, last_day=program_today(request, program))
    shown = names(request, program)
    kpis = analytics.kpis(uow, program=program, start=span.start, end=span.end)
    context = {
        "span": span,
        "kpis": kpis,
        "charts": _charts(request, uow, program, span, shown),
        "movement": _movement(uow, program, span, shown),
    }
    messages = [{"kind": "error", "text": text} for text in span.problems]
    return page(request, "console/dashboard.html", user, context, messages=messages)


def _charts(
    request: Request, uow: SqlUnitOfWork, program: Program, span: DateRange, shown: Names
) -> dict[str, Any]:
    _ = gettext(request)
    series = analytics.daily_series(uow, program=program, start=span.start, end=span.end)
    days = [d.day.isoformat() for d in series]
    mix = analytics.tier_mix(uow, program=program, on=span.end)
    return {
        "points": charts.line_chart(
            days=days,
            series=[
                (_("Issued"), [d.issued for d in series]),
                (_("Redeemed"), [d.redeemed for d in series]),
                (_("Expired"), [d.expired for d in series]),
            ],
            x_name=_("Day"),
            y_name=_("Points"),
        ),
        "members": charts.bar_chart(
            days=days,
            series=[
                (_("New members"), [d.new_members for d in series]),
                (_("Active members"), [d.active_members for d in series]),
            ],
            x_name=_("Day"),
            y_name=_("Members"),
        ),
        # Empty tiers would only pile their "0%" labels on top of each other; the movement
        # table below lists every tier.
        "tiers": charts.pie_chart(
            name=_("Tier mix"), slices=[(shown.tier(t.code), t.members) for t in mix if t.members]
        ),
    }


def _movement(
    uow: SqlUnitOfWork, program: Program, span: DateRange, shown: Names
) -> dict[str, Any]:
    """The movement matrix as rows (`None` for members who joined) × the tiers at the end."""
    moved = analytics.tier_movement(uow, program=program, start=span.start, end=span.end)
    cells = {(m.from_code, m.to_code): m.members for m in moved.moves}
    froms: list[str | None] = [None, *moved.tiers]
    rows = [
        {
            "code": origin,
            "name": shown.tier(origin) if origin else None,
            "cells": [cells.get((origin, to), 0) for to in moved.tiers],
        }
        for origin in froms
    ]
    return {
        "tiers": [shown.tier(code) for code in moved.tiers],
        "rows": rows,
        "upgraded": moved.upgraded,
        "downgraded": moved.downgraded,
        "kept": moved.kept,
        "joined": moved.joined,
    }
