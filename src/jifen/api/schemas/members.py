"""Request and response bodies of the v1 API (SPEC §12), with examples for the docs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from jifen.services.event_schema import PRINTABLE, IdTypeField, IsoDate, MemberRef, Moment

MemberId = MemberRef  # in a body: a JSON integer, as sent (never `true` or "1")
MemberPathId = Annotated[int, Field(ge=1, le=2**62)]  # in a path: text, read as a number
SANE_DATE = {"ge": date(1900, 1, 1), "le": date(2200, 12, 31)}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class Error(BaseModel):
    """`{"code", "message", "details"}`: `code` is stable; `message` says what to do next."""

    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(BaseModel):
    """Every failure has this body."""

    error: Error


class Enrolment(BaseModel):
    """A real-name enrolment (实名): one member per identity."""

    model_config = _examples(
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


class EventIn(BaseModel):
    """An event from a source system; `data` depends on `type` (SPEC §12)."""

    model_config = ConfigDict(extra="allow")

    id: Any = None
    type: Any = None
    occurred_at: Any = None
    data: Any = None


class EventBatch(BaseModel):
    """1 to 1,000 events; each gets its own result."""

    model_config = _examples(
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


class DailyJobIn(BaseModel):
    """The day to run the daily job for (program-local)."""

    model_config = _examples({"as_of": "2025-12-01"})

    as_of: Annotated[IsoDate, Field(**SANE_DATE)]


class DailyJobOut(BaseModel):
    """Figures per step; `skipped` steps had already run for the day."""

    as_of: date
    steps: dict[str, dict[str, Any]]
    skipped: list[str]


class MemberCounts(BaseModel):
    """Members joined by the end, new in the period, and active (earned) in it."""

    total: int
    new: int
    active: int


class PointTotals(BaseModel):
    """Spendable points over the period; they add up exactly (definitions in docs/metrics.md).

    `opening + issued − redeemed − expired − forfeited − held = outstanding`.
    """

    issued: int
    redeemed: int = Field(description="Committed redemptions and donations, net of refunds.")
    expired: int
    outstanding: int = Field(description="Members' spendable balances at the period's end.")
    forfeited: int = Field(description="Points of members closed in the period.")
    held: int = Field(description="Points held by open redemptions at the period's end.")
    opening: int = Field(
        description="Points members held (spendable or held) when the period began; 0 from "
        "the program's first day."
    )


class SummaryOut(BaseModel):
    """The summary report (definitions in docs/api.md)."""

    members: MemberCounts
    points: PointTotals
    repurchase_rate: float
    breakage_rate: float
    liability_fen: int
    tiers: dict[str, int]


class ClockIn(BaseModel):
    """The time the sandbox server should use from now on."""

    model_config = _examples({"now": "2026-01-15T09:00:00+08:00"})

    now: Moment


class ClockOut(BaseModel):
    """The server's time."""

    now: datetime
    simulated: bool


SegmentName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
]  # as earning rules name them in `segment_in`
