"""Bodies of the webhook routes: endpoints and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from jifen.domain.webhooks import TOPICS
from jifen.services.event_schema import PRINTABLE

Topic = Annotated[str, StringConstraints(min_length=1, max_length=40)]
DeliveryStatus = Literal["pending", "delivered", "dead"]


class EndpointIn(BaseModel):
    """An endpoint to receive notifications of these topics."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://gateway.example.com/jifen",
                    "topics": ["points.expiring", "tier.changed"],
                    "description": "SMS gateway",
                }
            ]
        },
    )

    url: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=PRINTABLE),
    ]
    topics: Annotated[list[Topic], Field(min_length=1, max_length=len(TOPICS))] = Field(
        description=f"Any of {', '.join(TOPICS)}."
    )
    description: Annotated[str, StringConstraints(max_length=200, pattern=PRINTABLE)] | None = None


class EndpointOut(BaseModel):
    """A registered endpoint (its secret is shown only when it is created)."""

    id: int
    url: str
    topics: list[str]
    description: str | None
    active: bool
    created_at: datetime


class NewEndpointOut(EndpointOut):
    """A new endpoint and its signing secret: store it now, it is never shown again."""

    secret: str


class Endpoints(BaseModel):
    """Every registered endpoint."""

    endpoints: list[EndpointOut]


class DeliveryOut(BaseModel):
    """One notification to one endpoint and how its tries went."""

    id: int
    notification_id: int
    endpoint_id: int
    topic: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


class Deliveries(BaseModel):
    """Deliveries in id order."""

    deliveries: list[DeliveryOut]
