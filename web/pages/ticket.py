"""The ticket page (/app/tickets/{ref}): the conversation oldest first, paged from the latest,
with the composer under it; the ticket's state and what may be done to it above; its SLA
clocks, customer and audit beside it. Live through the ticket's stream (web/static/ticket.js).

This module reads; the commands are web/pages/ticket_commands.py, presence
web/pages/ticket_presence.py. Everything comes from services/ (the JSON API's use cases).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import DeskDep
from db import queries
from services import conversation
from services.attachments import download_attachment
from services.desk import Desk
from services.presence import HEARTBEAT_SECONDS
from services.problems import Problem
from services.ticket_page import open_ticket_page
from web import ticket_view
from web.errors import PageRoute, is_htmx
from web.pages import ticket_commands, ticket_duplicates, ticket_presence
from web.pages.ticket_render import authors, page_context, render_parts
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app/tickets", route_class=PageRoute, include_in_schema=False)
for commands in (ticket_commands.router, ticket_presence.router, ticket_duplicates.router):
    router.include_router(commands)


@router.get("/{ref:ticket}", response_class=HTMLResponse)
async def ticket_page(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent
                      ) -> Response:
    async def render() -> Response:
        page = await open_ticket_page(desk, agent, ref)
        assert page.conversation is not None
        convo = page.conversation
        context = await page_context(desk, agent, page, convo.items)
        return TEMPLATES.TemplateResponse(request, "ticket.html", context | {
            "conversation": convo, "heartbeat_seconds": HEARTBEAT_SECONDS})
    return await _unless_merged(request, desk, render)


@router.get("/{ref:ticket}/parts", response_class=HTMLResponse)
async def ticket_parts(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent
                       ) -> Response:
    """The header and the side panels, swapped in place after a change (live or own)."""
    async def render() -> Response:
        return await render_parts(request, desk, agent, ref)
    return await _unless_merged(request, desk, render)


@router.get("/{ref:ticket}/conversation", response_class=HTMLResponse)
async def earlier_messages(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                           before: str | None = None) -> Response:
    """The page of messages before the cursor, replacing the "show earlier" button; without
    one, the latest page (the whole list anew, once a merge brought older messages in)."""
    convo = await conversation.latest_page(desk, agent, ref, before=before)
    names = await conversation.agent_names(desk, authors(convo.items))
    return TEMPLATES.TemplateResponse(request, "_ticket_earlier.html", {
        "conversation": convo, "names": names, "ref": ref, "v": ticket_view})


@router.get("/{ref:ticket}/conversation/tail", response_class=HTMLResponse)
async def new_messages(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                       after: str | None = None) -> Response:
    """What arrived after the message at cursor `after` (X-More: 1 when there is more)."""
    convo = await conversation.tail(desk, agent, ref, after=after)
    names = await conversation.agent_names(desk, authors(convo.items))
    return TEMPLATES.TemplateResponse(
        request, "_ticket_messages.html",
        {"messages": convo.items, "customer": convo.customer, "names": names, "ref": ref,
         "v": ticket_view, "delivered_by": convo.delivered_by},
        headers={"X-More": "1" if convo.more else "0", "Cache-Control": "no-store"})


@router.get("/{ref:ticket}/attachments/{attachment_id}")
async def attachment(ref: str, attachment_id: str, desk: DeskDep, agent: CurrentAgent
                     ) -> Response:
    """An attachment by session, under exactly the API's rules (services/attachments.py)."""
    found = await download_attachment(desk, agent, ref, attachment_id)
    return Response(content=found.data, media_type=found.content_type, headers=found.headers)


async def _unless_merged(request: Request, desk: Desk,
                         render: Callable[[], Awaitable[Response]]) -> Response:
    """A merged ticket's page is its target's: the agent lands where the conversation went."""
    try:
        return await render()
    except Problem as err:
        target = err.extra.get("merged_into")
        if err.status != 410 or not target:
            raise
        found = await queries.get_ticket(session=desk.session, key=str(target))
        url = f"/app/tickets/{found.public_ref if found else target}"
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

