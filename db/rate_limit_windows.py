"""Sliding window counters in `rate_limit_windows`: one statement per hit, shared by every
API process. The arithmetic of the strategy lives in services/postgres_rate_limits.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# The stored counts seen from window :window. Another host's clock a little ahead may have
# moved the row to the next window already: it is then taken as this one (>=), never reset.
_PREVIOUS = """CASE WHEN w.window_index >= :window THEN w.previous_count
                    WHEN w.window_index = :window - 1 THEN w.current_count ELSE 0 END"""
_CURRENT = "CASE WHEN w.window_index >= :window THEN w.current_count ELSE 0 END"

# The row lock ON CONFLICT takes makes check-and-count atomic across processes. A refused
# hit fails the WHERE: no row comes back and nothing is written.
_ACQUIRE = text(f"""
    INSERT INTO rate_limit_windows AS w
           (key, window_index, previous_count, current_count, expires_at)
    VALUES (:key, :window, 0, :amount, :expires_at)
    ON CONFLICT (key) DO UPDATE SET
        window_index = GREATEST(w.window_index, :window),
        previous_count = {_PREVIOUS},
        current_count = {_CURRENT} + :amount,
        expires_at = GREATEST(w.expires_at, :expires_at)
    WHERE floor(({_PREVIOUS}) * :previous_weight + {_CURRENT}) + :amount <= :limit
    RETURNING true
""")


@dataclass(frozen=True)
class Stored:
    window_index: int
    previous_count: int
    current_count: int


async def acquire(conn: AsyncConnection, *, key: str, window: int, previous_weight: float,
                  amount: int, limit: int, expires_at: datetime) -> bool:
    """Count `amount` hits in window `window` unless that passes `limit`; whether it did."""
    found = await conn.execute(_ACQUIRE, {
        "key": key, "window": window, "previous_weight": previous_weight, "amount": amount,
        "limit": limit, "expires_at": expires_at})
    return found.first() is not None


async def read(conn: AsyncConnection, *, key: str) -> Stored | None:
    row = (await conn.execute(text(
        "SELECT window_index, previous_count, current_count FROM rate_limit_windows "
        "WHERE key = :key"), {"key": key})).first()
    return Stored(*row) if row else None


async def clear(conn: AsyncConnection, *, key: str) -> None:
    await conn.execute(text("DELETE FROM rate_limit_windows WHERE key = :key"), {"key": key})


async def prune(conn: AsyncConnection, *, now: datetime) -> int:
    """Forget keys no hit has touched for two windows: they count nothing any more."""
    gone = await conn.execute(text("DELETE FROM rate_limit_windows WHERE expires_at < :now"),
                              {"now": now})
    return gone.rowcount or 0
