"""Opaque page cursors: the id of the last row of a page, given out and read back."""

from __future__ import annotations

import base64
import re

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
