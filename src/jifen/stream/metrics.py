"""Prometheus figures of the consumer workers: events by outcome, dead letters, and lag.

A worker serves them itself (`jifen consume --metrics-port`); with `PROMETHEUS_MULTIPROC_DIR`
shared with the API's workers they also appear in the API's `/metrics` (docs/operations.md).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CONSUMED = Counter(
    "jifen_stream_events_total",
    "Events taken from the stream by consumer workers, by outcome "
    "(applied, duplicate, dead, retried).",
    ["status"],
)
DEAD_LETTERS = Counter(
    "jifen_stream_dead_letters_total",
    "Events sent to the dead-letter subject, by error code.",
    ["code"],
)
LAG = Gauge(
    "jifen_stream_lag_events",
    "Events waiting in a partition (its consumer's num_pending), as a worker last saw it.",
    ["partition"],
    multiprocess_mode="livemax",
)
BATCH_SECONDS = Gauge(
    "jifen_stream_last_batch_seconds",
    "How long a worker's last batch took to apply and commit.",
    multiprocess_mode="livemax",
)
