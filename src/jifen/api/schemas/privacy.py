"""Bodies of the privacy routes: a member's data export and erasure."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from jifen.services.event_schema import PRINTABLE

Rows = list[dict[str, Any]]


class ExportedTier(BaseModel):
    """The member's tier as stored."""

    code: str
    valid_until: date | None
    in_grace: bool


class ExportedMember(BaseModel):
    """The member's identity in full: ID number and phone are not masked here."""

    member_id: int
    status: str
    erased: bool
    name: str | None
    id_type: str | None
    id_number: str | None = Field(description="In full (null once erased).")
    phone: str | None = Field(description="In full (null when none was given, or once erased).")
    birth_date: date | None
    joined_at: datetime
    tier: ExportedTier
    redemption_unlocked_on: date | None


class MemberExport(BaseModel):
    """Everything held about a member (`format` names this layout's version)."""

    format: str
    exported_at: datetime
    program: str
    member: ExportedMember
    balances: Rows
    tier_history: Rows
    lots: Rows
    pending_points: Rows
    ledger_entries: Rows = Field(description="Entries on the member's accounts, oldest first.")
    events: Rows = Field(description="Events about the member as kept: ID numbers masked.")
    tickets: Rows
    earnings: Rows
    reminders: Rows
    beneficiaries: Rows = Field(description="Each with the ID number in full.")
    redemptions: Rows = Field(description="Each with its steps under `actions`.")
    mall_orders: Rows
    coupons: Rows
    donations: Rows
    adjustments: Rows
    audit: Rows = Field(description="Audit log rows whose subject is the member.")


class ErasureIn(BaseModel):
    """Why the member is erased (kept in the audit log)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Member asked for erasure"}]}
    )

    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=PRINTABLE)]


class ErasureOut(BaseModel):
    """The erased member: closed, under a pseudonym; `changed` is false if erased before."""

    member_id: int
    status: str
    name: str
    previous: str = Field(description="The status before the erasure.")
    changed: bool
    beneficiaries: int = Field(description="Beneficiaries whose identity was erased too.")
    forfeited: dict[str, int] = Field(description="Points forfeited by closing the member now.")
    voided_pending: int = Field(description="Pending points voided by closing the member now.")
