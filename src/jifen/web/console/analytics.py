"""Analytics: cohort retention, the RFM grid and campaign uplift, as charts beside their tables."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.programs.schema import Program
from jifen.services import analytics, campaigns
from jifen.storage.uow import SqlUnitOfWork
from jifen.web.console import charts
from jifen.web.console.common import Anyone, DateRange, Gettext, date_range, gettext, page
from jifen.web.console.common import today as program_today
from jifen.web.console.labels import CAMPAIGN_STATUS

router = APIRouter(prefix="/console")
DAYS = 365  # cohorts are months: a year of them by default
CAMPAIGNS = 12  # the latest campaigns compared
SCORES = (1, 2, 3, 4, 5)
Exported = Literal["cohorts", "rfm"]


def _span(request: Request, program: Program) -> tuple[DateRange, list[dict[str, str]]]:
    """`?from=&to=`, the last 12 months by default (a range that cannot be used says so)."""
    _ = gettext(request)
    span = date_range(request, last_day=program_today(request, program), days=DAYS)
    if not span.problems:  # else the span is the default, but the problems speak of 30 days
        return span, []
    text = _(
        "That range cannot be used (dates as YYYY-MM-DD, the start not after the end, at most "
        "ten years); showing the last 12 months."
    )
    return DateRange(span.start, span.end), [{"kind": "error", "text": text}]


@router.get("/analytics")
def analytics_page(request: Request, user: Anyone, uow: UowDep, program: ProgramDep) -> Response:
    """Cohort retention and the RFM grid of `?from=&to=`, and the latest campaigns' uplift."""
    span, messages = _span(request, program)
    _ = gettext(request)
    context = {
        "span": span,
        "cohorts": _cohorts(_, uow, program, span),
        "rfm": _rfm(_, uow, program, span),
        "campaigns": _campaigns(_, uow, program),
    }
    return page(request, "console/analytics.html", user, context, messages=messages)


@router.get("/analytics/{name}.csv")
def export(
    request: Request,
    name: Annotated[Exported, Path()],
    user: Anyone,
    uow: UowDep,
    program: ProgramDep,
) -> Response:
    """The report behind a chart as CSV, for the page's range (as `/v1/reports/{name}/export`)."""
    del user  # the role check is all it is needed for
    span, _messages = _span(request, program)
    table = analytics.report_table(uow, program=program, name=name, start=span.start, end=span.end)
    text = io.StringIO()
    analytics.write_report(table, fmt="csv", text=text, binary=io.BytesIO())
    filename = f"{name}_{span.start}_{span.end}.csv"
    return Response(
        text.getvalue().encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _cohorts(_: Gettext, uow: SqlUnitOfWork, program: Program, span: DateRange) -> dict[str, Any]:
    found = analytics.cohorts(uow, program=program, start=span.start, end=span.end)
    months = max((len(c.active) for c in found), default=0)
    cells = [
        (k, row, round(share * 100, 1), round(share * 100, 1))
        for row, c in enumerate(found)
        for k, share in enumerate(c.retention)
    ]
    option = charts.heatmap_chart(
        xs=[str(k) for k in range(months)],
        ys=[c.month for c in found],
        cells=cells,
        x_name=_("Months since joining"),
        y_name=_("Joined in"),
        label="{@[3]}%",
        colour_max=100,
    )
    return {"rows": found, "months": range(months), "chart": option}


def _rfm(_: Gettext, uow: SqlUnitOfWork, program: Program, span: DateRange) -> dict[str, Any]:
    cells = analytics.rfm_grid(uow, program=program, start=span.start, end=span.end)
    segments = analytics.rfm(uow, program=program, start=span.start, end=span.end)
    option = charts.heatmap_chart(
        xs=[str(score) for score in SCORES],
        ys=[str(score) for score in reversed(SCORES)],
        cells=[(c.r - 1, 5 - c.f, round(c.points), c.members) for c in cells],
        x_name=_("Recency score (5: earned most recently)"),
        y_name=_("Frequency score"),
        label="{@[3]}",
        colour_max=max((c.points for c in cells), default=0),
    )
    segment_names = {
        "champions": _("Champions"),
        "at_risk": _("At risk"),
        "loyal": _("Loyal"),
        "new": _("New"),
        "needs_attention": _("Needs attention"),
        "hibernating": _("Hibernating"),
        "inactive": _("Inactive"),
    }
    grid = {(c.r, c.f): c for c in cells}
    return {
        "grid": grid,
        "scores": SCORES,
        "segments": segments,
        "segment_names": segment_names,
        "chart": option,
    }


def _campaigns(_: Gettext, uow: SqlUnitOfWork, program: Program) -> dict[str, Any]:
    latest = campaigns.list_campaigns(uow)[:CAMPAIGNS]
    reports = [campaigns.campaign_report(uow, program=program, campaign_id=c.id) for c in latest]
    return {
        "reports": reports,
        "statuses": {code: _(label) for code, label in CAMPAIGN_STATUS.items()},
        "trips": charts.campaign_uplift(_, reports, "trips", 1, _("Trips per member")),
        "spend": charts.campaign_uplift(_, reports, "spend_fen", 100, _("Spend per member (yuan)")),
    }
