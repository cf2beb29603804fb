"""How big each workload is, for `--quick` (under a minute) and for the full run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Sizes:
    """Demo members, and the days of ticket purchases and travels they make from 2025-01-01."""

    sqlite_members: int
    sqlite_days: int
    postgres_members: int
    postgres_days: int
    scale_members: int  # the set-based program (benchmarks/scale.py) the daily job runs over
    import_events: int  # `jifen import events` of this many events and of a quarter of them
    stream_events: int  # through the JetStream stream (publish + consume) and imported directly
    raw_repeats: int  # the raw ceiling is written this many times; the median counts
    http_members: int
    http_events_rate: float  # requests per second, offered on a fixed schedule
    http_events_seconds: float
    get_member_rate: float
    get_member_seconds: float
    http_timeout_seconds: float  # a request not answered this long after its slot has failed
    flash_orders: int
    flash_members: int  # orders go round-robin over them
    flash_units: int
    flash_threads: int
    summary_repeats: int
    peer_postings: int  # two-leg postings per mode (online, bulk), hordak and Jifen alike
    peer_members: int  # member accounts the postings go round-robin over
    peer_batch: int  # postings per database transaction in bulk

    def as_dict(self) -> dict[str, Any]:
        """For latest.json."""
        return asdict(self)


QUICK = Sizes(
    sqlite_members=40,
    sqlite_days=30,
    postgres_members=30,
    postgres_days=30,
    scale_members=2_000,
    import_events=1_200,
    stream_events=2_000,
    raw_repeats=3,
    http_members=50,
    http_events_rate=40,
    http_events_seconds=3,
    get_member_rate=200,
    get_member_seconds=2,
    http_timeout_seconds=10,
    flash_orders=1000,
    flash_members=250,
    flash_units=100,
    flash_threads=32,
    summary_repeats=5,
    peer_postings=300,
    peer_members=50,
    peer_batch=100,
)

FULL = Sizes(
    sqlite_members=500,
    sqlite_days=365,
    postgres_members=300,
    postgres_days=365,
    scale_members=1_000_000,
    import_events=100_000,
    stream_events=50_000,
    raw_repeats=5,
    http_members=400,
    http_events_rate=800,
    http_events_seconds=20,
    get_member_rate=200,
    get_member_seconds=30,
    http_timeout_seconds=15,
    flash_orders=1000,
    flash_members=1000,
    flash_units=100,
    flash_threads=32,
    summary_repeats=5,
    peer_postings=5000,
    peer_members=1000,
    peer_batch=1000,
)


def with_overrides(sizes: Sizes, settings: list[str]) -> Sizes:
    """`sizes` with `name=value` settings applied (`--set sqlite_members=5`)."""
    types = {f.name: f.type for f in fields(Sizes)}
    changes: dict[str, Any] = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if name not in types or not value:
            msg = f"--set {setting!r}: write NAME=VALUE with NAME one of {', '.join(types)}."
            raise SystemExit(msg)
        changes[name] = float(value) if types[name] == "float" else int(value)
    return replace(sizes, **changes)
