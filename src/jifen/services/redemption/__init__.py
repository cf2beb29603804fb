"""Spending points on journeys: ticket redemption (兑换) and seat upgrade (升席).

Both start with a hold and end committed or released (`lifecycle`); tickets can also be changed
once and cancelled by the railway (`tickets`); seat upgrades apply to a member's own ticket
(`seat_upgrade`).
"""

from __future__ import annotations

from jifen.domain.redemptions import ChangeNotAllowed, DeparturePassed, InvalidRedemptionState
from jifen.services.redemption.lifecycle import (
    PROGRAM_HELD,
    RedemptionLocked,
    RedemptionNotOffered,
    VelocityLimit,
    commit,
    get_redemption,
    release,
)
from jifen.services.redemption.seat_upgrade import (
    SeatUpgradeNotAllowed,
    SeatUpgradeRequest,
    upgrade_seat,
)
from jifen.services.redemption.tickets import (
    CancelWindowClosed,
    PassengerNotAllowed,
    TicketRequest,
    Train,
    TrainNotRedeemable,
    cancel_ticket,
    change_ticket,
    points_for,
    redeem_ticket,
)

__all__ = [
    "PROGRAM_HELD",
    "CancelWindowClosed",
    "ChangeNotAllowed",
    "DeparturePassed",
    "InvalidRedemptionState",
    "PassengerNotAllowed",
    "RedemptionLocked",
    "RedemptionNotOffered",
    "SeatUpgradeNotAllowed",
    "SeatUpgradeRequest",
    "TicketRequest",
    "Train",
    "TrainNotRedeemable",
    "VelocityLimit",
    "cancel_ticket",
    "change_ticket",
    "commit",
    "get_redemption",
    "points_for",
    "redeem_ticket",
    "release",
    "upgrade_seat",
]
