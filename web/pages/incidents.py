"""Incidents in the workspace (/app/incidents): the open ones with their counts, the resolved
ones in a tab, a lead's "Declare incident" form; and one incident's page (status text,
matching rules, linked tickets, link and unlink, resolve with its live progress).

Every command is the JSON API's use case (services/incidents.py). A form shows its own
refusal in place (re-rendered with what was typed and the Problem's status), so a lead who
mistyped a rule keeps the rest; the table's commands answer with an event (`incident-changed`)
that makes the counts and the table fetch themselves again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import DeskDep
from domain.access import Principal
from services import bulk, incidents
from services.desk import Desk
from services.incident_schemas import IncidentOut
from services.problems import Problem
from web.errors import PageRoute
from web.incident_forms import (
    DEFAULT_ACK,
    DEFAULT_RESOLUTION,
    REFUSALS,
    REPEAT_PRIORITIES,
    DeclareForm,
    incident_create,
    problem_of,
    resolution,
    status_update,
)
from web.incident_view import STATE_LABELS, is_lead
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app/incidents", route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
CHANGED = {"HX-Trigger": "incident-changed"}
Cursor = Annotated[str | None, Query(max_length=200)]


@router.get("", response_class=HTMLResponse)
async def incidents_page(request: Request, desk: DeskDep, agent: CurrentAgent,
                         show: Annotated[str, Query(max_length=10)] = "open") -> Response:
    """The open incidents (resolving ones among them), or the resolved ones (`show=resolved`)."""
    resolved = show == "resolved"
    found = await _listed(desk, agent, resolved=resolved)
    form = await _declare_context(desk, agent, DeclareForm(ack_message=DEFAULT_ACK))
    return TEMPLATES.TemplateResponse(request, "incidents.html", form | {
        "incidents": found, "resolved_tab": resolved})


@router.get("/open-count", response_class=HTMLResponse)
async def open_count(request: Request, desk: DeskDep, agent: CurrentAgent) -> Response:
    """The nav link's badge: how many incidents are open (resolving ones still count)."""
    count = len(await _listed(desk, agent, resolved=False))
    return TEMPLATES.TemplateResponse(request, "_incident_count.html", {"count": count})


@router.post("", response_class=HTMLResponse)
async def declare(request: Request, desk: DeskDep, agent: CurrentAgent,
                  form: Annotated[DeclareForm, Form()]) -> Response:
    """A new incident: the form comes back empty with a link to it, the list and the badge
    are swapped out of band; a refusal comes back in the form, with what was typed."""
    try:
        made = await incidents.declare(desk, agent, incident_create(form))
    except REFUSALS as err:
        problem = problem_of(err)
        context = await _declare_context(desk, agent, form, problem=problem)
        return TEMPLATES.TemplateResponse(request, "_incident_declare.html", context,
                                          status_code=problem.status)
    context = await _declare_context(desk, agent, DeclareForm(ack_message=DEFAULT_ACK),
                                     declared=made)
    return TEMPLATES.TemplateResponse(request, "_incident_declared.html", context | {
        "incidents": await _listed(desk, agent, resolved=False), "resolved_tab": False})


@router.get("/{ref:incident}", response_class=HTMLResponse)
async def incident_page(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent
                        ) -> Response:
    incident = await incidents.get_incident(desk, agent, ref)
    rows, next_cursor = await incidents.linked_tickets(desk, agent, ref, limit=PAGE_SIZE)
    return TEMPLATES.TemplateResponse(request, "incident.html", {
        "agent": agent, "i": incident, "lead": is_lead(agent), "rows": rows,
        "next_cursor": next_cursor, "teams": await _team_names(desk, agent),
        "resolution": DEFAULT_RESOLUTION, "problem": None, "linked": None, "typed": "",
        "states": STATE_LABELS})


@router.get("/{ref:incident}/summary", response_class=HTMLResponse)
async def summary(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent) -> Response:
    """The state and the counts, fetched again after a link, an unlink or a resolution."""
    incident = await incidents.get_incident(desk, agent, ref)
    return TEMPLATES.TemplateResponse(request, "_incident_summary.html",
                                      {"i": incident, "states": STATE_LABELS})


@router.get("/{ref:incident}/tickets", response_class=HTMLResponse)
async def tickets_table(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                        cursor: Cursor = None) -> Response:
    """The whole table (first page), or with `cursor` the next page's rows to append."""
    incident = await incidents.get_incident(desk, agent, ref)
    rows, next_cursor = await incidents.linked_tickets(desk, agent, ref, limit=PAGE_SIZE,
                                                       cursor=cursor)
    template = "_incident_rows_more.html" if cursor else "_incident_tickets.html"
    return TEMPLATES.TemplateResponse(request, template, {
        "i": incident, "rows": rows, "next_cursor": next_cursor})


@router.post("/{ref:incident}/status-text", response_class=HTMLResponse)
async def edit_status_text(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                           status_text: Annotated[str, Form(max_length=20_000)] = "") -> Response:
    """What customers read on /status: saved, or refused in place with the text kept."""
    context: dict[str, Any] = {"lead": is_lead(agent), "problem": None, "saved": False}
    try:
        incident = await incidents.update_incident(desk, agent, ref, status_update(status_text))
    except REFUSALS as err:
        problem = problem_of(err)
        current = await incidents.get_incident(desk, agent, ref)
        return TEMPLATES.TemplateResponse(request, "_incident_status_text.html", context | {
            "i": current, "typed": status_text, "problem": problem},
            status_code=problem.status)
    return TEMPLATES.TemplateResponse(request, "_incident_status_text.html",
                                      context | {"i": incident, "saved": True})


