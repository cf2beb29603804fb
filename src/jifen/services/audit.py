"""The audit log of admin and operator actions: append a row, read a page, export a period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jifen.domain.errors import InvalidRequest
from jifen.services.cursors import decode_cursor, encode_cursor
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.audit_repository import AuditEntry

EXPORT_CHUNK = 1000


def record(
    uow: UnitOfWork, *, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]
) -> None:
    """Append one row inside the caller's open unit of work, so it commits with the action.

    `actor` is who did it (an API key's prefix, or `system`/`cli`), `action` what was done
    (`adjustment.applied`, `member.frozen`, `key.created` …), `subject` what it was done to
    (`member:42`, `key:ab12cd34`), `details` the why and the before and after, as plain JSON.
    """
    uow.audit_log.add_entry(at=at, actor=actor, action=action, subject=subject, details=details)


def local_days(
    start: date | None, end: date | None, *, timezone: str
) -> tuple[datetime | None, datetime | None]:
    """The half-open span from `start` 00:00 to the day after `end`, local days both included.

    Either end may be left open (None). `InvalidRequest` when `end` is before `start`.
    """
    if start is not None and end is not None and end < start:
        raise InvalidRequest(
            f"The period {start}..{end} is not valid: `to` must not be before `from`.",
            start=str(start),
            end=str(end),
        )
    for day in (start, end):
        if day is not None and not 1900 <= day.year <= 2200:
            raise InvalidRequest(f"{day} is out of range: give a date from 1900 to 2200.")
    zone = ZoneInfo(timezone)
    since = None if start is None else datetime.combine(start, time(0), tzinfo=zone)
    until = None if end is None else datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
    return since, until


def audit_page(
    uow: UnitOfWork,
    *,
    start: datetime | None,
    end: datetime | None,
    action: str | None = None,
    subject: str | None = None,
    cursor: str | None,
    limit: int,
) -> tuple[list[AuditEntry], str | None]:
    """One page of rows with `start <= at < end`, newest first, and the next page's cursor."""
    before = decode_cursor(cursor) if cursor else None
    with uow:
        rows = uow.audit_log.entries(
            since=start,
            until=end,
            action=action,
            subject=subject,
            beyond_id=before,
            newest_first=True,
            limit=limit + 1,
        )
    page = rows[:limit]
    return page, encode_cursor(page[-1].id) if len(rows) > limit else None


def as_dict(entry: AuditEntry) -> dict[str, Any]:
    """A row as plain data: `at` in ISO 8601 (UTC), `details` as stored."""
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "details": entry.details,
    }


def export_audit(
    uow: UnitOfWork, *, start: datetime | None, end: datetime | None
) -> Iterator[dict[str, Any]]:
    """Every row with `start <= at < end` (aware; None: open), oldest first, as `as_dict` gives.

    Reads in chunks, each in its own short transaction, so a long export neither holds a
    transaction open nor keeps the log in memory. `local_days` turns `--from/--to` days into
    `start` and `end`.
    """
    after: int | None = None
    while True:
        with uow:
            rows = uow.audit_log.entries(
                since=start, until=end, beyond_id=after, newest_first=False, limit=EXPORT_CHUNK
            )
        yield from (as_dict(row) for row in rows)
        if len(rows) < EXPORT_CHUNK:
            return
        after = rows[-1].id
