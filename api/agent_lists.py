"""Agent lists: my open tickets, a team's queue, the dashboard (services/lists.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import problems
from services import lists
from services.schemas import DashboardOut, TicketPage

router = APIRouter(tags=["lists"])
PageLimit = Annotated[int, Query(ge=1, le=200)]


@router.get("/me/tickets", response_model=TicketPage, responses=problems(400, 422))
async def my_open_tickets(desk: DeskDep, principal: CurrentPrincipal,
                          limit: PageLimit = 50, cursor: str | None = None) -> TicketPage:
    """The caller's open tickets in its teams, most recent activity first (like every list,
    never another team's: a ticket still held in a team the agent left is not shown)."""
    return await lists.my_open_tickets(desk, principal, limit=limit, cursor=cursor)


@router.get("/teams/{team_id}/queue", response_model=TicketPage,
            responses=problems(400, 404, 422))
async def team_queue(team_id: uuid.UUID, desk: DeskDep, principal: CurrentPrincipal,
                     limit: PageLimit = 50, cursor: str | None = None) -> TicketPage:
    """A team's unassigned open tickets: SLA due first, then priority, then age."""
    return await lists.team_queue(desk, principal, team_id, limit=limit, cursor=cursor)


@router.get("/dashboard", response_model=DashboardOut)
async def dashboard(desk: DeskDep, principal: CurrentPrincipal) -> DashboardOut:
    """Counts over the open tickets the caller reaches, with a count per visible view."""
    return await lists.dashboard(desk, principal)
