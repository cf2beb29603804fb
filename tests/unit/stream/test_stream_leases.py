"""A worker fetches from a partition only while its lease is surely still its own."""

from __future__ import annotations

from time import monotonic

from jifen.stream.leases import Leases
from jifen.stream.streams import StreamNames


def _leases(held: dict[int, int], renewed_seconds_ago: float) -> Leases:
    leases = Leases(StreamNames("nats://127.0.0.1:4222"), ttl=30)
    leases.held = dict(held)
    leases.confirmed = monotonic() - renewed_seconds_ago
    return leases


def test_a_lease_renewed_recently_lets_the_worker_fetch():
    assert _leases({3: 7}, renewed_seconds_ago=1).holds(3)


def test_a_partition_never_taken_is_not_fetched():
    assert not _leases({3: 7}, renewed_seconds_ago=1).holds(4)


def test_a_worker_whose_renewals_failed_stops_before_its_lease_could_lapse():
    # The bucket forgets a lease 30 s after its last renewal; the worker stops at half of that,
    # so another worker taking the partition never overlaps with this one.
    assert _leases({3: 7}, renewed_seconds_ago=14).holds(3)
    assert not _leases({3: 7}, renewed_seconds_ago=16).holds(3)


def test_a_worker_that_never_renewed_fetches_nothing():
    leases = Leases(StreamNames("nats://127.0.0.1:4222"), ttl=30)
    leases.held = {0: 1}
    assert not leases.holds(0)
