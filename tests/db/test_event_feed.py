"""The event feed hands a consumer every event once, even when transactions commit out of
the order their ids were taken in (db/event_feed.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import event_feed
from db.event_feed import FeedEvent
from feeds.runner import drain_once

INSERT = text("INSERT INTO ticket_events (ticket_id, version, payload) "
              "VALUES (:t, :v, '{}'::jsonb) RETURNING id")


class Collector:
    name = "test-collector"

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.fail = False

    async def handle(self, conn: AsyncConnection, events: Sequence[FeedEvent]) -> None:
        if self.fail:
            raise RuntimeError("a dependency is down")
        self.seen.extend(e.id for e in events)


async def drained(engine: AsyncEngine, consumer: Collector, expected: int) -> None:
    """Drain until `expected` events came: the feed holds back while any write transaction
    in the cluster is older than an event (another test's, on a shared server)."""
    handled = 0
    for _ in range(200):
        handled += await drain_once(engine, consumer)
        if handled >= expected:
            break
        await asyncio.sleep(0.05)
    assert handled == expected


async def start(engine: AsyncEngine, consumer: Collector) -> None:
    async with engine.begin() as conn:
        await event_feed.start_consumer(conn, consumer.name)


async def test_an_event_committed_after_a_newer_one_is_still_delivered_once(engine):
    consumer = Collector()
    await start(engine, consumer)
    async with engine.connect() as slow:
        slow_tx = await slow.begin()
        early = (await slow.execute(INSERT, {"t": uuid.uuid4(), "v": 1})).scalar_one()
        async with engine.begin() as quick:
            late = (await quick.execute(INSERT, {"t": uuid.uuid4(), "v": 1})).scalar_one()
        assert early < late

        # The later id has committed, but the earlier one might still: nothing is handed out.
        assert await drain_once(engine, consumer) == 0
        await slow_tx.commit()

    await drained(engine, consumer, 2)
    assert await drain_once(engine, consumer) == 0
    assert consumer.seen == [early, late]


async def test_a_failing_handler_leaves_its_events_for_the_next_try(engine):
    consumer = Collector()
    await start(engine, consumer)
    async with engine.begin() as conn:
        first = (await conn.execute(INSERT, {"t": uuid.uuid4(), "v": 1})).scalar_one()

    consumer.fail = True
    for _ in range(200):
        try:
            await drain_once(engine, consumer)
        except RuntimeError:
            break  # the handler had the event, and failed
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the handler was never given the event")
    consumer.fail = False

    await drained(engine, consumer, 1)
    assert consumer.seen == [first]
    async with engine.connect() as conn:
        assert await event_feed.backlog_age(conn) == {consumer.name: 0.0}


async def behind_every_running_transaction(engine: AsyncEngine, event_id: int) -> None:
    """Until no transaction older than the event's runs anywhere in the cluster: only then
    is the event behind the start of a new consumer (it starts at the oldest one running,
    another test's on a shared server, so as to miss nothing committed after it)."""
    past = text("SELECT tx < pg_snapshot_xmin(pg_current_snapshot()) FROM ticket_events "
                "WHERE id = :id")
    for _ in range(200):
        async with engine.connect() as conn:
            if await conn.scalar(past, {"id": event_id}):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("a transaction older than the event kept running")


async def test_a_new_consumer_starts_at_the_feeds_present_end(engine):
    async with engine.begin() as conn:
        before = (await conn.execute(INSERT, {"t": uuid.uuid4(), "v": 1})).scalar_one()
    await behind_every_running_transaction(engine, before)
    consumer = Collector()
    await start(engine, consumer)
    async with engine.begin() as conn:
        after = (await conn.execute(INSERT, {"t": uuid.uuid4(), "v": 1})).scalar_one()

    await drained(engine, consumer, 1)
    assert consumer.seen == [after]
