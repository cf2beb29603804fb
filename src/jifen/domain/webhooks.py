"""Webhook rules: topics, the v1 signature, and when a failed delivery is tried again.

Pure: no I/O and no clock. `sign` and `verify_signature` use only the standard library, so a
receiver can copy them as they are (docs/webhooks.md shows them).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TOPICS = (
    "points.expiring",
    "tier.changed",
    "beneficiary.effective",
    "order.shipped",
    "points.credited",
    "redemption.issued",
    "redemption.cancelled",
    "member.frozen",
    "tier.expiring",
    "entitlement.issued",
)
"""Every topic a notification can have (SPEC §8)."""

SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = timedelta(minutes=5)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Jifen-Signature` value: `v1=` and the hex HMAC-SHA256 of `timestamp.body`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    now: datetime,
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> bool:
    """True when `signature` is `sign(secret, timestamp, body)` and `timestamp` is near `now`.

    `timestamp` is the `X-Jifen-Timestamp` header (Unix seconds) and `signature` the
    `X-Jifen-Signature` header; `body` the raw request body, byte for byte. A request signed more
    than `tolerance` away from `now` is refused, so a captured request cannot be replayed later.
    """
    if not timestamp or not signature or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.strip()):
        return False
    signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    return abs(now - signed_at) <= tolerance


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a delivery is tried: `max_attempts` in all, waits doubling from `base` to `cap`."""

    max_attempts: int = 12
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=6)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base <= timedelta(0) or self.cap < self.base:
            msg = f"A retry policy needs max_attempts >= 1 and 0 < base <= cap: {self!r}"
            raise ValueError(msg)


def backoff(policy: RetryPolicy, *, delivery_id: int, attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based) of a delivery.

    Exponential (`base`, 2×, 4×… up to `cap`) with "equal jitter": between half and all of that,
    the share fixed by a hash of the delivery id and attempt, so deliveries that failed together
    spread out, and the same delivery always gets the same schedule (tests can compute it).
    """
    exponential = min(policy.cap, policy.base * 2 ** min(attempt - 1, 32))
    digest = hashlib.sha256(f"{delivery_id}:{attempt}".encode()).digest()
    share = int.from_bytes(digest[:8], "big") / 2**64  # in [0, 1)
    seconds = int(exponential.total_seconds())
    return timedelta(seconds=seconds // 2 + int(share * (seconds - seconds // 2)))


def next_attempt(
    policy: RetryPolicy, *, delivery_id: int, attempts: int, failed_at: datetime
) -> datetime | None:
    """When to try again after `attempts` failed tries; None when the delivery is dead."""
    if attempts >= policy.max_attempts:
        return None
    return failed_at + backoff(policy, delivery_id=delivery_id, attempt=attempts)


def is_accepted(status: int | None) -> bool:
    """A receiver accepted a delivery when it answered 2xx."""
    return status is not None and 200 <= status < 300
