"""What every console page shares: roles, the program's today, date ranges, flashes, errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from jifen.domain.calendar import local_date
from jifen.domain.errors import JifenError
from jifen.programs.schema import Program
from jifen.services.analytics.period import MAX_DAYS
from jifen.storage.console_user_repository import ConsoleUser
from jifen.web.console.labels import CAMPAIGN_STATUS, MEMBER_STATUS, PARTNER_STATUS
from jifen.web.session import ConsoleUserDep
from jifen.web.templating import gettext, render, request_locale

FLASH_KEY = "console_flash"
DEFAULT_DAYS = 30

Gettext = Callable[[str], str]


def role(*roles: str) -> Callable[..., ConsoleUser]:
    """Let through console users of these roles (and admin); others get a 403 page they can read.

    The sign-in check itself is `ConsoleUserDep`'s (a redirect to the sign-in page).
    """
    allowed = {"admin", *roles}

    def check(request: Request, user: ConsoleUserDep) -> ConsoleUser:
        if user.role not in allowed:
            _ = gettext(request)
            text = _("Your role ({role}) may not open this page or do this; ask an admin.")
            raise HTTPException(403, text.format(role=_(user.role)))
        return user

    return check


Anyone = Annotated[ConsoleUser, Depends(role("operator", "analyst"))]
Operator = Annotated[ConsoleUser, Depends(role("operator"))]
Admin = Annotated[ConsoleUser, Depends(role())]
Short = Annotated[str, Form(max_length=200)]  # a form's short text or number field


def whole_number(text: str) -> int | None:
    """A form's number as typed (`12,000` too); None when left empty, ValueError when not one."""
    text = text.replace(",", "").strip()
    return int(text) if text else None


def actor(user: ConsoleUser) -> str:
    """Who did it, as the audit log and the adjustments record it."""
    return f"console:{user.username}"


def now(request: Request) -> datetime:
    """The app clock's instant (the sandbox clock on a simulated server), as services take it."""
    moment: datetime = request.app.state.jifen.clock.now()
    return moment


def today(request: Request, program: Program) -> date:
    """The program-local date on the app's clock, for what a page shows or offers as a default.

    Services are given `now` and place it in the program's day themselves.
    """
    return local_date(now(request), program.timezone)


def flash(request: Request, kind: str, text: str) -> None:
    """Keep a message for the next page this session sees (after a redirect)."""
    request.session.setdefault(FLASH_KEY, []).append({"kind": kind, "text": text})


