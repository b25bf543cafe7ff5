"""The workspace's front page: the agent's open tickets (the lists page grows from here)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import DeskDep
from services import lists
from web.errors import PageRoute
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)


@router.get("")
async def home() -> Response:
    return RedirectResponse("/app/tickets", status_code=303)


@router.get("/tickets", response_class=HTMLResponse)
async def my_open(request: Request, desk: DeskDep, agent: CurrentAgent) -> Response:
    page = await lists.my_open_tickets(desk, agent, limit=50, cursor=None)
    return TEMPLATES.TemplateResponse(request, "tickets.html", {"agent": agent, "page": page})
