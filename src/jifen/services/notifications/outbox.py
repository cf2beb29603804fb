"""The outbox: one row per thing a member should hear about, written with the change itself.

Each function is called inside the unit of work that makes the change (the daily job's chunk,
the warehouse report), so the notification commits or rolls back with it. Rows are unique by a
key naming what they are about, so a rerun of the daily job adds nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from jifen.domain.entitlements import Entitlement
from jifen.domain.tiers import TierDecision
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.mall_repository import MallOrder


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


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
