"""An open-loop HTTP/1.1 load generator on asyncio: requests go out on a fixed schedule.

Request `i` is due at `t0 + i / rate`, whether or not earlier requests have been answered, and
its latency is measured from that due time, not from when it was actually written. A slow
server therefore cannot slow the load down and hide its own queue (coordinated omission): a
stall shows in the latency of every request due during it.

Each simulated client has its own API key and its own keep-alive connections, opened as needed
up to `connections` per client; a request that waits for one of them waits on the clock. A
request not answered `timeout` seconds after its due time has failed. The client is minimal
(no TLS, Content-Length or chunked bodies) so that its own cost stays small beside the
server's; `Run.send_lag_p99` shows how late the generator itself was.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.report import percentile

FAILED = math.inf


@dataclass(frozen=True, slots=True)
class Request:
    """One prepared request: the client (key) that sends it and its bytes on the wire."""

    client: int
    wire: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    """One request's fate: HTTP status (0 when none came), body, latency and send lag."""

    status: int
    body: bytes
    latency: float  # seconds from the due time to the last byte of the answer
    lag: float  # seconds from the due time to the generator starting to send
    error: str | None = None


@dataclass
class Run:
    """Answers in schedule order, with the offered rate and the run's wall time."""

    rate: float
    answers: list[Answer]
    seconds: float  # first due time to the last answer
    client_cpu: float  # CPU seconds the generator's process used during the run
    accept: Callable[[bytes], bool] = lambda _body: True  # does a 2xx body count as done?

    def ok(self, answer: Answer) -> bool:
        """A 2xx answer within the timeout, whose body the workload accepts."""
        return answer.error is None and 200 <= answer.status < 300 and self.accept(answer.body)

    @property
    def succeeded(self) -> int:
        """Answers that count as done."""
        return sum(self.ok(a) for a in self.answers)

    @property
    def failed(self) -> int:
        """Errors, timeouts and non-2xx answers (429 included)."""
        return len(self.answers) - self.succeeded

    @property
    def achieved(self) -> float:
        """Successful answers per second of the run."""
        return self.succeeded / self.seconds

    def latency(self, q: float) -> float:
        """The q-quantile latency in seconds; a failed request counts as infinitely slow."""
        return percentile([a.latency if self.ok(a) else FAILED for a in self.answers], q)

    def answered_latency(self, q: float) -> float:
        """The q-quantile latency of the successful requests alone, in seconds."""
        return percentile([a.latency for a in self.answers if self.ok(a)], q)

    @property
    def send_lag_p99(self) -> float:
        """How late the generator sent its 99th-percentile request (its own saturation)."""
        return percentile([a.lag for a in self.answers], 0.99)


def http_request(method: str, path: str, *, host: str, token: str, body: bytes = b"") -> bytes:
    """The bytes of one HTTP/1.1 keep-alive request."""
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Authorization: Bearer {token}"]
    if body or method == "POST":
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


class Connection:
    """One keep-alive connection: write a request, read one answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        """Connect."""
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, wire: bytes) -> tuple[int, bytes, bool]:
        """`(status, body, keep_alive)` for one request."""
        self.writer.write(wire)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, keep = None, False, True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                keep = value != b"close"
        if chunked:
            return status, await self._chunks(), keep
        if length is None:
            return status, await self.reader.read(), False
        return status, await self.reader.readexactly(length), keep

    async def _chunks(self) -> bytes:
        body = bytearray()
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await self.reader.readexactly(size + 2)
            if not size:
                return bytes(body)
            body += chunk[:-2]

    def close(self) -> None:
        """Close without waiting."""
        self.writer.close()


class Client:
    """One API key's connections: idle ones are reused, at most `limit` at a time."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(limit)

    async def send(self, wire: bytes) -> tuple[int, bytes]:
        """Send on an idle connection (or a new one); retry once if a reused one was closed."""
        async with self.slots:
            for attempt in (1, 2):
                reused = bool(self.idle) and attempt == 1
                connection = (
                    self.idle.pop() if reused else await Connection.open(self.host, self.port)
                )
                try:
                    status, body, keep = await connection.exchange(wire)
                except (asyncio.IncompleteReadError, ConnectionError):
                    connection.close()
                    if reused:
                        continue  # the server closed an idle connection; try a fresh one
                    raise
                except BaseException:
                    connection.close()
                    raise
                if keep:
                    self.idle.append(connection)
                else:
                    connection.close()
                return status, body
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        """Close every idle connection."""
        for connection in self.idle:
            connection.close()
        self.idle.clear()


async def open_loop(
    requests: Sequence[Request],
    *,
    host: str,
    port: int,
    rate: float,
    timeout: float,
    connections: int,
) -> Run:
    """Send `requests` at `rate` per second on a fixed schedule; every answer, in order.

    Times come from `time.perf_counter`, not the loop's clock: uvloop's clock has millisecond
    steps and is read once per loop iteration, too coarse for latencies of a few ms.
    """
    clock = time.perf_counter
    clients = [Client(host, port, connections) for _ in range(max(r.client for r in requests) + 1)]
    answers: list[Answer | None] = [None] * len(requests)

    async def one(index: int, due: float) -> None:
        request = requests[index]
        lag = clock() - due
        try:
            async with asyncio.timeout(due + timeout - clock()):
                status, body = await clients[request.client].send(request.wire)
        except TimeoutError:
            answers[index] = Answer(0, b"", clock() - due, lag, "timeout")
            return
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            answers[index] = Answer(0, b"", clock() - due, lag, type(error).__name__)
            return
        answers[index] = Answer(status, body, clock() - due, lag)

    cpu = time.process_time()
    start = clock() + 0.05
    tasks = []
    for index in range(len(requests)):
        due = start + index / rate
        if (wait := due - clock()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    seconds = clock() - start
    for client in clients:
        client.close()
    done = [a for a in answers if a is not None]
    return Run(rate, done, seconds, time.process_time() - cpu)
