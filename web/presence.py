"""Who else is on a ticket's page, live: "Lee Chen is viewing", "Lee Chen is replying".

Design: each tab's heartbeat is a row in PostgreSQL (db/presence.py, services/presence.py),
and each API process runs one `PresenceHub` that reads the rows of the tickets its streams
watch, once a second, and tells each ticket's streams when who-is-there changed. Why:

- Several API processes serve one desk, and two agents on one ticket may be served by two of
  them: presence must live where every process reads it, and the database is that place
  (process memory is not; a NOTIFY alone is not either, see the next point).
- A crashed tab sends nothing, so expiry needs a clock in any case; one read a second sees
  arrivals, changes and expiries alike, and has no notification to lose.
- The cost is one indexed query a second per process, whatever the number of viewers, and
  nothing at all while no ticket page is open (the hub's task ends with its last stream).

A heartbeat this process handles wakes its hub at once, so viewers served by the same
process see it immediately; others within POLL_SECONDS. The events ride on the ticket's own
stream (web/pages/live.py): one connection per ticket page, as browsers allow only six per
site over HTTP/1.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import timedelta
from typing import Any, TypeVar

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import ServerSentEvent

from db import presence
from db.presence import Present
from services.presence import EXPIRY

POLL_SECONDS = 1.0
SWEEP_EVERY_SECONDS = 300.0
SWEEP_AFTER = timedelta(hours=1)
log = logging.getLogger("helpdesk.web")
T = TypeVar("T")


class PresenceHub:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.current: dict[uuid.UUID, tuple[Present, ...]] = {}
        self._watchers: dict[uuid.UUID, set[asyncio.Event]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._swept_at = 0.0

    def watch(self, ticket_id: uuid.UUID) -> asyncio.Event:
        """An event set whenever who is on the ticket changes (and once it is first known)."""
        changed = asyncio.Event()
        if ticket_id in self.current:
            changed.set()
        self._watchers.setdefault(ticket_id, set()).add(changed)
        self.poke()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return changed

    def unwatch(self, ticket_id: uuid.UUID, changed: asyncio.Event) -> None:
        watchers = self._watchers.get(ticket_id, set())
        watchers.discard(changed)
        if not watchers:
            self._watchers.pop(ticket_id, None)
            self.current.pop(ticket_id, None)

    def poke(self) -> None:
        """Read now: a heartbeat just changed something."""
        self._wake.set()

    async def _run(self) -> None:
        while self._watchers:  # no await between this check and the end: watch() can restart
            self._wake.clear()
            try:
                await self._read()
                await self._maybe_sweep()
            except Exception as err:  # the database, most likely: the next round retries
                log.warning("presence: reading who is on tickets failed (%s)", err)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    async def _read(self) -> None:
        ticket_ids = list(self._watchers)
        async with self.sessions() as session:
            rows = await presence.present(session=session, ticket_ids=ticket_ids,
                                          expiry=EXPIRY)
        found: dict[uuid.UUID, list[Present]] = {t: [] for t in ticket_ids}
        for row in rows:
            found[row.ticket_id].append(row)
        for ticket_id, now in found.items():
            if self.current.get(ticket_id) != tuple(now) and ticket_id in self._watchers:
                self.current[ticket_id] = tuple(now)
                for changed in self._watchers[ticket_id]:
                    changed.set()

    async def _maybe_sweep(self) -> None:
        if time.monotonic() - self._swept_at < SWEEP_EVERY_SECONDS:
            return
        self._swept_at = time.monotonic()
        async with self.sessions() as session:
            await presence.sweep(session=session, older_than=SWEEP_AFTER)
            await session.commit()


def presence_hub(app: FastAPI) -> PresenceHub:
    hub: PresenceHub | None = getattr(app.state, "presence_hub", None)
    if hub is None:  # no await since the check: one hub per app
        hub = app.state.presence_hub = PresenceHub(app.state.sessions)
    return hub


async def presence_events(hub: PresenceHub, ticket_id: uuid.UUID, me: str | None
                          ) -> AsyncIterator[ServerSentEvent]:
    """`event: presence` with the other agents on the ticket, first as they are, then at
    each change. The agent itself is never among them, whichever of its tabs is there."""
    changed = hub.watch(ticket_id)
    last: list[dict[str, Any]] | None = None
    try:
        while True:
            await changed.wait()
            changed.clear()
            others = [{"name": p.name, "replying": p.replying}
                      for p in sorted(hub.current.get(ticket_id, ()), key=lambda p: p.name)
                      if str(p.agent_id) != me]
            if others != last:
                last = others
                yield ServerSentEvent(event="presence", data=json.dumps({"others": others}))
    finally:
        hub.unwatch(ticket_id, changed)


async def merged(first: AsyncIterable[T], second: AsyncIterable[T]) -> AsyncIterator[T]:
    """The items of both as they come; ends when either ends (a failure ends it too)."""
    queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue(100)

    async def pump(source: AsyncIterable[T]) -> None:
        try:
            async for item in source:
                await queue.put((True, item))
            await queue.put((False, None))
        except Exception as err:  # handed to the consumer, which raises it
            await queue.put((False, err))

    tasks = [asyncio.create_task(pump(first)), asyncio.create_task(pump(second))]
    try:
        while True:
            more, item = await queue.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        for task in tasks:  # cancelling a pump runs its source's own clean-up
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
