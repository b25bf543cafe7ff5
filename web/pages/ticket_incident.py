"""The ticket page's incident block (/app/tickets/{ref}/incident): the open incident the
ticket is linked to, with unlink, or a choice of open incidents to link it to.

Its own fragment, fetched after the page loads and answered by every command here, so the
ticket page's own rendering (and its live swaps of the header and side panels) need know
nothing of incidents. Link and unlink are the JSON API's use cases (services/incidents.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import DeskDep
from domain.access import Principal
from services import incidents
from services.desk import Desk
from services.problems import Problem
from web import ticket_view  # noqa: F401  (registers the {ref:ticket} convertor)
from web.errors import PageRoute
from web.incident_forms import REFUSALS, problem_of
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app/tickets", route_class=PageRoute, include_in_schema=False)
IncidentField = Annotated[str, Form(min_length=1, max_length=64)]


@router.get("/{ref:ticket}/incident", response_class=HTMLResponse)
async def ticket_incident(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent
                          ) -> Response:
    return await _block(request, desk, agent, ref)


@router.post("/{ref:ticket}/incident", response_class=HTMLResponse)
async def link(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
               incident: IncidentField) -> Response:
    try:
        await incidents.link_ticket(desk, agent, incident, ref)
    except REFUSALS as err:
        return await _block(request, desk, agent, ref, problem=problem_of(err))
    return await _block(request, desk, agent, ref)


@router.post("/{ref:ticket}/incident/unlink", response_class=HTMLResponse)
async def unlink(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                 incident: IncidentField) -> Response:
    try:
        await incidents.unlink_ticket(desk, agent, incident, ref)
    except REFUSALS as err:
        return await _block(request, desk, agent, ref, problem=problem_of(err))
    return await _block(request, desk, agent, ref)


async def _block(request: Request, desk: Desk, agent: Principal, ref: str, *,
                 problem: Problem | None = None) -> Response:
    """The block as it now stands; a refusal is said inside it, with its status."""
    linked = await incidents.incident_of_ticket(desk, agent, ref)
    offered = [] if linked else await incidents.list_incidents(desk, agent, state="open")
    return TEMPLATES.TemplateResponse(
        request, "_ticket_incident.html",
        {"ref": ref, "incident": linked, "open_incidents": offered, "problem": problem,
         "loading": False},
        status_code=problem.status if problem else 200)
