"""Async engine construction, in one place, from a database URL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from settings import to_sqlalchemy_url

# A server that accepts the connection but never answers (frozen, overloaded) must not hold
# a request for ever: connecting gives up after this, and so does waiting for a pooled
# connection when all are taken. Either ends as 503 database-unavailable (api/problems.py).
CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10


def make_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        to_sqlalchemy_url(database_url), pool_size=pool_size, max_overflow=pool_size,
        pool_pre_ping=True, pool_timeout=POOL_TIMEOUT_SECONDS,
        # Errors (in logs, in a failed activity's Temporal history) show the statement but
        # not its parameters: those are customer text, and can be megabytes of it.
        hide_parameters=True,
        connect_args={
            # Sessions in UTC whatever the server's default: reads then render timestamps
            # like the workflow's answers do ("...Z"), not in the server's local offset.
            "options": "-c timezone=UTC",
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        },
    )
