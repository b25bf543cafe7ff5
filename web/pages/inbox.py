"""The agent's inbox (services/notifications.py): its notifications, marking them read, and
the unread count every page's top bar shows."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import DeskDep
from services import notifications
from services.notifications import MarkRead
from web.errors import PageRoute, is_htmx
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app/inbox", route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 25
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
