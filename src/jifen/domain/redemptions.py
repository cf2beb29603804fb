"""A redemption's life: held, then committed (the ticket issued) or released; changed, cancelled.

A hold takes the points out of the member's balance; commit keeps them (the ticket is issued),
release gives them back. An issued ticket can be changed (改签) once before its train leaves, and
the railway may cancel it, which gives every point back. Released and cancelled are the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from jifen.domain.errors import JifenError


class DeparturePassed(JifenError):
    """The train has left: nothing can be redeemed, changed or committed for it any more."""

    code = "departure_passed"
    status = 409


class InvalidRedemptionState(JifenError):
    """The step does not fit where the redemption stands (commit after release, …)."""

    code = "invalid_redemption_state"
    status = 409


class ChangeNotAllowed(JifenError):
    """The ticket cannot be changed: not issued, changed already, departed, or a seat upgrade."""

    code = "change_not_allowed"
    status = 409


class RedemptionState(StrEnum):
    """Where a redemption stands; the values are the `redemptions.status` stored in the database."""

    HELD = "held"
    COMMITTED = "committed"
    RELEASED = "released"
    CANCELLED = "cancelled"


class RedemptionAction(StrEnum):
    """A step on a redemption after its hold; the values are the steps' names in the API."""

    COMMIT = "commit"
    RELEASE = "release"
    CHANGE = "change"
    CANCEL = "cancel"


class RedemptionType(StrEnum):
    """What a redemption pays for; the values are the `redemptions.type` stored."""

    TICKET = "ticket"
    SEAT_UPGRADE = "seat_upgrade"


_S, _A = RedemptionState, RedemptionAction
START = RedemptionState.HELD
"""Every redemption starts held: its points leave the member's balance at once."""
TRANSITIONS: Mapping[tuple[RedemptionState, RedemptionAction], RedemptionState] = {
    (_S.HELD, _A.COMMIT): _S.COMMITTED,
    (_S.HELD, _A.RELEASE): _S.RELEASED,
    (_S.COMMITTED, _A.CHANGE): _S.COMMITTED,  # the same issued ticket, on a new train or fare
    (_S.COMMITTED, _A.CANCEL): _S.CANCELLED,
}
"""Every allowed step: `(state, action) → state`."""
MAX_CHANGES = 1
"""A redeemed ticket can be changed (改签) once."""


def redemption_after(
    state: RedemptionState, action: RedemptionAction, *, redemption_id: str
) -> RedemptionState:
    """The state `action` moves a redemption in `state` to.

    Raises `ChangeNotAllowed` for a change, else `InvalidRedemptionState`, when it does not fit.
    """
    target = TRANSITIONS.get((state, action))
    if target is not None:
        return target
    if action is RedemptionAction.CHANGE:
        raise ChangeNotAllowed(
            f"Redemption {redemption_id} cannot be changed: {_not_changeable(state)}.",
            redemption_id=redemption_id,
            status=state,
        )
    allowed = [s for s in RedemptionState if (s, action) in TRANSITIONS]
    raise InvalidRedemptionState(
        f"Redemption {redemption_id} is {state}; to {action} it, it must be "
        f"{' or '.join(allowed)}.",
        redemption_id=redemption_id,
        status=state,
    )


def _not_changeable(state: RedemptionState) -> str:
    return f"it is {state}; only an issued (committed) ticket can be changed"


class Redemption(Protocol):
    """What the rules read of a stored redemption."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def changes(self) -> int: ...
    @property
    def departure_at(self) -> datetime: ...


def require_changeable(redemption: Redemption, at: datetime) -> None:
    """Refuse (`ChangeNotAllowed`) to change anything but an issued ticket, once, before it goes."""
    state = RedemptionState(redemption.status)
    why = (
        "a seat upgrade cannot be changed"
        if RedemptionType(redemption.type) is not RedemptionType.TICKET
        else _not_changeable(state)
        if (state, RedemptionAction.CHANGE) not in TRANSITIONS
        else "it was changed once already, and a redeemed ticket can be changed only once"
        if redemption.changes >= MAX_CHANGES
        else "its train has left"
        if redemption.departure_at <= at
        else None
    )
    if why is not None:
        raise ChangeNotAllowed(
            f"Redemption {redemption.id} cannot be changed: {why}.",
            redemption_id=redemption.id,
            status=state,
            changes=redemption.changes,
        )


def require_future(departure_at: datetime, at: datetime) -> None:
    """Refuse (`DeparturePassed`) a departure that is not after `at`."""
    if departure_at <= at:
        raise DeparturePassed(
            f"The train leaves at {departure_at.isoformat()}, which is not after "
            f"{at.isoformat()}; only journeys still to come can be redeemed or changed.",
            departure_at=departure_at.isoformat(),
        )


def require_not_departed(redemption: Redemption, at: datetime) -> None:
    """Refuse to issue a ticket for a train that has left (its hold can only be released)."""
    if redemption.departure_at <= at:
        departure = redemption.departure_at.astimezone(at.tzinfo)
        raise DeparturePassed(
            f"Redemption {redemption.id}'s train left at {departure.isoformat()}; a hold cannot "
            "be committed after departure. Release it (the daily job releases it otherwise).",
            redemption_id=redemption.id,
            departure_at=departure.isoformat(),
        )
