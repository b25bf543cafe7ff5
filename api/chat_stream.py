"""The chat widget's stream: its ticket's public messages and status, as they happen.

It rides on the desk's live hub (api/live.py): only events the projection marked public
(a public message, a status change) are taken, and of those only the public messages are
read and sent, as the customer reads them (services/customer_view.py). An internal note
makes no public event, so the stream says nothing at all when one is written.

On connect it first sends the conversation so far (after subscribing, so nothing falls in
between; the widget drops a message it already shows by its id). Its heartbeat records that
the widget is connected (db/chat.py), which decides whether an agent's reply is also mailed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import anyio
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.live import LiveEvent, Subscription, customer_view, live_hub
from db import chat, queries
from db.models import ChatConversation
from services.chat import shown_messages

HEARTBEAT_SECONDS = 10.0  # well inside db/chat.py's CONNECTED_WITHIN


async def conversation_stream(request: Request, conv: ChatConversation, secret_hash: str,
                              online: bool) -> EventSourceResponse:
    hub = await live_hub(request.app)
    ticket_id = str(conv.ticket_id)
    sub = hub.subscribe(lambda e: e.ticket_id == ticket_id and e.public)
    sessions = hub.sessions

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            if not await _beat(sessions, conv, secret_hash, datetime.now(UTC)):
                return
            yield ServerSentEvent(event="hello", data=json.dumps({"online": online}))
            async for item in _so_far(sessions, conv.ticket_id):
                yield item
            async for item in _live(sessions, conv, secret_hash, sub):
                yield item
        finally:
            hub.unsubscribe(sub)
            # The client is gone and this task is being cancelled: the write must still run.
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await _beat(sessions, conv, secret_hash, None)
    return EventSourceResponse(events(), ping=3600)


async def _beat(sessions: async_sessionmaker[AsyncSession], conv: ChatConversation,
                secret_hash: str, seen: datetime | None) -> bool:
    async with sessions() as session:
        return await chat.beat(session=session, conversation_id=conv.id,
                               secret_hash=secret_hash, seen=seen)


async def _so_far(sessions: async_sessionmaker[AsyncSession], ticket_id: uuid.UUID
                  ) -> AsyncIterator[ServerSentEvent]:
    async with sessions() as session:
        row = await queries.get_ticket(session=session, key=str(ticket_id))
        if row is None:
            return
        rows = list(await chat.public_messages(session=session, ticket_id=ticket_id))
        shown = await shown_messages(session, rows, row.public_ref)
    yield _ticket_event({"public_ref": row.public_ref, "status": row.status})
    for message in shown:
        yield ServerSentEvent(event="message", data=json.dumps(message))


async def _live(sessions: async_sessionmaker[AsyncSession], conv: ChatConversation,
                secret_hash: str, sub: Subscription) -> AsyncIterator[ServerSentEvent]:
    while not sub.dropped.is_set():
        try:
            event = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_SECONDS)
        except TimeoutError:
            if not await _beat(sessions, conv, secret_hash, datetime.now(UTC)):
                return  # the secret was replaced: this widget's reconnect meets a 401
            yield ServerSentEvent(comment="heartbeat")
            continue
        async for item in _event_items(sessions, conv.ticket_id, event):
            yield item


async def _event_items(sessions: async_sessionmaker[AsyncSession], ticket_id: uuid.UUID,
                       event: LiveEvent) -> AsyncIterator[ServerSentEvent]:
    seen = customer_view(event)  # the ticket as its customer sees it, public messages only
    ids = [uuid.UUID(m["id"]) for m in seen["messages"]]
    if ids:
        async with sessions() as session:
            rows = list(await chat.public_messages(session=session, ticket_id=ticket_id,
                                                   message_ids=ids))
            shown = await shown_messages(session, rows, seen["ticket"].get("public_ref", ""))
        for message in shown:
            yield ServerSentEvent(event="message", data=json.dumps(message))
    yield _ticket_event({k: seen["ticket"].get(k) for k in ("public_ref", "status")})


def _ticket_event(ticket: dict[str, object]) -> ServerSentEvent:
    return ServerSentEvent(event="ticket", data=json.dumps(ticket))
