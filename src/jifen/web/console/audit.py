"""The audit log: who did what to whom, with the why and the before and after (admins only)."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.domain.errors import JifenError
from jifen.services import audit
from jifen.web.console.common import Admin, date_range, error_text, page, today

router = APIRouter(prefix="/console")
PAGE = 50
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else str(value)


def _filter(text: str) -> str | None:
    # Free text from the address bar: no control characters (PostgreSQL refuses NUL), kept short.
    return CONTROL.sub("", text).strip()[:200] or None


@router.get("/audit")
def audit_page(
    request: Request,
    *,
    user: Admin,
    uow: UowDep,
    program: ProgramDep,
    action: str = "",
    subject: str = "",
    cursor: str | None = None,
) -> Response:
    """A page of the audit log for `?from=&to=` (last 30 days), newest first, filterable."""
    span = date_range(request, last_day=today(request, program))
    messages = [{"kind": "error", "text": text} for text in span.problems]
    since, until = audit.local_days(span.start, span.end, timezone=program.timezone)
    try:
        rows, next_cursor = audit.audit_page(
            uow,
            start=since,
            end=until,
            action=_filter(action),
            subject=_filter(subject),
            cursor=cursor,
            limit=PAGE,
        )
    except JifenError as error:  # a cursor that is not ours
        messages.append({"kind": "error", "text": error_text(request, error)})
        rows, next_cursor = [], None
    entries = [
        {"entry": r, "details": [(k, _value(v)) for k, v in sorted(r.details.items())]}
        for r in rows
    ]
    context = {
        "span": span,
        "action": action,
        "subject": subject,
        "entries": entries,
        "next_cursor": next_cursor,
    }
    return page(request, "console/audit.html", user, context, messages=messages)
