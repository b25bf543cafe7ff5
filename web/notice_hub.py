"""Live inbox badges: a notice written for an agent wakes their open workspace pages.

An INSERT into `notifications` NOTIFYs `agent_notices` with the agent's id (a trigger,
migration 0027: every writer is covered, the SLA timers and the feed alike). One hub per API
process LISTENs on a dedicated connection and wakes that agent's streams; a page then
recounts its badge. The payload is only a wake-up: a lost one costs a badge up to its
30-second poll, never a notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

from fastapi import FastAPI

from db.listen import libpq_url, listen_forever
from settings import Settings

log = logging.getLogger("helpdesk.live")
CHANNEL = "agent_notices"


class NoticeHub:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.waiting: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def subscribe(self, agent_id: str) -> asyncio.Event:
        woken = asyncio.Event()
        self.waiting[agent_id].add(woken)
        return woken

    def unsubscribe(self, agent_id: str, woken: asyncio.Event) -> None:
        self.waiting[agent_id].discard(woken)
        if not self.waiting[agent_id]:
            del self.waiting[agent_id]

    def wake(self, agent_id: str) -> None:
        for woken in self.waiting.get(agent_id, ()):
            woken.set()

    async def _listen(self) -> None:
        await listen_forever(self.database_url, CHANNEL, what="inbox badges",
                             on_connect=_nothing_missed, on_note=self.wake)


async def _nothing_missed() -> None:
    """A badge recounts on its page's own poll; a reconnect has nothing to replay."""

def notice_hub(app: FastAPI) -> NoticeHub:
    """The app's hub, started by its first subscriber (the app's lifespan stops it)."""
    hub: NoticeHub | None = getattr(app.state, "notice_hub", None)
    if hub is None:
        settings: Settings = app.state.settings
        hub = app.state.notice_hub = NoticeHub(libpq_url(settings.sqlalchemy_url()))
        hub.start()
    return hub


async def stop_notice_hub(app: FastAPI) -> None:
    hub: NoticeHub | None = getattr(app.state, "notice_hub", None)
    if hub is not None:
        await hub.stop()
