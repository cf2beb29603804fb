"""Events sent in batches and what became of each."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jifen.api.schemas.common import examples
from jifen.api.schemas.errors import Error


class EventIn(BaseModel):
    """An event from a source system; `data` depends on `type` (SPEC §12)."""

    model_config = ConfigDict(extra="allow")

    id: Any = None
    type: Any = None
    occurred_at: Any = None
    data: Any = None


class EventBatch(BaseModel):
    """1 to 1,000 events; each gets its own result."""

    model_config = examples(
        {
            "events": [
                {
                    "id": "evt-0001",
                    "type": "ticket.purchased",
                    "occurred_at": "2025-11-01T09:30:00+08:00",
                    "data": {
                        "ticket_id": "E123456789",
                        "passenger": {"member_id": 1},
                        "fare_fen": 55350,
                        "ticket_type": "adult",
                        "real_name": True,
                        "payment": "cash",
                        "issue": "normal",
                        "train": {
                            "number": "G1",
                            "participating": True,
                            "international": False,
                            "tourist": False,
                        },
                        "departure_at": "2025-11-03T08:00:00+08:00",
                        "arrival_at": "2025-11-03T12:30:00+08:00",
                    },
                },
                {
                    "id": "evt-0002",
                    "type": "ticket.travelled",
                    "occurred_at": "2025-11-03T13:00:00+08:00",
                    "data": {"ticket_id": "E123456789"},
                },
            ]
        }
    )

    events: Annotated[list[Any], Field(min_length=1, max_length=1000)]


class EventResultOut(BaseModel):
    """What became of one event."""

    id: str | None
    status: Literal["applied", "duplicate", "rejected"]
    error: Error | None = None


class EventResults(BaseModel):
    """One result per event, in the order sent."""

    results: list[EventResultOut]


class AcceptedOut(BaseModel):
    """What became of one event sent without waiting: accepted for applying, or refused now."""

    id: str | None
    status: Literal["accepted", "rejected"]
    error: Error | None = None


class AcceptedResults(BaseModel):
    """One result per event, in the order sent; `GET /v1/events/{id}` tells each one's outcome."""

    results: list[AcceptedOut]


class EventOutcomeOut(BaseModel):
    """An event's outcome: applied (with what it did), or rejected by a consumer (with why)."""

    id: str
    status: Literal["applied", "rejected"]
    type: str | None = None
    occurred_at: datetime | None = None
    member_id: int | None = Field(default=None, description="The member it was about, if any.")
    outcome: dict[str, Any] | None = Field(default=None, description="As `POST` would answer.")
    error: Error | None = None
