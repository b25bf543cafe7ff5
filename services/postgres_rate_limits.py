"""A `limits` storage in PostgreSQL: the default, so that every API process (and host)
counts against one budget with nothing but the database the help desk already has.

Sliding window counter only (services/rate_limits.py says why): two counts per key, one
statement per hit on a connection of its own in autocommit, so the row lock lasts that
statement, not the request's transaction. Redis remains the choice for many hosts under
heavy load (HELPDESK_RATE_LIMIT_STORAGE=redis://...).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from limits.aio.storage import SlidingWindowCounterSupport, Storage
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db import rate_limit_windows
from db.engine import CONNECT_TIMEOUT_SECONDS

# A check waits this long for one of the few connections; the request then goes through
# (rate limits fail open) rather than waiting on a limit.
POOL_TIMEOUT_SECONDS = 2
POOL_SIZE = 4
PRUNE_EVERY_SECONDS = 300.0


def rate_limit_engine(url: URL) -> AsyncEngine:
    """A few connections of their own, in autocommit. No pre-ping: it would double the round
    trips of every check; a dropped connection fails one check (open) and is replaced."""
    return create_async_engine(
        url, pool_size=POOL_SIZE, max_overflow=0, pool_timeout=POOL_TIMEOUT_SECONDS,
        isolation_level="AUTOCOMMIT", hide_parameters=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})


class PostgresSlidingWindows(Storage, SlidingWindowCounterSupport):
    STORAGE_SCHEME = None  # built with an engine, never from a URI string

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__()
        self.engine = engine
        self._pruned_at = time.monotonic()

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return (SQLAlchemyError, OSError)

    async def acquire_sliding_window_entry(self, key: str, limit: int, expiry: int,
                                           amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()
        window, weight = _window_at(now, expiry)
        async with self.engine.connect() as conn:
            counted = await rate_limit_windows.acquire(
                conn, key=key, window=window, previous_weight=weight, amount=amount,
                limit=limit, expires_at=_at((window + 2) * expiry))
            if time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS:
                self._pruned_at = time.monotonic()
                await rate_limit_windows.prune(conn, now=_at(now))
        return counted

    async def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        """(previous count, seconds its weight lasts, current count, seconds it lasts), as
        limits' own storages answer."""
        now = time.time()
        window, weight = _window_at(now, expiry)
        async with self.engine.connect() as conn:
            stored = await rate_limit_windows.read(conn, key=key)
        previous, current = 0, 0
        if stored is not None and stored.window_index >= window:
            previous, current = stored.previous_count, stored.current_count
        elif stored is not None and stored.window_index == window - 1:
            previous = stored.current_count
        left = weight * expiry
        return previous, left if previous else 0.0, current, left + expiry

    async def clear_sliding_window(self, key: str, expiry: int) -> None:
        await self.clear(key)

    async def clear(self, key: str) -> None:
        async with self.engine.connect() as conn:
            await rate_limit_windows.clear(conn, key=key)

    async def check(self) -> bool:
        async with self.engine.connect():
            return True

    # The fixed and moving window strategies are not offered on this storage.
    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("only the sliding window counter is stored in PostgreSQL")

    async def get(self, key: str) -> int:
        raise NotImplementedError("only the sliding window counter is stored in PostgreSQL")

    async def get_expiry(self, key: str) -> float:
        raise NotImplementedError("only the sliding window counter is stored in PostgreSQL")

    async def reset(self) -> int | None:
        raise NotImplementedError("rate limit windows are pruned, not reset")


def _window_at(now: float, expiry: int) -> tuple[int, float]:
    """The fixed window `now` falls in, and how much of it is still to come (0..1]: the
    weight the previous window's hits keep."""
    position = now / expiry
    window = math.floor(position)
    return window, 1.0 - (position - window)


def _at(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
