"""Which partitions a worker holds: leases in a JetStream key-value bucket, lapsing unless renewed.

Only the worker holding a partition's lease fetches from it, so a partition's events are applied by
one worker at a time, in order. Workers announce themselves (`worker.<id>`, renewed like a lease)
and each takes up to its share of the partitions (`ceil(partitions / live workers)`), giving back
what is beyond its share between two batches. A worker that dies stops renewing: its leases lapse
after the bucket's TTL and the others take its partitions, starting with the batch it left
un-acked (JetStream delivers it again after the ack wait).
"""

from __future__ import annotations

import logging
import math
import uuid
from time import monotonic

from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError, NoKeysError, NotFoundError
from nats.js.kv import KeyValue

from jifen.stream.streams import StreamNames

log = logging.getLogger(__name__)


class Leases:
    """A worker's partition leases; call `renew` about three times per `ttl`."""

    def __init__(self, names: StreamNames, ttl: float) -> None:
        self.names, self.ttl = names, ttl
        self.worker = uuid.uuid4().hex[:12]
        self.held: dict[int, int] = {}  # partition → the revision of our lease
        self.share = names.partitions
        self.kv: KeyValue | None = None
        self.confirmed = -math.inf  # when the last renewal of every lease began (monotonic)

    async def open(self, js: JetStreamContext) -> None:
        """Bind to the bucket, creating it on first use."""
        bucket = f"{self.names.stream}_LEASES"
        try:
            self.kv = await js.key_value(bucket)
        except NotFoundError:
            self.kv = await js.create_key_value(
                bucket=bucket, ttl=self.ttl, history=1, replicas=self.names.replicas
            )

    def holds(self, partition: int) -> bool:
        """Whether this worker may fetch from `partition` now.

        Only while its leases were renewed within half their lifetime: a renewal that fails (a
        NATS node away, an election under way) must not leave a worker fetching after its lease
        lapsed in the bucket and another worker took the partition, or both would apply it and
        one member's events would go out of order.
        """
        return partition in self.held and monotonic() - self.confirmed < self.ttl / 2

    def beyond_share(self) -> bool:
        """Whether this worker holds more than its share (so should give one back)."""
        return len(self.held) > self.share

    async def renew(self) -> None:
        """Renew our leases (dropping those lost), recount the workers, take free partitions."""
        kv = self._kv()
        began = monotonic()  # the bucket counts each lease's lifetime from after this
        await kv.put(f"worker.{self.worker}", b"")
        try:
            workers = sum(1 for key in await kv.keys() if key.startswith("worker."))
        except NoKeysError:
            workers = 1
        self.share = math.ceil(self.names.partitions / max(workers, 1))
        for partition, revision in list(self.held.items()):
            try:
                self.held[partition] = await kv.update(
                    _key(partition), self.worker.encode(), last=revision
                )
            except KeyWrongLastSequenceError:
                log.warning("partition %d: lease lost (this worker was too slow)", partition)
                del self.held[partition]
        self.confirmed = began
        for partition in range(self.names.partitions):
            if len(self.held) >= self.share:
                break
            if partition in self.held:
                continue
            try:
                self.held[partition] = await kv.create(_key(partition), self.worker.encode())
            except KeyWrongLastSequenceError:
                continue  # another worker's

    async def release(self, partition: int) -> None:
        """Give a partition back (between batches), for another worker to take."""
        revision = self.held.pop(partition, None)
        if revision is not None:
            try:
                await self._kv().delete(_key(partition), last=revision)
            except Exception as error:  # noqa: BLE001 - it lapses by itself then
                log.warning("partition %d: lease not released: %r", partition, error)

    async def release_all(self) -> None:
        """Give every partition back and leave (a worker stopping)."""
        for partition in list(self.held):
            await self.release(partition)
        try:
            await self._kv().delete(f"worker.{self.worker}")
        except Exception as error:  # noqa: BLE001 - it lapses by itself then
            log.warning("worker %s not removed: %r", self.worker, error)

    def _kv(self) -> KeyValue:
        if self.kv is None:
            msg = "open the leases first"
            raise RuntimeError(msg)
        return self.kv


def _key(partition: int) -> str:
    return f"p.{partition}"