def page(
    request: Request,
    name: str,
    user: ConsoleUser,
    context: dict[str, Any] | None = None,
    *,
    messages: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    """Render a console page for `user`, with the flashes kept for it and `messages`."""
    kept = request.session.pop(FLASH_KEY, [])
    shown = [*kept, *(messages or [])]
    context = {
        "user": user,
        "messages": shown,
        "member_status": MEMBER_STATUS,
        "campaign_status": CAMPAIGN_STATUS,
        "partner_status": PARTNER_STATUS,
        **(context or {}),
    }
    return render(request, name, context, status_code=status_code)


def back(location: str) -> RedirectResponse:
    """After a form: see the result on a page (303, so a reload does not post again)."""
    return RedirectResponse(location, status_code=303)


PER_PAGE = 20


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of a table: its rows, which page it is (from 1) and how many there are."""

    items: list[Any]
    page: int
    pages: int
    total: int


def paged(request: Request, rows: list[Any], per_page: int = PER_PAGE) -> Listing:
    """The page `?page=N` of `rows` (the first when N cannot be read, the last when too big)."""
    pages = max(1, -(-len(rows) // per_page))
    try:
        number = min(max(1, int(request.query_params.get("page", "1"))), pages)
    except ValueError:
        number = 1
    start = (number - 1) * per_page
    return Listing(rows[start : start + per_page], number, pages, len(rows))


@dataclass(frozen=True, slots=True)
class DateRange:
    """The days a page covers, and what was wrong with the range asked for, if anything."""

    start: date
    end: date
    problems: list[str] = field(default_factory=list)


def _parse(text: str | None) -> date | None:
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        return None
    return day if day is None or 1900 <= day.year <= 2200 else None  # no overflow at the edges


def date_range(request: Request, *, last_day: date, days: int = DEFAULT_DAYS) -> DateRange:
    """`?from=&to=` (ISO dates, both included); the last `days` days up to `last_day` otherwise.

    A range that cannot be read, runs backwards or is too long is replaced by the default, and
    the page says why.
    """
    _ = gettext(request)
    default = DateRange(last_day - timedelta(days=days - 1), last_day)
    raw_start, raw_end = request.query_params.get("from"), request.query_params.get("to")
    start, end = _parse(raw_start), _parse(raw_end)
    if (raw_start and start is None) or (raw_end and end is None):
        problem = _("Dates are written as YYYY-MM-DD, e.g. 2025-11-30; showing the last 30 days.")
        return DateRange(default.start, default.end, [problem])
    end = end or (last_day if start is None else min(last_day, start + timedelta(days=days - 1)))
    start = start or end - timedelta(days=days - 1)
    if end < start:
        problem = _("The end date is before the start date; showing the last 30 days.")
        return DateRange(default.start, default.end, [problem])
    if (end - start).days >= MAX_DAYS:
        problem = _("A range covers at most ten years; showing the last 30 days.")
        return DateRange(default.start, default.end, [problem])
    return DateRange(start, end)


def error_text(request: Request, error: JifenError) -> str:
    """A refusal in the reader's language (the service's own message is English)."""
    _ = gettext(request)
    details = error.details
    if error.code == "insufficient_points":
        return _("The member has {available} points of this kind; {needed} are needed.").format(
            available=details.get("available"), needed=details.get("needed")
        )
    if error.code == "invalid_request" and details.get("field") == "points":
        return _(
            "Points must be a whole number other than 0: goodwill and compensation add points, "
            "a clawback takes them back, a correction goes either way."
        )
    if error.code == "invalid_request" and details.get("field") == "reason":
        return _("Say why: an adjustment needs a reason.")
    texts = {
        "same_approver": _(
            "You asked for this adjustment; another person must approve or reject it."
        ),
        "adjustment_decided": _("This adjustment was already decided."),
        "member_closed": _("The member is closed; nothing about them can change any more."),
        "idempotency_conflict": _("This form was already sent with other values; reload the page."),
        "invalid_request": _("Check the form: something in it cannot be used."),
        "not_found": _("Nothing was found for this."),
    }
    fallback = _("The action was refused (code {code}).")
    return texts.get(error.code, fallback.format(code=error.code))


@dataclass(frozen=True, slots=True)
class Names:
    """The program's own names of its tiers, point kinds and rules, in the reader's language."""

    tiers: dict[str, str]
    kinds: dict[str, str]
    rules: dict[str, str]

    def tier(self, code: str | None) -> str:
        """A tier's name (the code when the program no longer has it)."""
        return self.tiers.get(code or "", code or "")

    def kind(self, code: str | None) -> str:
        """A point kind's name."""
        return self.kinds.get(code or "", code or "")

    def rule(self, code: str | None) -> str:
        """An earning rule's name."""
        return self.rules.get(code or "", code or "")


def names(request: Request, program: Program) -> Names:
    """The program's names in the reader's language."""
    english = request_locale(request) == "en"
    rules = [*program.earning_rules, *(a.as_rule(c) for c, a in program.activities.items())]
    return Names(
        tiers={t.code: t.name_en if english else t.name_zh for t in program.tiers.levels},
        kinds={k.code: k.name.en if english else k.name.zh for k in program.point_kinds},
        rules={r.code: r.name.en if english else r.name.zh for r in rules},
    )
