"""The outbox: one row per thing a member should hear about, written with the change itself.

Each function is called inside the unit of work that makes the change (the ledger's door, the
daily job's chunk, a redemption step, the warehouse report), so the notification commits or rolls
back with it. Rows are unique by a key naming what they are about, so a rerun adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from jifen.domain.entitlements import Entitlement
from jifen.domain.ledger import MEMBER_AVAILABLE, MEMBER_PENDING, PROGRAM_REDEEMED, TransactionType
from jifen.domain.postings import OpensLot, Posted, Posting
from jifen.domain.tiers import TierDecision
from jifen.services.ports import EventUnitOfWork
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.mall_repository import MallOrder
from jifen.storage.redemption_repository import RedemptionRecord

REFERENCES = ("event_id", "campaign_id", "adjustment_id", "partner", "op_id")
"""What a credit's memo may name that the member's gateway can use, copied into the payload."""


def tier_changed(uow: UnitOfWork, *, decision: TierDecision, at: datetime) -> None:
    """`tier.changed` for a tier decision just stored (upgrade, requalified, grace, downgrade)."""
    payload = {
        "member_id": decision.member_id,
        "old_tier": decision.old.code,
        "new_tier": decision.new.code,
        "valid_until": _day(decision.new.valid_until),
        "in_grace": decision.new.in_grace,
        "reason": str(decision.reason),
        "qualifying_points": decision.qualifying_points,
        "decided_on": decision.decided_on.isoformat(),
    }
    key = f"tier.changed:{decision.member_id}:{decision.decided_on}"
    uow.notifications.add_notifications(
        [{"topic": "tier.changed", "dedupe_key": key, "payload": payload, "occurred_at": at}]
    )


def entitlements_issued(uow: UnitOfWork, *, issued: list[Entitlement], at: datetime) -> None:
    """`entitlement.issued` for each entitlement the daily job just issued (once each)."""
    uow.notifications.add_notifications(
        [
            {
                "topic": "entitlement.issued",
                "dedupe_key": f"entitlement.issued:{e.id}",
                "payload": {
                    "member_id": e.member_id,
                    "entitlement_id": e.id,
                    "code": e.code,
                    "tier": e.tier_code,
                    "quantity": e.quantity,
                    "issued_on": e.issued_on.isoformat(),
                    "valid_until": e.valid_until.isoformat(),
                },
                "occurred_at": at,
            }
            for e in issued
        ]
    )


def points_expiring(uow: UnitOfWork, *, as_of: date, at: datetime) -> None:
    """`points.expiring` for every expiry reminder queued on `as_of` (one per member, kind, date).

    One set-based insert from `reminders`; notifications already written are skipped.
    """
    uow.notifications.add_expiring(day=as_of, at=at)


def beneficiaries_effective(uow: UnitOfWork, *, day: date, at: datetime) -> int:
    """`beneficiary.effective` for every beneficiary still named whose wait ends on `day`."""
    outbox = uow.notifications
    effective = outbox.beneficiaries_effective_on(day)
    outbox.add_notifications(
        [
            {
                "topic": "beneficiary.effective",
                "dedupe_key": f"beneficiary.effective:{beneficiary}:{day}",
                "payload": {
                    "member_id": member,
                    "beneficiary_id": beneficiary,
                    "name": name,
                    "effective_from": day.isoformat(),
                },
                "occurred_at": at,
            }
            for beneficiary, member, name in effective
        ]
    )
    return len(effective)


def order_shipped(uow: UnitOfWork, *, order: MallOrder, tracking: str | None, at: datetime) -> None:
    """`order.shipped` for a goods order the warehouse reported shipped (once per order)."""
    payload = {
        "member_id": order.member_id,
        "order_id": order.id,
        "sku": order.sku,
        "quantity": order.quantity,
        "tracking": tracking,
        "shipped_at": at.isoformat(),
    }
    uow.notifications.add_notifications(
        [
            {
                "topic": "order.shipped",
                "dedupe_key": f"order.shipped:{order.id}",
                "payload": payload,
                "occurred_at": at,
            }
        ]
    )


def points_credited(uow: EventUnitOfWork, written: Sequence[tuple[Posting, Posted]]) -> None:
    """`points.credited` for each posting that put points in a member's spendable balance.

    Called by the ledger's door for every batch it writes: credits from events, campaigns,
    partners and adjustments, and pending points confirmed (a trip taken). Not points given
    back (a released hold, a cancelled redemption, a refund: their own topics say so), nor
    tier-only kinds, which cannot be spent. One row per posting, keyed by its transaction.
    """
    credited = [(p, w) for p, w in written if _credits(p) and not w.replayed]
    if not credited:
        return
    unlock = uow.programs.redemption_unlock()
    spendable = frozenset() if unlock is None else unlock.kinds
    rows = [
        row
        for posting, posted in credited
        if (row := _credited(posting, posted, spendable)) is not None
    ]
    uow.notifications.add_notifications(rows)


def _credits(posting: Posting) -> bool:
    if posting.type == TransactionType.CONFIRM:
        return True
    return posting.type == TransactionType.CREDIT and all(
        leg.account != PROGRAM_REDEEMED for leg in posting.legs
    )


def _credited(posting: Posting, posted: Posted, spendable: frozenset[str]) -> dict[str, Any] | None:
    leg = next(
        (e for e in posting.legs if e.account == MEMBER_AVAILABLE and e.points > 0),
        None,
    )
    if leg is None or leg.kind not in spendable:
        return None
    source = next((e.account for e in posting.legs if e.member_id is None), MEMBER_PENDING)
    opens = posting.opens
    memo = posting.header.memo or {}
    payload = {
        "member_id": leg.member_id,
        "kind": leg.kind,
        "points": leg.points,
        "transaction_id": posted.transaction_id,
        "type": str(posting.type),
        "source": source,
        "credited_at": posting.header.occurred_at.isoformat(),
        "expires_on": _day(opens.expires_on) if isinstance(opens, OpensLot) else None,
        **{key: memo[key] for key in REFERENCES if key in memo},
    }
    return {
        "topic": "points.credited",
        "dedupe_key": f"points.credited:{posting.header.key}",
        "payload": payload,
        "occurred_at": posting.header.occurred_at,
    }


def redemption_issued(uow: UnitOfWork, *, record: RedemptionRecord, at: datetime) -> None:
    """`redemption.issued` for a redemption just committed: the ticket (or upgrade) is issued."""
    payload = {
        **_redemption(record),
        "points": record.points,
        "issued_at": at.isoformat(),
    }
    _add(uow, "redemption.issued", f"redemption.issued:{record.id}", payload, at)


def redemption_cancelled(
    uow: UnitOfWork,
    *,
    record: RedemptionRecord,
    reason: str,
    returned: int,
    expires_on: date | None,
    at: datetime,
) -> None:
    """`redemption.cancelled` for a committed redemption the railway cancelled (once each)."""
    payload = {
        **_redemption(record),
        "reason": reason,
        "points_returned": returned,
        "expires_on": _day(expires_on),
        "cancelled_at": at.isoformat(),
    }
    _add(uow, "redemption.cancelled", f"redemption.cancelled:{record.id}", payload, at)


def member_frozen(uow: UnitOfWork, *, member_id: int, at: datetime) -> None:
    """`member.frozen` for a member an operator just froze (one per freeze).

    The operator's reason stays in the audit log: it is an internal note, not a message.
    """
    payload = {"member_id": member_id, "frozen_at": at.isoformat()}
    _add(uow, "member.frozen", f"member.frozen:{member_id}:{at.isoformat()}", payload, at)


def tiers_expiring(
    uow: UnitOfWork, *, expiring: Iterable[tuple[int, str, date, int, int]], at: datetime
) -> None:
    """`tier.expiring` per `(member, tier, valid_until, qualifying, needed)`, once per validity.

    `needed` is how many more upgrade points keep the tier at its re-assessment (0: the points
    counted today already do).
    """
    uow.notifications.add_notifications(
        [
            {
                "topic": "tier.expiring",
                "dedupe_key": f"tier.expiring:{member}:{valid_until}",
                "payload": {
                    "member_id": member,
                    "tier": tier,
                    "valid_until": valid_until.isoformat(),
                    "qualifying_points": qualifying,
                    "points_needed": needed,
                },
                "occurred_at": at,
            }
            for member, tier, valid_until, qualifying, needed in expiring
        ]
    )


def _redemption(record: RedemptionRecord) -> dict[str, Any]:
    return {
        "member_id": record.member_id,
        "redemption_id": record.id,
        "type": record.type,
        "passenger": {
            "member_id": record.passenger_member_id,
            "beneficiary_id": record.beneficiary_id,
        },
        "ticket_id": record.ticket_ref,
        "train": record.train,
        "departure_at": record.departure_at.isoformat(),
    }


def _add(uow: UnitOfWork, topic: str, key: str, payload: dict[str, Any], at: datetime) -> None:
    uow.notifications.add_notifications(
        [{"topic": topic, "dedupe_key": key, "payload": payload, "occurred_at": at}]
    )


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
