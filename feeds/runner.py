"""Runs the event feed's consumers: each polls its feed, hands a batch to its handler and
advances its cursor in the same transaction, so a handler's database writes happen exactly
once per event. A handler that raises rolls the batch back; it is retried after a pause
(the failure is logged and counted), so a down dependency delays a consumer, never skips
events. Handlers should be quick: they record work and start Temporal workflows (ids
derived from the event, so a retried batch starts nothing twice); slow or failing delivery
belongs in those workflows' activities, with their retries. A handler raises only for what
a retry can fix (database or Temporal unreachable); an event it can never act on is recorded
as failed by the handler itself, or it would hold its feed up for good.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import event_feed
from db.event_feed import FeedEvent

log = logging.getLogger("helpdesk.feeds")

POLL_SECONDS = 0.5
RETRY_SECONDS = 5.0


class FeedConsumer(Protocol):
    # Its cursor's name: stable across releases (renaming it starts the feed afresh).
    name: str

    async def handle(self, conn: AsyncConnection, events: Sequence[FeedEvent]) -> None:
        """Act on `events` (in feed order) inside the batch's transaction."""


async def drain_once(engine: AsyncEngine, consumer: FeedConsumer, limit: int = 200) -> int:
    """Handle one batch; how many events it held (0: caught up, or another process holds the
    cursor)."""
    async with engine.begin() as conn:
        events = await event_feed.claim_batch(conn, consumer.name, limit)
        if not events:
            return 0
        await consumer.handle(conn, events)
        await event_feed.advance(conn, consumer.name, events[-1])
    return len(events)


async def run_consumer(engine: AsyncEngine, consumer: FeedConsumer,
                       poll_seconds: float = POLL_SECONDS) -> None:
    """Follow the feed until cancelled."""
    async with engine.begin() as conn:
        await event_feed.start_consumer(conn, consumer.name)
    while True:
        try:
            handled = await drain_once(engine, consumer)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("event feed: consumer %s failed; retrying in %.0f s",
                          consumer.name, RETRY_SECONDS)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        if handled == 0:
            await asyncio.sleep(poll_seconds)


class FeedRunners:
    """The consumers as background tasks: `async with FeedRunners(engine, consumers):`.
    `loops` are other followers of the database run beside them (each loops until
    cancelled and handles its own failures), e.g. the notice dispatcher."""

    def __init__(self, engine: AsyncEngine, consumers: Sequence[FeedConsumer],
                 loops: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()) -> None:
        self.engine = engine
        self.consumers = consumers
        self.loops = loops
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> FeedRunners:
        self._tasks = [asyncio.create_task(run_consumer(self.engine, c), name=f"feed:{c.name}")
                       for c in self.consumers]
        self._tasks += [asyncio.create_task(loop()) for loop in self.loops]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
