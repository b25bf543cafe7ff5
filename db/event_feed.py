"""The event feed: `ticket_events` read once, in commit-safe order, by named consumers.

The live stream reads `ticket_events` by id, which is fine for a screen that can miss a beat.
Webhooks and notifications must see every event once. Ids come from a sequence, and a
transaction that took id 7 may commit after one that took id 8, so reading by id can skip 7
for good. Instead each row carries its writing transaction (`tx`, migration 0024) and a
consumer reads only rows whose transaction is older than every one still running
(`pg_snapshot_xmin`): those have all committed or aborted, so none can appear behind the
cursor later. A consumer's cursor row is locked while it handles a batch, so with several
worker processes one of them reads a feed at a time; the handler's writes and the cursor's
advance commit together.

What it costs: an event waits until older write transactions anywhere in the cluster end
(normally milliseconds). Events older than the live stream's retention are pruned, so a
consumer stopped for longer than that loses them (HELPDESK_LIVE_RETENTION_HOURS).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class FeedEvent:
    """One projected change of a ticket (db/live_events.py writes them)."""

    id: int
    tx: str
    ticket_id: uuid.UUID
    version: int
    created_at: datetime
    team_ids: list[uuid.UUID]
    assignee_ids: list[uuid.UUID]
    public: bool
    # {"ticket": {...summary...}, "actions": [audit actions], "messages": [{id, visibility,
    # author_type}], "customer": {...} when public}: db/live_events.event_payload.
    payload: dict[str, Any]


_LOCK = text("""
    SELECT tx::text, event_id FROM event_feed_cursors WHERE consumer = :consumer
    FOR UPDATE SKIP LOCKED""")
_START = text("""
    INSERT INTO event_feed_cursors (consumer, tx)
    VALUES (:consumer, pg_snapshot_xmin(pg_current_snapshot()))
    ON CONFLICT (consumer) DO NOTHING""")
_READ = text("""
    SELECT id, tx::text, ticket_id, version, created_at, team_ids, assignee_ids, public, payload
    FROM ticket_events
    WHERE (tx, id) > (CAST(:tx AS xid8), :event_id)
      AND tx < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY tx, id
    LIMIT :limit""")
_ADVANCE = text("""
    UPDATE event_feed_cursors SET tx = CAST(:tx AS xid8), event_id = :event_id, updated_at = now()
    WHERE consumer = :consumer""")


async def start_consumer(conn: AsyncConnection, consumer: str) -> None:
    """Create the consumer's cursor at the feed's present end, if it has none yet: a new
    consumer hears of what happens from now on, not of the whole retained history."""
    await conn.execute(_START, {"consumer": consumer})


async def claim_batch(conn: AsyncConnection, consumer: str, limit: int = 200
                      ) -> list[FeedEvent] | None:
    """The next events for `consumer`, its cursor locked until the transaction ends; None
    when another process holds the cursor (it is reading this feed right now)."""
    cursor = (await conn.execute(_LOCK, {"consumer": consumer})).first()
    if cursor is None:
        return None
    rows = await conn.execute(_READ, {"tx": cursor[0], "event_id": cursor[1], "limit": limit})
    return [FeedEvent(*row) for row in rows]


async def advance(conn: AsyncConnection, consumer: str, last: FeedEvent) -> None:
    """Move the cursor past `last` (commits with the transaction that handled the batch)."""
    await conn.execute(_ADVANCE, {"consumer": consumer, "tx": last.tx, "event_id": last.id})


async def backlog_age(conn: AsyncConnection) -> dict[str, float]:
    """Per consumer, the age in seconds of the oldest event it has not handled (0 when it is
    caught up): what /metrics shows operators so a stuck consumer is visible."""
    rows = await conn.execute(text("""
        SELECT c.consumer, COALESCE(EXTRACT(EPOCH FROM now() - (
            SELECT min(e.created_at) FROM ticket_events e
            WHERE (e.tx, e.id) > (c.tx, c.event_id))), 0)
        FROM event_feed_cursors c"""))
    return {name: max(float(seconds), 0.0) for name, seconds in rows}
