"""Members: enrolment, the member as others see them, their statement and tier history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from jifen.api.schemas.common import SANE_DATE, examples
from jifen.services.event_schema import PRINTABLE, IdTypeField, IsoDate


class Enrolment(BaseModel):
    """A real-name enrolment (实名): one member per identity."""

    model_config = examples(
        {
            "name": "张三",
            "id_type": "resident_id",
            "id_number": "110101199003071233",
            "birth_date": "1990-03-07",
            "phone": "13812345678",
        }
    )

    name: Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=PRINTABLE)]
    id_type: IdTypeField
    id_number: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    birth_date: Annotated[IsoDate, Field(**SANE_DATE)]
    phone: Annotated[str, StringConstraints(max_length=20)] | None = None


class Tier(BaseModel):
    """A tier code and the last day it is valid (null: it does not lapse)."""

    code: str
    valid_until: date | None


class Enrolled(BaseModel):
    """The new member."""

    member_id: int
    tier: Tier


class Balances(BaseModel):
    """Spendable points per kind, points awaiting travel, and tier points of the last 12 months."""

    model_config = ConfigDict(extra="allow")

    ride: int = 0
    activity: int = 0
    pending: int
    upgrade_12m: int


class Expiring(BaseModel):
    """Points that lapse on `date` (the first day they can no longer be spent)."""

    date: date
    kind: str
    points: int


class NextTier(BaseModel):
    """How far the member is from the next tier."""

    code: str
    points_needed: int


class MemberOut(BaseModel):
    """A member as integrators and operators see them: identity masked, balances, tier."""

    member_id: int
    status: str
    name: str | None
    id_type: str | None
    id_number: str | None = Field(description="Masked, e.g. 1101**********1233.")
    phone: str | None = Field(description="Masked, e.g. 138****5678.")
    joined_at: datetime
    tier: Tier
    balances: Balances
    redemption_unlocked: bool
    expiring: list[Expiring]
    next_tier: NextTier | None
    segments: list[str] = Field(
        description="Segments the member is in: set by operators, or the RFM segment of the "
        "daily job (`champions`, `loyal` …).",
    )


class StatementItem(BaseModel):
    """One movement on the member's accounts (`account`: available or pending).

    `reason` says why points were voided or given back: `not_travelled` (a ticket's pending
    points voided once no claim could confirm it; `ticket_id` names it), `departure_passed` (a
    hold released by the daily job after its train left), `force_majeure` or `railway_fault`
    (a cancelled ticket), or the operator's reason for an adjustment or a closure;
    `redemption_id` names the redemption a hold, release or cancel is of.
    """

    at: datetime
    kind: str
    points: int
    type: str
    account: str
    transaction_id: int
    event_id: str | None = None
    rules: list[dict[str, Any]] = []
    reason: str | None = None
    ticket_id: str | None = None
    redemption_id: str | None = None


class Statement(BaseModel):
    """A page of the ledger, newest first; pass `next_cursor` back for the next page."""

    items: list[StatementItem]
    next_cursor: str | None


class TierChangeOut(BaseModel):
    """A tier change and the figures it was decided on."""

    decided_on: date
    old: str | None
    new: str
    valid_until: date | None
    reason: str
    qualifying_points: int


class TierHistory(BaseModel):
    """The member's tier now and every change, oldest first."""

    member_id: int
    tier: Tier
    items: list[TierChangeOut]


IdNumber = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Phone = Annotated[str, StringConstraints(min_length=1, max_length=20)]


class Lookup(BaseModel):
    """Who to find: an identity (`id_type` and `id_number`) or a phone, never both.

    The ID number is matched whatever type was claimed at enrolment: one member per number.
    """

    model_config = examples(
        {"id_type": "resident_id", "id_number": "110101199003071233"}, {"phone": "13812345678"}
    )

    id_type: IdTypeField | None = None
    id_number: IdNumber | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def one_way(self) -> Lookup:
        """Exactly one of the two forms."""
        identity = self.id_type is not None or self.id_number is not None
        if identity == (self.phone is not None):
            msg = "send either `id_type` with `id_number`, or `phone`"
            raise ValueError(msg)
        if identity and (self.id_type is None or self.id_number is None):
            msg = "an identity needs both `id_type` and `id_number`"
            raise ValueError(msg)
        return self


class Found(BaseModel):
    """The member the lookup matched."""

    member_id: int


class ContactChange(BaseModel):
    """A new phone for the member. Name and ID are real-name facts and cannot be changed."""

    model_config = examples({"phone": "13987654321"})

    phone: Phone

    @model_validator(mode="before")
    @classmethod
    def only_phone(cls, data: Any) -> Any:
        """Refuse, by name, anything but the phone: name and ID stay as enrolled."""
        if isinstance(data, dict):
            others = sorted(str(k) for k in data if k != "phone")
            if others:
                msg = (
                    f"only `phone` can be changed; {', '.join(others)} cannot (a member's name "
                    "and ID are fixed at real-name enrolment)"
                )
                raise ValueError(msg)
        return data


class Contact(BaseModel):
    """The member's phone after the change, masked; `changed` is false when it already was it."""

    member_id: int
    phone: str = Field(description="Masked, e.g. 139****4321.")
    changed: bool
