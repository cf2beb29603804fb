"""Fulfilment: the warehouse adapter that orders are posted to, and its signed webhook reports."""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from jifen.domain.calendar import local_datetime
from jifen.domain.errors import JifenError, NotFound
from jifen.domain.orders import OrderAction, OrderState, order_after
from jifen.programs.schema import Program
from jifen.services import journal
from jifen.services.notifications import outbox
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.mall_repository import MallOrder

WAREHOUSE_SECRET_ENV = "JIFEN_WAREHOUSE_SECRET"  # noqa: S105 - the variable's name
EMBEDDED_WAREHOUSE_SECRET = "jifen-embedded-warehouse-secret"  # noqa: S105 - documented default
"""The secret when `JIFEN_WAREHOUSE_SECRET` is not set: fine for the embedded setup, never for
a server a real warehouse can reach."""
SIGNATURE_TOLERANCE = timedelta(minutes=5)
REPORTED_STATUSES = ("shipped", "delivered")


class BadSignature(JifenError):
    """A webhook whose signature does not match its timestamp and body."""

    code = "bad_signature"
    status = 401


class SignatureExpired(JifenError):
    """A webhook signed more than five minutes away from when it arrived (real time)."""

    code = "signature_expired"
    status = 401


class WarehouseAdapter(Protocol):
    """Where paid goods orders go to be picked, packed and shipped."""

    def submit(self, order: MallOrder) -> dict[str, Any]:
        """Hand the order over; returns what to keep in the order's fulfilment record.

        Called inside the order's transaction: an adapter that talks to a remote warehouse
        queues the request (an outbox) rather than calling out before the order commits.
        """
        ...


class InProcessWarehouse:
    """The built-in warehouse: keeps the request it hands over in the order's record.

    The warehouse side is whoever calls the signed webhook with `shipped` or `delivered`.
    """

    name = "in_process"

    def submit(self, order: MallOrder) -> dict[str, Any]:
        """The request as a warehouse would receive it, and when it was handed over."""
        return {
            "adapter": self.name,
            "submitted_at": order.created_at.isoformat(),
            "request": {
                "order_id": order.id,
                "member_id": order.member_id,
                "sku": order.sku,
                "quantity": order.quantity,
            },
        }


def warehouse_secret() -> str:
    """The webhook secret: `JIFEN_WAREHOUSE_SECRET`, or the embedded default when unset."""
    return os.environ.get(WAREHOUSE_SECRET_ENV) or EMBEDDED_WAREHOUSE_SECRET


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `timestamp + "." + body` under `secret`."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(
    *,
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    received_at: datetime,
) -> None:
    """Refuse a webhook unless signed with `secret` within five minutes of `received_at`.

    `timestamp` is Unix seconds (header `X-Jifen-Timestamp`), `signature` the hex HMAC from
    `sign` (header `X-Jifen-Signature`). `received_at` is the real time the request arrived,
    never a sandbox clock: the window is there to stop replays, which happen in real time. The
    signature is checked before the time, so a caller without the secret learns nothing about
    the clock.
    """
    if not timestamp or not signature or not timestamp.isdigit() or len(timestamp) > 12:
        raise BadSignature(
            "Send X-Jifen-Timestamp (Unix seconds) and X-Jifen-Signature "
            "(hex HMAC-SHA256 of timestamp + '.' + body)."
        )
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.strip().lower()):
        raise BadSignature("The signature does not match the timestamp and body.")
    sent = datetime.fromtimestamp(int(timestamp), UTC)
    if abs(received_at - sent) > SIGNATURE_TOLERANCE:
        raise SignatureExpired(
            f"The request was signed at {sent.isoformat()}, more than 5 minutes from when it "
            f"arrived ({received_at.astimezone(UTC).isoformat()}, real time); sign it with "
            "the current time and resend.",
            signed_at=sent.isoformat(),
        )


def record_warehouse_report(
    uow: UnitOfWork,
    *,
    program: Program,
    order_id: str,
    status: str,
    tracking: str | None,
    now: datetime,
) -> MallOrder:
    """Record a `shipped` or `delivered` report; either makes a paid order `fulfilled`.

    A resent report changes nothing. A report on a cancelled order raises `OrderCancelled`.
    `now` is the instant; the report is kept at the program's local time.
    """
    now = local_datetime(now, program.timezone)
    with uow:
        order = uow.mall.get_order(order_id, lock=True)
        if order is None:
            raise NotFound(f"No mall order {order_id!r}.", order_id=order_id)
        fulfilled = order_after(OrderState(order.status), OrderAction.FULFIL, order_id=order_id)
        reports = list(order.fulfilment.get("reports", []))
        if any(r["status"] == status and r.get("tracking") == tracking for r in reports):
            return order
        reports.append({"status": status, "tracking": tracking, "at": now.isoformat()})
        fulfilment = {**order.fulfilment, "reports": reports}
        if tracking is not None:
            fulfilment["tracking"] = tracking
        uow.mall.update_order(order_id, status=fulfilled, fulfilment=fulfilment, at=now)
        if status == "shipped":
            outbox.order_shipped(uow, order=order, tracking=tracking, at=now)
        updated = uow.mall.get_order(order_id)
        journal.record(
            uow,
            "record_warehouse_report",
            at=now,
            order_id=order_id,
            status=status,
            tracking=tracking,
        )
        uow.commit()
    assert updated is not None  # noqa: S101 - just updated
    return updated
