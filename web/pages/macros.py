"""Macros in the workspace: the management page, and the composer's two endpoints (the
suggestions after "/" and a macro rendered for a ticket), all over services/macros.py.

The page's forms post with htmx; a refusal shows in #flash (PageRoute). Its "try it" section
puts the composer widget (static/macros.js) on a reply box for a ticket the agent picks, so
a macro can be tried before a customer ever sees it; nothing is sent from there.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError

from api.deps import DeskDep
from domain.access import AccessDenied, Principal
from domain.lifecycle import Status
from domain.macros import PLACEHOLDERS
from domain.sla import Priority
from services import lists, macros, tickets
from services.desk import Desk
from services.macro_schemas import MacroIn, MacroOut, MacroPatch, MacroRendered
from services.problems import Problem
from web.errors import PageRoute
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
TicketRef = Annotated[str | None, Query(max_length=64)]


class MacroForm(BaseModel):
    """The form as posted: selects send "" for "no change", tags come comma-separated."""

    name: str = ""
    body: str = ""
    scope: str = "personal"
    team_id: str = ""
    status: str = ""
    priority: str = ""
    assignee: str = ""
    add_tags: str = ""
    remove_tags: str = ""


MacroFormDep = Annotated[MacroForm, Form()]


@router.get("/macros", response_class=HTMLResponse)
async def macros_page(request: Request, desk: DeskDep, agent: CurrentAgent,
                      ticket: TicketRef = None) -> Response:
    return await _page(request, desk, agent, editing=None, ticket=ticket)


@router.get("/macros/suggest", response_class=HTMLResponse)
async def suggest(request: Request, desk: DeskDep, agent: CurrentAgent,
                  q: Annotated[str, Query(max_length=100)] = "") -> Response:
    """The composer's listbox options for what follows "/"."""
    found = await macros.suggest(desk, agent, q)
    return TEMPLATES.TemplateResponse(request, "_macro_options.html",
                                      {"macros": found, "query": q})


@router.get("/macros/{macro_id}/edit", response_class=HTMLResponse)
async def edit_page(macro_id: uuid.UUID, request: Request, desk: DeskDep, agent: CurrentAgent,
                    ticket: TicketRef = None) -> Response:
    editing = await macros.get_macro(desk, agent, macro_id)
    if not editing.can_change:  # a form whose every save would be refused helps no one
        raise AccessDenied("you may use this macro, but only its owner, a lead of its team "
                           "or an admin changes it")
    return await _page(request, desk, agent, editing=editing, ticket=ticket)


@router.post("/macros", response_class=HTMLResponse)
async def create(request: Request, desk: DeskDep, agent: CurrentAgent, form: MacroFormDep
                 ) -> Response:
    made = await macros.create_macro(desk, agent, _macro_in(form))
    # The form clears itself on this event (static/macros.js); the list shows the new one.
    return await _list(request, desk, agent, saved=made.name,
                       headers={"HX-Trigger": "macro-saved"})


@router.post("/macros/{macro_id}", response_class=HTMLResponse)
async def update(macro_id: uuid.UUID, desk: DeskDep, agent: CurrentAgent, form: MacroFormDep
                 ) -> Response:
    current = await macros.get_macro(desk, agent, macro_id)
    await macros.update_macro(desk, agent, macro_id, _patch(current, _macro_in(form)))
    return Response(status_code=204, headers={"HX-Redirect": "/app/macros"})


@router.post("/macros/{macro_id}/delete", response_class=HTMLResponse)
async def delete(macro_id: uuid.UUID, request: Request, desk: DeskDep, agent: CurrentAgent
                 ) -> Response:
    await macros.delete_macro(desk, agent, macro_id)
    return await _list(request, desk, agent)


@router.get("/tickets/{ticket}/macros/{macro_id}/render", response_model=MacroRendered)
async def render(ticket: str, macro_id: uuid.UUID, desk: DeskDep, agent: CurrentAgent
                 ) -> MacroRendered:
    """The body for the composer to insert, and what sending it will also do."""
    return await macros.preview(desk, agent, ticket, macro_id)


# ---- helpers ---------------------------------------------------------------------------------

async def _page(request: Request, desk: Desk, agent: Principal, *, editing: MacroOut | None,
                ticket: str | None) -> Response:
    found = await macros.list_macros(desk, agent)
    context: dict[str, Any] = {
        "agent": agent, "macros": found.items, "editing": editing, "saved": None,
        "choices": await macros.choices(desk, agent), "placeholders": PLACEHOLDERS,
        "statuses": [s for s in Status if s is not Status.DUPLICATE], "priorities": list(Priority),
        "my_tickets": (await lists.my_open_tickets(desk, agent, limit=50, cursor=None)).items,
    }
    context |= await _try_ticket(desk, agent, ticket)
    return TEMPLATES.TemplateResponse(request, "macros.html", context)


async def _try_ticket(desk: Desk, agent: Principal, ticket: str | None) -> dict[str, Any]:
    """The ticket the "try it" box renders for; a wrong one is said there, not as an error
    page (the agent typed it a moment ago)."""
    if not ticket or not ticket.strip():
        return {"try_ref": ticket or "", "try_ticket": None, "try_error": None}
    try:
        found = await tickets.get_ticket(desk, agent, ticket.strip())
    except Problem as err:
        return {"try_ref": ticket, "try_ticket": None, "try_error": err.detail}
    except AccessDenied as err:
        return {"try_ref": ticket, "try_ticket": None, "try_error": err.detail}
    return {"try_ref": found.public_ref, "try_ticket": found, "try_error": None}


async def _list(request: Request, desk: Desk, agent: Principal, *, saved: str | None = None,
                headers: dict[str, str] | None = None) -> Response:
    found = await macros.list_macros(desk, agent)
    return TEMPLATES.TemplateResponse(request, "_macro_list.html",
                                      {"macros": found.items, "saved": saved},
                                      headers=headers)


def _macro_in(form: MacroForm) -> MacroIn:
    actions: dict[str, Any] = {key: value for key, value in (
        ("status", form.status), ("priority", form.priority), ("assignee", form.assignee))
        if value}
    actions |= {"add_tags": _tags(form.add_tags), "remove_tags": _tags(form.remove_tags)}
    data = {"name": form.name, "scope": form.scope, "actions": actions,
            # Browsers post a textarea's line breaks as CRLF; a reply's are "\n".
            "body": form.body.replace("\r\n", "\n"),
            "team_id": (form.team_id or None) if form.scope == "team" else None}
    try:
        return MacroIn.model_validate(data)
    except ValidationError as err:
        raise RequestValidationError(
            [e | {"loc": ("body", *e["loc"])} for e in err.errors(include_url=False)]
        ) from err


def _patch(current: MacroOut, wanted: MacroIn) -> MacroPatch:
    """Only what the form changed: the audit names just those fields."""
    fields = {name: getattr(wanted, name) for name in MacroIn.model_fields
              if getattr(wanted, name) != getattr(current, name)}
    return MacroPatch.model_validate(fields)


def _tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]