@router.post("/{ref:incident}/tickets", response_class=HTMLResponse)
async def link(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
               ticket: Annotated[str, Form(max_length=64)] = "") -> Response:
    """Link a ticket by its ref; the form says which one was linked, or why not."""
    try:
        incident = await incidents.link_ticket(desk, agent, ref, ticket.strip())
    except REFUSALS as err:
        problem = problem_of(err)
        return TEMPLATES.TemplateResponse(
            request, "_incident_link.html",
            {"i": await incidents.get_incident(desk, agent, ref), "problem": problem,
             "typed": ticket, "linked": None},
            status_code=problem.status)
    return TEMPLATES.TemplateResponse(
        request, "_incident_link.html",
        {"i": incident, "problem": None, "typed": "", "linked": ticket.strip().upper()},
        headers=CHANGED)


@router.post("/{ref:incident}/tickets/{ticket}/unlink", response_class=HTMLResponse)
async def unlink(ref: str, ticket: str, desk: DeskDep, agent: CurrentAgent) -> Response:
    """A refusal goes to the page's flash (PageRoute); the table and counts refresh."""
    await incidents.unlink_ticket(desk, agent, ref, ticket)
    return Response(status_code=204, headers=CHANGED)


@router.post("/{ref:incident}/resolve", response_class=HTMLResponse)
async def resolve(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                  message: Annotated[str, Form(max_length=20_000)] = "",
                  confirm: Annotated[str, Form(max_length=8)] = "") -> Response:
    """First shows who the message goes to; resolves once that is confirmed, then shows the
    progress bar, which polls itself until every linked ticket is resolved."""
    incident = await incidents.get_incident(desk, agent, ref)
    context: dict[str, Any] = {"i": incident, "lead": is_lead(agent), "resolution": message}
    try:
        body = resolution(message)
        if confirm != "yes":
            # Only the confirmation is the use case's to refuse; an agent is told at once
            # rather than after confirming a step that was never going to be allowed.
            if not is_lead(agent):
                raise Problem(403, "forbidden", "Not allowed",
                              "only a lead or an admin resolves an incident")
            return TEMPLATES.TemplateResponse(request, "_incident_resolve_confirm.html",
                                              context)
        incident = await incidents.resolve_incident(desk, agent, ref, body)
    except REFUSALS as err:
        problem = problem_of(err)
        return TEMPLATES.TemplateResponse(request, "_incident_resolve.html",
                                          context | {"problem": problem},
                                          status_code=problem.status)
    return _progress(request, incident)


@router.post("/{ref:incident}/resolve/edit", response_class=HTMLResponse)
async def resolve_form(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                       message: Annotated[str, Form(max_length=20_000)] = "") -> Response:
    """Back from the confirmation to the form, the message as it was (posted, not in a URL:
    a long message would not fit one)."""
    incident = await incidents.get_incident(desk, agent, ref)
    return TEMPLATES.TemplateResponse(request, "_incident_resolve.html", {
        "i": incident, "lead": is_lead(agent), "resolution": message or DEFAULT_RESOLUTION,
        "problem": None})


@router.get("/{ref:incident}/progress", response_class=HTMLResponse)
async def progress(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent) -> Response:
    return _progress(request, await incidents.get_incident(desk, agent, ref))


# ---- helpers ---------------------------------------------------------------------------------

def _progress(request: Request, incident: IncidentOut) -> Response:
    """The bar, polling itself while the incident resolves. The answer that sees it resolved
    reloads the page: every part of it changes then (the rows' statuses, the counts, no more
    link, unlink or edit), and the page as drawn for a resolved incident polls no more."""
    done = incident.state == "resolved"
    return TEMPLATES.TemplateResponse(request, "_incident_progress.html", {"i": incident},
                                      headers={"HX-Refresh": "true"} if done else None)


async def _listed(desk: Desk, agent: Principal, *, resolved: bool) -> list[IncidentOut]:
    if resolved:
        return await incidents.list_incidents(desk, agent, state="resolved")
    # Resolving ones are still open to a customer (/status shows them): listed with them.
    return [*await incidents.list_incidents(desk, agent, state="open"),
            *await incidents.list_incidents(desk, agent, state="resolving")]


async def _declare_context(desk: Desk, agent: Principal, form: DeclareForm, *,
                           problem: Problem | None = None, declared: IncidentOut | None = None
                           ) -> dict[str, Any]:
    return {"agent": agent, "lead": is_lead(agent), "f": form, "problem": problem,
            "states": STATE_LABELS,
            "declared": declared, "teams": await _team_names(desk, agent),
            "repeat_priorities": REPEAT_PRIORITIES}


async def _team_names(desk: Desk, agent: Principal) -> dict[str, str]:
    targets = await bulk.assign_targets(desk, agent)
    return {str(t.id): t.name for t in targets.teams}
