"""How many tickets opened lately: the one query behind degraded mode (services/intake_surge.py).

A range scan of ix_tickets_created_at over the last few minutes: at a surge's 1,000 tickets in
15 minutes it reads a few hundred index entries, whatever the size of the table.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_CREATED_SINCE = text("SELECT count(*) FROM tickets "
                      "WHERE created_at > now() - make_interval(secs => :seconds)")


async def tickets_created_within(*, engine: AsyncEngine, window: timedelta) -> int:
    # Its own short connection, not the request's session: a page's transaction is not held
    # open on this, and the count is the same for every request that shares it.
    async with engine.connect() as conn:
        found = await conn.scalar(_CREATED_SINCE, {"seconds": window.total_seconds()})
    return int(found or 0)
