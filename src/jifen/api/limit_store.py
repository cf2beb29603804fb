"""Where rate limits are counted: the `limits` library's moving windows, in Redis or in memory.

`LimitStore("redis://HOST:PORT/DB")` counts in Redis, shared by every worker and server;
`LimitStore("memory://")` in this process. When Redis does not answer within
`STORE_TIMEOUT_SECONDS`, the store fails open to this worker's memory: it logs one warning, calls
`fell_back` for every request counted there, and asks Redis again after `retry_seconds`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

log = logging.getLogger(__name__)
T = TypeVar("T")
STORE_TIMEOUT_SECONDS = 0.25
"""How long a request waits for Redis before it is counted in memory instead."""


class LimitStore:
    """Counts requests in moving windows: in the shared store, or in memory while it is down."""

    def __init__(
        self,
        url: str = "memory://",
        *,
        prefix: str = "jifen",
        retry_seconds: float = 5.0,
        fell_back: Callable[[], Any] = lambda: None,
    ) -> None:
        self.url, self.retry_seconds, self.fell_back = url, retry_seconds, fell_back
        shared = _storage(url, prefix)
        self.shared = MovingWindowRateLimiter(shared)
        self.local = (
            self.shared
            if isinstance(shared, MemoryStorage)
            else MovingWindowRateLimiter(MemoryStorage())
        )
        self.down_until = 0.0  # monotonic; while in the future, the shared store is not asked

    async def hit(self, limit: RateLimitItem, name: str) -> bool:
        """Count a request of `name`; False (and not counted) when it is over `limit`."""
        return await self._ask(lambda counter: counter.hit(limit, name), request=True)

    async def has_room(self, limit: RateLimitItem, name: str) -> bool:
        """Whether `name` may send a request now under `limit`; counts nothing."""
        return await self._ask(lambda counter: counter.test(limit, name))

    async def wait(self, limit: RateLimitItem, name: str) -> float:
        """Seconds until `name` may send its next request under `limit`."""
        stats = await self._ask(lambda counter: counter.get_window_stats(limit, name))
        return max(0.0, stats.reset_time - time.time())  # noqa: TID251 - as `limits` counts

    async def _ask(
        self, question: Callable[[MovingWindowRateLimiter], Awaitable[T]], *, request: bool = False
    ) -> T:
        """`question`'s answer from the shared store, or from memory (counted if a `request`)."""
        if self.local is self.shared or time.monotonic() >= self.down_until:
            try:
                answer = await question(self.shared)
            except StorageError as error:
                if not self.down_until:
                    log.warning(
                        "The rate-limit store %s does not answer (%s): each worker limits in its "
                        "own memory until it does.",
                        _without_password(self.url),
                        error.storage_error,
                    )
                self.down_until = time.monotonic() + self.retry_seconds
            else:
                if self.down_until:
                    log.info("The rate-limit store %s answers again.", _without_password(self.url))
                    self.down_until = 0.0
                return answer
        if request:
            self.fell_back()
        return await question(self.local)


def _storage(url: str, prefix: str) -> Storage:
    """The `limits` async storage at `url` (`memory://`, `redis://HOST:PORT/DB`, `rediss://`...)."""
    scheme, _, rest = url.removeprefix("async+").partition("://")
    options: dict[str, Any] = {}
    if scheme.startswith("redis"):
        options = {
            "implementation": "redispy",
            "key_prefix": prefix,
            "socket_timeout": STORE_TIMEOUT_SECONDS,
            "socket_connect_timeout": STORE_TIMEOUT_SECONDS,
        }
    storage = storage_from_string(f"async+{scheme}://{rest}", wrap_exceptions=True, **options)
    if not isinstance(storage, Storage):  # pragma: no cover - every async+ scheme is async
        msg = f"{url!r} is not a rate-limit store."
        raise TypeError(msg)
    return storage


def _without_password(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", url)
