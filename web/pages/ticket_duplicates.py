"""The ticket page's "Possible duplicates" panel: loaded once the page is shown (it is not
needed to read the ticket, and a slow lookup must not hold the page up), and "Not a
duplicate". Merging goes through the page's merge command (web/pages/ticket_commands.py).
Everything comes from services/duplicates.py, the JSON API's use cases.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import DeskDep
from services import duplicates
from web import ticket_view
from web.errors import PageRoute
from web.session import CurrentAgent
from web.templating import TEMPLATES

# Included by web/pages/ticket.py's router, under its /app/tickets.
router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/{ref:ticket}/duplicates", response_class=HTMLResponse)
async def duplicates_panel(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent
                           ) -> Response:
    return await _panel(request, desk, agent, ref)


@router.post("/{ref:ticket}/duplicates/{other:ticket}/dismiss", response_class=HTMLResponse)
async def dismiss(ref: str, other: str, request: Request, desk: DeskDep, agent: CurrentAgent
                  ) -> Response:
    await duplicates.dismiss_duplicate(desk, agent, ref, other)
    return await _panel(request, desk, agent, ref)


async def _panel(request: Request, desk: DeskDep, agent: CurrentAgent, ref: str) -> Response:
    found = await duplicates.list_duplicates(desk, agent, ref)
    return TEMPLATES.TemplateResponse(request, "_ticket_duplicates.html", {
        "ref": found.public_ref, "found": found, "v": ticket_view},
        headers={"Cache-Control": "no-store"})
