"""Bodies of the entitlement routes: a member's countable benefits and a use of one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from jifen.api.schemas.common import examples
from jifen.services.event_schema import PRINTABLE, Moment

UseId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE)
]
Place = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)]


class Name(BaseModel):
    """A benefit's name in Chinese and English."""

    zh: str
    en: str


class EntitlementOut(BaseModel):
    """An issued benefit with what is left of it and where it stands today."""

    entitlement_id: int
    member_id: int
    code: str
    name: Name
    tier: str
    trigger: str
    quantity: int
    used: int
    remaining: int
    issued_on: date
    valid_until: date
    lapsed_on: date | None
    status: str


class Entitlements(BaseModel):
    """A member's entitlements, newest first."""

    items: list[EntitlementOut]


class UseIn(BaseModel):
    """One use of an entitlement: `id` makes a retry safe, `at` is when it was used."""

    model_config = examples(
        {"id": "lounge-bj-20260301-0007", "at": "2026-03-01T07:40:00+08:00", "location": "北京南"}
    )

    id: UseId
    at: Moment
    location: Place | None = None


class UseOut(BaseModel):
    """The use recorded and the entitlement after it."""

    use_id: str
    at: datetime
    location: str | None
    entitlement: EntitlementOut
