"""Async engine construction, in one place, from a database URL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from settings import to_sqlalchemy_url


def make_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        to_sqlalchemy_url(database_url), pool_size=pool_size, max_overflow=pool_size,
        pool_pre_ping=True,
        # Sessions in UTC whatever the server's default: reads then render timestamps like
        # the workflow's answers do ("...Z"), not in the server's local offset.
        connect_args={"options": "-c timezone=UTC"},
    )
