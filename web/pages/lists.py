"""The workspace's lists: the views in every page's sidebar, a view's tickets with filters,
sorting and keyset pages, bulk changes to the selected tickets, and Next ticket.

Everything here is a use case of services/ (list_views, bulk, queue) rendered as HTML. The
list answers an htmx request aimed at `#results` (a filter, a page, the 60 s refresh, a
live event) with just the table, and anything else with the whole page.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from api.deps import DeskDep
from api.ticket_filters import filters_from_query
from domain.lifecycle import Status
from domain.sla import Priority
from domain.ticket_filters import Sort, TicketFilters
from services import bulk, list_views
from services.problems import Problem
from services.queue import claim_next_ticket
from services.schemas import AssignRequest, PriorityChange, StatusChange, TagsChange
from web.errors import PageRoute, is_htmx
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
# The query parameters the filter form shows; any other filter in the URL is kept as is.
FORM_FIELDS = frozenset({"view", "status", "priority", "assignee", "tag", "sort", "cursor"})
Filters = Annotated[TicketFilters, Depends(filters_from_query)]
Cursor = Annotated[str | None, Query(max_length=2000)]
ViewKey = Annotated[str | None, Query(max_length=64)]
PageSize = Annotated[int, Query(ge=1, le=200)]


@router.get("/tickets", response_class=HTMLResponse)
async def ticket_list(request: Request, desk: DeskDep, agent: CurrentAgent, filters: Filters,
                      view: ViewKey = None, sort: Sort | None = None,
                      cursor: Cursor = None, limit: PageSize = PAGE_SIZE) -> Response:
    chosen = await list_views.choose_view(desk, agent, view)
    page = await list_views.view_page(desk, agent, chosen, filters, sort=sort,
                                      limit=limit, cursor=cursor, now=datetime.now(UTC))
    context: dict[str, Any] = {"agent": agent, "page": page, "filters": filters,
                               "filtered": filters != TicketFilters(), **_urls(request, page)}
    if _aimed_at(request, "results"):
        return TEMPLATES.TemplateResponse(request, "_ticket_results.html", context)
    context |= {"targets": await bulk.assign_targets(desk, agent),
                "statuses": bulk.SETTABLE_STATUSES, "all_statuses": list(Status),
                "priorities": list(Priority),
                "sorts": list(Sort), "kept": _kept_params(request)}
    return TEMPLATES.TemplateResponse(request, "tickets.html", context)


@router.get("/views", response_class=HTMLResponse)
async def views(request: Request, desk: DeskDep, agent: CurrentAgent) -> Response:
    """The sidebar's views with their counts (base.html loads it into every page)."""
    counts = await list_views.views_with_counts(desk, agent)
    current = _current_view(request.headers.get("hx-current-url", ""))
    return TEMPLATES.TemplateResponse(request, "_views.html",
                                      {"views": counts, "current": current})


@router.post("/bulk", response_class=HTMLResponse)
async def bulk_change(
    request: Request, desk: DeskDep, agent: CurrentAgent,
    action: Annotated[Literal["assign", "status", "priority", "add_tags", "remove_tags"],
                      Form()],
    ticket: Annotated[list[str], Form(max_length=bulk.MAX_TICKETS)] = [],  # noqa: B006
    assign_to: Annotated[str, Form(max_length=80)] = "",
    status: Annotated[Status | Literal[""], Form()] = "",
    priority: Annotated[Priority | Literal[""], Form()] = "",
    tags: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    change = _change(action, assign_to=assign_to, status=status, priority=priority,
                     tags=tags)
    outcome = await bulk.change_each(desk, agent, ticket, change)
    done = {"lists-changed": {"refused": [r.ref for r in outcome.refused]}}
    return TEMPLATES.TemplateResponse(request, "_bulk_result.html", {"outcome": outcome},
                                      headers={"HX-Trigger": json.dumps(done)})


@router.post("/queue/next", response_class=HTMLResponse)
async def next_ticket(request: Request, desk: DeskDep, agent: CurrentAgent) -> Response:
    """Take the next ticket of the agent's teams and open it."""
    taken = await claim_next_ticket(desk, agent)
    if taken is None:
        if not is_htmx(request):
            return RedirectResponse("/app/tickets", status_code=303)
        return TEMPLATES.TemplateResponse(
            request, "_notice.html",
            {"text": "Nothing to take: your teams' queue is empty."},
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    target = f"/app/tickets/{taken.public_ref}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


# ---- helpers ---------------------------------------------------------------------------

def _aimed_at(request: Request, target: str) -> bool:
    """An htmx request swapping that element (not a history restore, which wants a page)."""
    return (is_htmx(request) and request.headers.get("hx-target") == target
            and request.headers.get("hx-history-restore-request") != "true")


def _urls(request: Request, page: list_views.ListPage) -> dict[str, str | None]:
    url = request.url.remove_query_params("cursor")
    here = _relative(request.url)
    return {"here": here,
            "first_url": _relative(url) if "cursor" in request.query_params else None,
            "next_url": _relative(url.include_query_params(cursor=page.next_cursor))
            if page.next_cursor else None}


def _relative(url: object) -> str:
    parts = urlsplit(str(url))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _kept_params(request: Request) -> list[tuple[str, str]]:
    """Filters from the URL that the form does not show: applying the form keeps them."""
    return [(k, v) for k, v in request.query_params.multi_items() if k not in FORM_FIELDS]


def _current_view(page_url: str) -> str | None:
    """The view the page that loaded the sidebar shows (None: not a list)."""
    parts = urlsplit(page_url)
    if parts.path.rstrip("/") != "/app/tickets":
        return None
    key = parse_qs(parts.query).get("view", [list_views.DEFAULT_VIEW])[0]
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return key


def _change(action: str, *, assign_to: str, status: Status | Literal[""],
            priority: Priority | Literal[""], tags: str) -> bulk.BulkChange:
    if action == "assign":
        return _assignment(assign_to)
    if action == "status":
        if not status:
            raise _needs("status", "choose the status to set")
        return StatusChange(status=status)
    if action == "priority":
        if not priority:
            raise _needs("priority", "choose the priority to set")
        return PriorityChange(priority=priority)
    return _tags_change(tags, add=action == "add_tags")


def _assignment(value: str) -> AssignRequest:
    kind, _, target = value.partition(":")
    try:
        target_id = uuid.UUID(target)
    except ValueError:
        raise _needs("assign_to", "choose an agent or a team to assign to") from None
    if kind == "agent":
        return AssignRequest(agent_id=target_id)
    if kind == "team":
        return AssignRequest(team_id=target_id)
    raise _needs("assign_to", "choose an agent or a team to assign to")


def _tags_change(text: str, *, add: bool) -> TagsChange:
    named = _words(text)
    if not named:
        raise _needs("tags", "name the tags to add or remove")
    try:
        return TagsChange(add=named) if add else TagsChange(remove=named)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        raise Problem(422, "invalid-tags", "Please check the tags",
                      f"{first['loc'][0]}: {first['msg']}") from err


def _words(text: str) -> list[str]:
    """Tags as typed, separated by commas (a tag may hold spaces)."""
    return [w.strip() for w in text.split(",") if w.strip()]


def _needs(field: str, detail: str) -> Problem:
    return Problem(422, "invalid-form", "Please check the form", f"{field}: {detail}")
