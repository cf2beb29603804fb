"""The shapes of incoming events (SPEC §12), validated before anything is written."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)

from jifen.domain.errors import JifenError
from jifen.domain.identity import IdType

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (PostgreSQL text refuses NUL)
Id = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=PRINTABLE),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=PRINTABLE)]
_ISO_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """Let through ISO-8601 text (and dates from Python callers), never a number or digits alone.

    Pydantic would read `1735689600` or `"1735689600"` as seconds since 1970.
    """
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    msg = "give an ISO-8601 date or time as text, e.g. 2025-11-03 or 2025-11-03T08:00:00+08:00"
    raise ValueError(msg)


# Input is taken as sent: no bool, float or text becomes an integer (StrictInt), no 1 or "yes"
# a boolean (StrictBool), no number a date (IsoDate, Moment): request bodies and events use them.
IsoDate = Annotated[date, BeforeValidator(_iso_text)]
# Times a railway could mean; outside them the calendar arithmetic of expiry would overflow.
Moment = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text),
    Field(ge=datetime(1900, 1, 1, tzinfo=UTC), le=datetime(2200, 12, 31, tzinfo=UTC)),
]
Fen = Annotated[StrictInt, Field(ge=0, le=10_000_000_00)]  # up to ¥10,000,000 per ticket
EventType = Literal[
    "ticket.purchased",
    "ticket.travelled",
    "ticket.refunded",
    "ticket.changed",
    "activity.completed",
    "order.paid",
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)


class InvalidEvent(JifenError):
    """An event that does not have the shape SPEC §12 gives its type."""

    code = "invalid_event"
    status = 422


class Shape(BaseModel):
    """Frozen models: an unknown field is an error; integers, booleans and times are strict."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def _lowercase(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


IdTypeField = Annotated[IdType, BeforeValidator(_lowercase)]
MemberRef = Annotated[StrictInt, Field(ge=1, le=2**62)]


class Passenger(Shape):
    """The rider: a member id, or the real-name identity on the ticket."""

    member_id: MemberRef | None = None
    id_type: IdTypeField | None = None
    id_number: Text | None = None

    @model_validator(mode="after")
    def _one_way_to_find(self) -> Self:
        if self.member_id is None and (self.id_type is None or self.id_number is None):
            msg = "give member_id, or id_type and id_number"
            raise ValueError(msg)
        return self


class Train(Shape):
    """The train a ticket is for, with the flags that decide whether it earns."""

    number: Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=PRINTABLE)]
    participating: StrictBool = True
    international: StrictBool = False
    tourist: StrictBool = False


class Ticket(Shape):
    """A ticket as sold: `ticket.purchased` data, and a claim's (补登) full ticket data."""

    ticket_id: Id
    passenger: Passenger
    fare_fen: Fen
    ticket_type: Literal["adult", "child", "student"] = "adult"
    real_name: StrictBool = True
    payment: Literal["cash", "points"] = "cash"
    issue: Literal["normal", "substitute", "on_board"] = "normal"
    train: Train
    departure_at: Moment
    arrival_at: Moment

    @model_validator(mode="after")
    def _arrives_after_departure(self) -> Self:
        if self.arrival_at < self.departure_at:
            msg = "arrival_at is before departure_at"
            raise ValueError(msg)
        return self


class TicketRef(Shape):
    """A reference to a ticket already sent (travel, refund)."""

    ticket_id: Id


class Change(Shape):
    """改签: the ticket moves to a new ticket id, fare and departure."""

    ticket_id: Id
    new_ticket_id: Id
    fare_fen: Fen
    departure_at: Moment
    arrival_at: Moment


class ForMember(Shape):
    """Data about one member, named by `member_id` or by real-name identity (`passenger`)."""

    member_id: MemberRef | None = None
    passenger: Passenger | None = None

    @model_validator(mode="after")
    def _names_a_member(self) -> Self:
        if self.member_id is None and self.passenger is None:
            msg = "give member_id or passenger"
            raise ValueError(msg)
        return self

    @property
    def rider(self) -> Passenger:
        """The member, as a passenger reference."""
        return self.passenger or Passenger(member_id=self.member_id)


class Activity(ForMember):
    """An activity the member completed; `points` when the source system sets them."""

    activity: Text
    points: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None


class Order(ForMember):
    """A shop order paid in cash (retail): points on the amount paid."""

    order_id: Id
    amount_fen: Fen


class Event(Shape):
    """The envelope every event shares; `data` is checked by type in `parse_event`."""

    id: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE),
    ]
    type: EventType
    occurred_at: Moment
    data: dict[str, Any]


Data = Ticket | TicketRef | Change | Activity | Order
_DATA_SHAPES: dict[EventType, type[Data]] = {
    "ticket.purchased": Ticket,
    "ticket.travelled": TicketRef,
    "ticket.refunded": TicketRef,
    "ticket.changed": Change,
    "activity.completed": Activity,
    "order.paid": Order,
}


def parse_event(raw: Any) -> tuple[Event, Data]:
    """Validate an event and its data; `InvalidEvent` names every bad field."""
    try:
        event = Event.model_validate(raw)
        if event.type == "ticket.travelled" and "passenger" in event.data:
            return event, Ticket.model_validate(event.data)  # a claim carries the whole ticket
        return event, _DATA_SHAPES[event.type].model_validate(event.data)
    except ValidationError as error:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(event)", "problem": e["msg"]}
            for e in error.errors(include_url=False, include_input=False)
        ]
        in_data = isinstance(raw, dict) and "data" in raw and error.title != "Event"
        prefix = "data." if in_data else ""
        for problem in problems:
            problem["field"] = prefix + problem["field"]
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        raise InvalidEvent(f"The event is not valid: {summary}.", errors=problems) from None
