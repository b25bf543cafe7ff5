"""The agent's inbox (services/notifications.py): its notifications, marking them read, and
the unread count every page's top bar shows."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import DeskDep
from services import notifications
from services.notifications import MarkRead
from web.errors import PageRoute, is_htmx
from web.notice_hub import notice_hub
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app/inbox", route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 25
HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 300.0  # then the browser reconnects, through the session check
# Fired by every mark-read answer: the top bar's badge (base.html) listens and recounts.
READ_EVENT = {"HX-Trigger": "notifications-read"}


@router.get("", response_class=HTMLResponse)
async def inbox_page(request: Request, desk: DeskDep, agent: CurrentAgent, unread: bool = False,
                     cursor: str | None = None) -> Response:
    """Newest first; an htmx request with a cursor ("Older notifications") gets the rows."""
    page = await notifications.list_notifications(desk, agent, unread=unread,
                                                  limit=PAGE_SIZE, cursor=cursor)
    context = {"agent": agent, "page": page, "unread": unread}
    template = "_inbox_items.html" if is_htmx(request) and cursor else "inbox.html"
    return TEMPLATES.TemplateResponse(request, template, context)


@router.get("/unread-count", response_class=HTMLResponse)
async def unread_badge(request: Request, desk: DeskDep, agent: CurrentAgent) -> Response:
    count = await notifications.unread_count(desk, agent)
    return TEMPLATES.TemplateResponse(request, "_unread_count.html", {"count": count.unread})


@router.post("/read", response_class=HTMLResponse)
async def mark_all_read(request: Request, desk: DeskDep, agent: CurrentAgent,
                        unread: Annotated[bool, Form()] = False) -> Response:
    """Every unread notification of the agent's, then the list again from its top."""
    await notifications.mark_read(desk, agent, MarkRead())
    page = await notifications.list_notifications(desk, agent, unread=unread,
                                                  limit=PAGE_SIZE, cursor=None)
    return TEMPLATES.TemplateResponse(request, "_inbox_list.html",
                                      {"page": page, "unread": unread}, headers=READ_EVENT)


@router.post("/{notification_id}/read", response_class=HTMLResponse)
async def mark_one_read(request: Request, desk: DeskDep, agent: CurrentAgent,
                        notification_id: uuid.UUID) -> Response:
    """One notification (another agent's id changes nothing); its row's state becomes Read."""
    await notifications.mark_read(desk, agent, MarkRead(ids=[notification_id]))
    return TEMPLATES.TemplateResponse(request, "_inbox_state.html", {"read": True},
                                      headers=READ_EVENT)


@router.get("/stream")
async def inbox_stream(request: Request, desk: DeskDep, agent: CurrentAgent
                       ) -> EventSourceResponse:
    """`event: unread` whenever a notice is written for the agent (and once on connect: what
    came while the page was away). A stream ends after a while and the browser reconnects,
    which checks the session again."""
    await desk.session.commit()  # the stream must not hold the lookup's connection
    hub = notice_hub(request.app)
    agent_id = str(agent.agent_id)

    async def events() -> AsyncIterator[ServerSentEvent]:
        woken = hub.subscribe(agent_id)
        try:
            yield ServerSentEvent(event="unread", data="")
            deadline = asyncio.get_running_loop().time() + STREAM_SECONDS
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), min(left, HEARTBEAT_SECONDS))
                if woken.is_set():
                    woken.clear()
                    yield ServerSentEvent(event="unread", data="")
        finally:
            hub.unsubscribe(agent_id, woken)
    return EventSourceResponse(events(), ping=int(HEARTBEAT_SECONDS))
