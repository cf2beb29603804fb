"""Bodies of the corrections routes: adjustments, approvals, member status and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from jifen.api.schemas.common import examples
from jifen.services import adjustments
from jifen.services.adjustments import AdjustmentKind, AdjustmentStatus
from jifen.services.event_schema import PRINTABLE

CallerId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE)
]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=PRINTABLE)]


class AdjustmentIn(BaseModel):
    """An adjustment: `points` signed (+ adds a lot, − claws back), `kind` and `reason` audited."""

    model_config = examples(
        {"id": "adj-0001", "kind": "goodwill", "points": 500, "reason": "Delayed train G1"}
    )

    id: CallerId
    kind: AdjustmentKind
    points: Annotated[StrictInt, Field(ge=-adjustments.MAX_POINTS, le=adjustments.MAX_POINTS)]
    reason: Reason
    point_kind: Annotated[str, StringConstraints(min_length=1, max_length=24)] | None = Field(
        None, description="Defaults to the first kind that pays for tickets (railway: ride)."
    )


class DecisionIn(BaseModel):
    """An approval or rejection by another operator than the one who asked."""

    model_config = examples({"id": "adj-0001-approve", "note": "Checked against the trip log"})

    id: CallerId
    note: Reason | None = None


class AdjustmentOut(BaseModel):
    """An adjustment as it stands; balances are of `point_kind`, before and after posting."""

    adjustment_id: str
    member_id: int
    kind: str
    point_kind: str
    points: int
    reason: str
    status: AdjustmentStatus
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    transaction_id: int | None
    balance_before: int | None
    balance_after: int | None


class Adjustments(BaseModel):
    """Adjustments, newest first; a member's come a page at a time (`next_cursor`)."""

    items: list[AdjustmentOut]
    next_cursor: str | None = None


class StatusIn(BaseModel):
    """Why the member's status changes (kept in the audit log)."""

    model_config = examples({"reason": "Earn-then-refund pattern under review"})

    reason: Reason


class UnfreezeIn(BaseModel):
    """Why the member may earn and spend again (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class StatusOut(BaseModel):
    """The member's status now; `changed` is false when it already was."""

    member_id: int
    status: str
    previous: str
    changed: bool
    forfeited: dict[str, int] = Field(description="Points forfeited per kind (closing only).")
    voided_pending: int = Field(description="Pending points voided (closing only).")


class AuditEntryOut(BaseModel):
    """One audited action: who (`actor`, a key prefix), when, what, to whom, and the details."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]


class AuditPage(BaseModel):
    """A page of the audit log, newest first; pass `next_cursor` back for the next page."""

    items: list[AuditEntryOut]
    next_cursor: str | None
