"""Searching tickets from the top bar's box: the same use case as GET /api/v1/search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import DeskDep
from domain.ticket_filters import TicketFilters
from services import search
from services.problems import Problem
from web.errors import PageRoute, is_htmx
from web.session import CurrentAgent
from web.snippets import highlighted
from web.templating import TEMPLATES

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 25
TEMPLATES.env.filters["highlighted"] = highlighted


@router.get("/search", response_class=HTMLResponse)
async def search_page(request: Request, desk: DeskDep, agent: CurrentAgent,
                      q: Annotated[str | None, Query(max_length=search.MAX_QUERY)] = None,
                      cursor: str | None = None) -> Response:
    """The best matches in the agent's teams, internal notes included; an htmx request with
    a cursor (the "More results" button) gets the next rows only."""
    context = {"agent": agent, "query": q or "", "page": None, "problem": None}
    if q is None:  # the page itself, before any search: the syntax hint
        return TEMPLATES.TemplateResponse(request, "search.html", context)
    try:
        page = await search.search_tickets(desk, agent, q=q, filters=TicketFilters(),
                                           limit=PAGE_SIZE, cursor=cursor)
    except Problem as err:
        if is_htmx(request):
            raise  # a "More results" that failed: the page's flash says why
        # An empty or exclusion-only query: told on the search page, beside the hint.
        return TEMPLATES.TemplateResponse(request, "search.html", context | {"problem": err},
                                          status_code=err.status)
    context["page"] = page
    if is_htmx(request) and cursor:
        return TEMPLATES.TemplateResponse(request, "_search_rows.html", context)
    return TEMPLATES.TemplateResponse(request, "search.html", context)
