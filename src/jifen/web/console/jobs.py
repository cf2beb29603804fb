"""The daily job: what ran for each day, and a button (admins only) to run it for a date."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.domain.errors import JifenError
from jifen.services.daily import run_daily
from jifen.services.views import console as console_view
from jifen.storage.console_repository import JobRun
from jifen.web.console.common import Operator, back, error_text, flash, gettext, page, role, today
from jifen.web.security import check_csrf

router = APIRouter(prefix="/console")


@router.get("/jobs")
def jobs_page(request: Request, user: Operator, uow: UowDep, program: ProgramDep) -> Response:
    """The steps the daily job finished for the latest days, with their figures."""
    runs = console_view.job_runs(uow, days=14)
    days: dict[date, list[JobRun]] = {}
    for run in runs:
        days.setdefault(run.as_of, []).append(run)
    context = {"days": days, "default_day": today(request, program) - timedelta(days=1)}
    return page(request, "console/jobs.html", user, context)


@router.post("/jobs/daily", dependencies=[Depends(role()), Depends(check_csrf)])
def run_daily_job(
    request: Request,
    uow: UowDep,
    program: ProgramDep,
    as_of: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Run the daily job for `as_of` (steps done before are skipped, so running twice is safe)."""
    _ = gettext(request)
    try:
        day = date.fromisoformat(as_of.strip())
    except ValueError:
        flash(request, "error", _("Dates are written as YYYY-MM-DD, e.g. 2025-11-30."))
        return back("/console/jobs")
    if day > today(request, program):
        flash(
            request,
            "error",
            _("The job runs for days that have begun, not for {day}.").format(day=day.isoformat()),
        )
        return back("/console/jobs")
    try:
        report = run_daily(uow, program=program, as_of=day)
    except JifenError as error:
        flash(request, "error", error_text(request, error))
        return back("/console/jobs")
    ran = [s for s in report.steps if s not in report.skipped]
    text = _("The daily job ran for {day}: {ran} step(s) ran, {skipped} had run before.")
    flash(
        request, "ok", text.format(day=day.isoformat(), ran=len(ran), skipped=len(report.skipped))
    )
    return back("/console/jobs")
