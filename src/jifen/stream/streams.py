"""The JetStream side: connecting, and the two streams (events, and their dead letters)."""

from __future__ import annotations

from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from jifen.config import Settings

DUPLICATE_WINDOW = 3600.0  # seconds: a re-publish of an event within an hour is dropped
DEAD_LETTER_DAYS = 90


@dataclass(frozen=True, slots=True)
class StreamNames:
    """Where events go: the stream, its subject prefix, partitions and replicas."""

    url: str
    stream: str = "JIFEN_EVENTS"
    subject: str = "jifen.events"
    partitions: int = 8
    replicas: int = 1

    @classmethod
    def of(cls, settings: Settings) -> StreamNames:
        """The names in `settings`."""
        return cls(
            settings.stream_url,
            settings.stream_name,
            settings.stream_subject,
            settings.stream_partitions,
            settings.stream_replicas,
        )

    @property
    def dead_stream(self) -> str:
        """The stream that keeps dead letters."""
        return f"{self.stream}_DEAD"

    def durable(self, partition: int) -> str:
        """The durable consumer of one partition, shared by every worker."""
        return f"{self.stream}-p{partition}"


async def connect(names: StreamNames) -> tuple[Client, JetStreamContext]:
    """A connection to any of the servers (reconnecting for ever), and its JetStream."""
    client = await nats.connect(
        servers=[url.strip() for url in names.url.split(",") if url.strip()],
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
    )
    return client, client.jetstream(timeout=10)


async def ensure_streams(js: JetStreamContext, names: StreamNames) -> None:
    """Create the events stream and the dead-letter stream unless they exist."""
    wanted = (
        StreamConfig(
            name=names.stream,
            subjects=[f"{names.subject}.*"],
            retention=RetentionPolicy.WORK_QUEUE,  # an event acked is applied: it may go
            storage=StorageType.FILE,
            num_replicas=names.replicas,
            duplicate_window=DUPLICATE_WINDOW,
        ),
        StreamConfig(
            name=names.dead_stream,
            subjects=[f"{names.subject}.dead.*"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=names.replicas,
            max_age=DEAD_LETTER_DAYS * 86400.0,
            duplicate_window=DUPLICATE_WINDOW,
        ),
    )
    for config in wanted:
        try:
            await js.stream_info(config.name)  # type: ignore[arg-type]
        except NotFoundError:
            await js.add_stream(config)
