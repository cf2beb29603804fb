"""Opaque page cursors: the id (or time and id) of a page's last row, given out and read back."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

from jifen.domain.errors import InvalidRequest


def encode_cursor(entry_id: int) -> str:
    """An opaque cursor for the page after `entry_id`."""
    return base64.urlsafe_b64encode(f"e{entry_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The entry id behind a cursor; `InvalidRequest` for anything not made by `encode_cursor`."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        text = ""
    if not re.fullmatch(r"e[0-9]{1,18}", text):
        raise InvalidRequest(
            "The cursor is not one this API gave out; start again without a cursor.",
            cursor=cursor,
        )
    return int(text[1:])


def encode_position(at: datetime, key: str) -> str:
    """An opaque cursor for the page after the row made `at` with id `key` (newest first)."""
    micros = round(at.astimezone(UTC).timestamp() * 1_000_000)
    return base64.urlsafe_b64encode(f"p{micros}:{key}".encode()).decode().rstrip("=")


def decode_position(cursor: str) -> tuple[datetime, str]:
    """The `(at, key)` behind a cursor of `encode_position`; `InvalidRequest` for any other."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        text = ""
    found = re.fullmatch(r"p(-?[0-9]{1,18}):(.{1,200})", text, flags=re.DOTALL)
    if found is None:
        raise InvalidRequest(
            "The cursor is not one this API gave out; start again without a cursor.",
            cursor=cursor[:100],
        )
    micros, key = int(found[1]), found[2]
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros), key
