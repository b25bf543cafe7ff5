"""Reading server-sent event streams in tests: the app on a real socket, a stream's events.

ASGITransport buffers a response until it ends, and a stream never ends: the `live` fixture
(conftest.py) serves the same app on a loopback socket for the streams, while commands go
through `http`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import make_agent
from tests.support import bearer


@dataclass
class Event:
    id: int | None
    event: str
    data: dict[str, Any]
    arrived: float  # time.monotonic() when its last line was read


class Stream:
    """An open event stream, read in the background into a queue the test waits on."""

    def __init__(self, response: httpx.Response) -> None:
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.skipped: list[Event] = []  # what `about` passed over
        self.task = asyncio.create_task(self._read(response))

    async def _read(self, response: httpx.Response) -> None:
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line.startswith(":"):
                continue  # a heartbeat
            if line:
                name, _, value = line.partition(":")
                fields[name] = fields.get(name, "") + value.removeprefix(" ")
                continue
            if "data" in fields:
                await self.events.put(Event(
                    id=int(fields["id"]) if "id" in fields else None,
                    event=fields.get("event", "message"), data=json.loads(fields["data"]),
                    arrived=time.monotonic()))
            fields = {}

    async def next(self, within: float = 10.0) -> Event:
        return await asyncio.wait_for(self.events.get(), within)

    async def about(self, ticket_id: str, within: float = 10.0) -> Event:
        """The next event about this ticket (by id or ref), passing over others."""
        while True:
            event = await self.next(within)
            if event.data.get("ticket", {}).get("ticket_id") == ticket_id \
                    or event.data.get("ticket", {}).get("public_ref") == ticket_id:
                return event
            self.skipped.append(event)

    def pending(self) -> list[Event]:
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out


@asynccontextmanager
async def listening(client: httpx.AsyncClient, path: str, token: str,
                    last_event_id: int | None = None) -> AsyncIterator[Stream]:
    headers = bearer(token) | ({"Last-Event-ID": str(last_event_id)}
                               if last_event_id is not None else {})
    async with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        try:
            yield stream
        finally:
            stream.task.cancel()


async def pull_only_agent(http: httpx.AsyncClient, engine: AsyncEngine,
                          team: str) -> dict[str, Any]:
    """An agent off shift: push assignment leaves its team's tickets alone (fewer events)."""
    made = await make_agent(http, team=team, email=f"{uuid.uuid4().hex[:12]}@helpdesk.example")
    async with engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE agents SET shift_calendar = 'never-on-shift' "
                                   "WHERE id = %s", (uuid.UUID(made["id"]),))
    return made
