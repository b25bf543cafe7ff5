"""/api/v1/incidents: thin routes over the incident use cases (services/incidents.py), and
the public GET /status.json (no token: what the status page shows)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.auth import CurrentPrincipal
from api.deps import DeskDep, SessionDep
from api.openapi import problems
from services import incidents
from services.incident_schemas import (
    IncidentCreate,
    IncidentList,
    IncidentOut,
    IncidentResolve,
    IncidentTicketPage,
    IncidentUpdate,
    LinkRequest,
    PublicStatus,
)

router = APIRouter(prefix="/incidents", tags=["incidents"])
public_router = APIRouter(tags=["incidents"])
COMMAND = problems(404, 409, 410, 422, 504)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IncidentOut,
             responses=problems(422, 504))
async def declare(body: IncidentCreate, desk: DeskDep, principal: CurrentPrincipal
                  ) -> IncidentOut:
    """Declare an incident (leads, admins): matching new tickets are linked at intake."""
    return await incidents.declare(desk, principal, body)


@router.get("", response_model=IncidentList, responses=problems(422))
async def list_incidents(desk: DeskDep, principal: CurrentPrincipal,
                         state: str = "open") -> IncidentList:
    """`state`: open (default), resolving, resolved or all; newest first."""
    return IncidentList(items=await incidents.list_incidents(desk, principal, state))


@router.get("/{incident}", response_model=IncidentOut, responses=problems(404))
async def get_incident(incident: str, desk: DeskDep, principal: CurrentPrincipal
                       ) -> IncidentOut:
    """`{incident}` is the id or the public ref (INC-12)."""
    return await incidents.get_incident(desk, principal, incident)


@router.patch("/{incident}", response_model=IncidentOut, responses=COMMAND)
async def update_incident(incident: str, body: IncidentUpdate, desk: DeskDep,
                          principal: CurrentPrincipal) -> IncidentOut:
    return await incidents.update_incident(desk, principal, incident, body)


@router.get("/{incident}/tickets", response_model=IncidentTicketPage,
            responses=problems(400, 404))
async def linked_tickets(incident: str, desk: DeskDep, principal: CurrentPrincipal,
                         limit: Annotated[int, Query(ge=1, le=200)] = 50,
                         cursor: str | None = None) -> IncidentTicketPage:
    items, next_cursor = await incidents.linked_tickets(desk, principal, incident, limit=limit,
                                                        cursor=cursor)
    return IncidentTicketPage(items=items, next_cursor=next_cursor)


@router.post("/{incident}/tickets", response_model=IncidentOut, responses=COMMAND)
async def link_ticket(incident: str, body: LinkRequest, desk: DeskDep,
                      principal: CurrentPrincipal) -> IncidentOut:
    return await incidents.link_ticket(desk, principal, incident, body.ticket)


@router.delete("/{incident}/tickets/{ticket}", response_model=IncidentOut, responses=COMMAND)
async def unlink_ticket(incident: str, ticket: str, desk: DeskDep,
                        principal: CurrentPrincipal) -> IncidentOut:
    return await incidents.unlink_ticket(desk, principal, incident, ticket)


@router.post("/{incident}/resolve", status_code=status.HTTP_202_ACCEPTED,
             response_model=IncidentOut, responses=COMMAND)
async def resolve_incident(incident: str, body: IncidentResolve, desk: DeskDep,
                           principal: CurrentPrincipal) -> IncidentOut:
    """Starts the bulk resolution: `resolving` now, `resolved` once every ticket is done."""
    return await incidents.resolve_incident(desk, principal, incident, body)


@public_router.get("/status.json", response_model=PublicStatus)
async def status_json(session: SessionDep, response: Response) -> PublicStatus:
    """Open and resolving incidents, for anyone (no token)."""
    # As the /status page: during an outage every customer's status widget polls this, so
    # caches may answer for 15 s; any site may read it (it says nothing internal).
    response.headers["Cache-Control"] = "public, max-age=15"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return PublicStatus(incidents=await incidents.public_status(session))
