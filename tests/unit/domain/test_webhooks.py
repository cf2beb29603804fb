"""The webhook signature and the retry schedule, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jifen.domain.webhooks import (
    RetryPolicy,
    backoff,
    is_accepted,
    next_attempt,
    sign,
    verify_signature,
)

SECRET = "whsec_test"  # noqa: S105 - a test's own secret
TIMESTAMP = "1735689600"  # 2025-01-01 00:00:00 UTC
SIGNED_AT = datetime(2025, 1, 1, tzinfo=UTC)
BODY = b'{"id":1}'


def test_the_signature_is_v1_and_the_hex_hmac_of_timestamp_dot_body():
    # printf '1735689600.{"id":1}' | openssl dgst -sha256 -hmac whsec_test
    expected = "8f1a3fef95ed7ec5882c49a5fe0c74a2b97c46d13fde2e873ded26a7699530e8"
    assert sign(SECRET, TIMESTAMP, BODY) == f"v1={expected}"


def test_a_receiver_accepts_the_request_as_signed():
    signature = sign(SECRET, TIMESTAMP, BODY)
    assert verify_signature(SECRET, TIMESTAMP, BODY, signature, SIGNED_AT + timedelta(seconds=3))


@pytest.mark.parametrize(
    ("secret", "timestamp", "body"),
    [
        (SECRET, TIMESTAMP, b'{"id":2}'),  # body changed
        (SECRET, "1735689601", BODY),  # timestamp changed
        ("whsec_other", TIMESTAMP, BODY),  # another endpoint's secret
    ],
)
def test_a_receiver_rejects_anything_tampered_with(secret: str, timestamp: str, body: bytes):
    signature = sign(SECRET, TIMESTAMP, BODY)
    assert not verify_signature(secret, timestamp, body, signature, SIGNED_AT)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [(None, "v1=00"), (TIMESTAMP, None), ("", "v1=00"), ("-5", "v1=00"), ("1" * 13, "v1=00")],
)
def test_missing_or_malformed_headers_are_rejected(timestamp: str | None, signature: str | None):
    assert not verify_signature(SECRET, timestamp, BODY, signature, SIGNED_AT)


def test_a_request_signed_more_than_five_minutes_away_is_rejected():
    signature = sign(SECRET, TIMESTAMP, BODY)
    five = timedelta(minutes=5)
    assert verify_signature(SECRET, TIMESTAMP, BODY, signature, SIGNED_AT + five)
    assert verify_signature(SECRET, TIMESTAMP, BODY, signature, SIGNED_AT - five)
    late = SIGNED_AT + five + timedelta(seconds=1)
    assert not verify_signature(SECRET, TIMESTAMP, BODY, signature, late)
    wider = timedelta(minutes=10)
    assert verify_signature(SECRET, TIMESTAMP, BODY, signature, late, tolerance=wider)


POLICY = RetryPolicy(max_attempts=8, base=timedelta(seconds=30), cap=timedelta(hours=6))


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [
        (1, 15, 30),  # 30 s, jittered to between half and all of it
        (2, 30, 60),
        (3, 60, 120),
        (7, 960, 1920),  # 30 × 2⁶ = 1,920 s
        (10, 7_680, 15_360),  # 30 × 2⁹ = 15,360 s, still under the 6 h cap
        (11, 10_800, 21_600),  # 30 × 2¹⁰ = 30,720 s, capped at 6 h = 21,600 s
    ],
)
def test_waits_double_with_jitter_between_half_and_all(attempt: int, low: int, high: int):
    for delivery_id in range(1, 200):
        wait = backoff(POLICY, delivery_id=delivery_id, attempt=attempt).total_seconds()
        assert low <= wait <= high


def test_the_cap_bounds_the_wait():
    for delivery_id in range(1, 50):
        wait = backoff(POLICY, delivery_id=delivery_id, attempt=20)
        assert timedelta(hours=3) <= wait <= timedelta(hours=6)


def test_the_jitter_is_fixed_by_the_delivery_and_spreads_deliveries_apart():
    first = [backoff(POLICY, delivery_id=d, attempt=3) for d in range(1, 101)]
    again = [backoff(POLICY, delivery_id=d, attempt=3) for d in range(1, 101)]
    assert first == again
    assert len(set(first)) > 30  # 61 possible seconds; 100 deliveries do not bunch on a few


def test_a_delivery_is_dead_after_the_last_attempt():
    failed_at = SIGNED_AT
    retry = next_attempt(POLICY, delivery_id=7, attempts=1, failed_at=failed_at)
    assert retry == failed_at + backoff(POLICY, delivery_id=7, attempt=1)
    assert next_attempt(POLICY, delivery_id=7, attempts=7, failed_at=failed_at) is not None
    assert next_attempt(POLICY, delivery_id=7, attempts=8, failed_at=failed_at) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"max_attempts": 0},
        {"base": timedelta(0)},
        {"base": timedelta(minutes=5), "cap": timedelta(minutes=1)},
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(fields: dict[str, object]):
    with pytest.raises(ValueError, match="retry policy"):
        RetryPolicy(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "accepted"), [(200, True), (204, True), (299, True), (301, False), (500, False)]
)
def test_only_2xx_counts_as_accepted(status: int, accepted: bool):
    assert is_accepted(status) is accepted
    assert not is_accepted(None)
