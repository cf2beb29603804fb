"""Bodies of the recommendation routes: mall items and off-peak trips for a member."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class MallItem(BaseModel):
    """A product the member has not bought and members who bought the same things did."""

    sku: str
    name: str
    score: float


class Trip(BaseModel):
    """A route (train number) the member takes, on its next off-peak day, and why."""

    route: str
    suggested_departure: datetime
    reason: str


class RecommendationsOut(BaseModel):
    """Products to buy and trips to take, best first."""

    mall: list[MallItem]
    trips: list[Trip]
