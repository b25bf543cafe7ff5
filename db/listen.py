"""A PostgreSQL LISTEN that lasts: reconnects with backoff when the connection is lost.

The live ticket stream and the inbox badges each keep one such connection per API process.
`on_connect` runs after every (re)connection, once LISTEN is in place, so whatever was
missed while disconnected can be read without a gap; `on_note` gets each payload.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import psycopg

log = logging.getLogger("helpdesk.listen")

FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 10.0


def libpq_url(sqlalchemy_url: str) -> str:
    """The database URL as psycopg takes it (SQLAlchemy's names its driver)."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


async def listen_forever(database_url: str, channel: str, *, what: str,
                         on_connect: Callable[[], Awaitable[None]],
                         on_note: Callable[[str], None]) -> None:
    """Until cancelled; `what` names the listener in the log when its connection drops."""
    backoff = FIRST_BACKOFF_SECONDS
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(database_url,
                                                             autocommit=True) as conn:
                await conn.execute(f"LISTEN {channel}")
                await on_connect()
                backoff = FIRST_BACKOFF_SECONDS
                async for note in conn.notifies():
                    on_note(note.payload)
        except (OSError, psycopg.Error) as err:
            log.warning("%s: LISTEN connection lost (%s); retrying in %.1fs", what, err,
                        backoff)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
