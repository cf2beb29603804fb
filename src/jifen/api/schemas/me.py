"""Bodies of a member's own API (/v1/me): signing in, and what a member asks for themself."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, Field, StrictInt, StringConstraints, model_validator

from jifen.api.schemas.beneficiaries import BeneficiaryIn
from jifen.api.schemas.common import examples
from jifen.api.schemas.mall import Sku
from jifen.api.schemas.redemptions import BeneficiaryId, Fare, TrainIn
from jifen.services.event_schema import Moment
from jifen.services.member_self import MAX_CALLER_ID

# The member's ids are kept in their own space (`m<member>-<id>`), so they are a little shorter.
OwnId = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=MAX_CALLER_ID, pattern=r"^[A-Za-z0-9][A-Za-z0-9._~-]*$"
    ),
]


class CodeIn(BaseModel):
    """Ask for an SMS sign-in code."""

    model_config = examples({"phone": "13800138000"})

    phone: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class CodeOut(BaseModel):
    """The challenge to answer with the code; the same whether or not a member has the phone."""

    challenge_id: int
    masked_phone: str


class SignInIn(BaseModel):
    """Sign in with `challenge_id` and `code`, or with a one-time `link_token`."""

    model_config = examples({"challenge_id": 1, "code": "123456"}, {"link_token": "…"})

    challenge_id: Annotated[StrictInt, Field(ge=1, le=2**62)] | None = None
    code: Annotated[str, StringConstraints(min_length=1, max_length=20)] | None = None
    link_token: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        by_code = self.challenge_id is not None and self.code is not None
        by_link = self.link_token is not None
        if by_code == by_link or (by_link and (self.challenge_id or self.code)):
            msg = "give challenge_id and code, or link_token"
            raise ValueError(msg)
        return self


class TokenOut(BaseModel):
    """A member token: send it as `Authorization: Bearer <token>` to /v1/me."""

    token: str
    member_id: int
    expires_at: datetime = Field(description="Moves on with each use, up to 12 hours in all.")


class OwnTicketIn(BaseModel):
    """A ticket for the member (no `beneficiary_id`) or one of their effective beneficiaries."""

    model_config = examples(
        {
            "id": "trip-0001",
            "fare_fen": 55350,
            "train": {"number": "G1"},
            "departure_at": "2026-03-01T08:00:00+08:00",
        }
    )

    id: OwnId = Field(description="The caller's id (the idempotency key).")
    beneficiary_id: BeneficiaryId | None = None
    fare_fen: Fare
    train: TrainIn
    departure_at: Moment


class OwnOrderIn(BaseModel):
    """A mall order of the member's own."""

    model_config = examples({"id": "order-0001", "sku": "MUG-01", "quantity": 1})

    id: OwnId = Field(description="The caller's id (the idempotency key).")
    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=100)]


class OwnStepIn(BaseModel):
    """A step on something of the member's own (cancelling an order)."""

    model_config = examples({"id": "cancel-0001"})

    id: OwnId = Field(description="The caller's id (the idempotency key).")


class OwnBeneficiaryIn(BeneficiaryIn):
    """A beneficiary the member names (`id` as for their other requests)."""

    id: OwnId = Field(description="The caller's id (the idempotency key).")
