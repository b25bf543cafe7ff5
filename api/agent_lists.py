"""The lists an agent's workspace refreshes all day: my open tickets, a team's queue, the
dashboard's counts. Each is one indexed query on the projections (db/lists.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.auth import CurrentPrincipal
from api.deps import SessionDep
from api.openapi import problems
from api.problems import Problem
from api.schemas import TicketPage
from api.views import ticket_out
from db import lists, queries
from db import saved_views as views_store
from domain.access import Principal, TokenKind, require, require_staff
from domain.ticket_filters import Sort, TicketFilters

router = APIRouter(tags=["lists"])
PageLimit = Annotated[int, Query(ge=1, le=200)]


class ViewCount(BaseModel):
    id: uuid.UUID
    name: str
    count: int


class DashboardOut(BaseModel):
    my_open: int
    unassigned: int
    at_risk: int
    breached: int
    by_status: dict[str, int]
    unassigned_by_team: dict[str, int]
    views: list[ViewCount]


@router.get("/me/tickets", response_model=TicketPage, responses=problems(400, 422))
async def my_open_tickets(session: SessionDep, principal: CurrentPrincipal,
                          limit: PageLimit = 50, cursor: str | None = None) -> TicketPage:
    """The caller's open tickets in its teams, most recent activity first (like every list,
    never another team's: a ticket still held in a team the agent left is not shown)."""
    require(principal.kind is TokenKind.AGENT and principal.agent_id is not None,
            "only an agent has tickets of its own; use an agent token")
    where = lists.my_open(uuid.UUID(principal.agent_id), reach=caller_reach(principal))
    return await ticket_page(session, where=where, sort=Sort.UPDATED, limit=limit,
                             cursor=cursor)


@router.get("/teams/{team_id}/queue", response_model=TicketPage,
            responses=problems(400, 404, 422))
async def team_queue(team_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal,
                     limit: PageLimit = 50, cursor: str | None = None) -> TicketPage:
    """A team's unassigned open tickets: SLA due first, then priority, then age."""
    require_staff(principal)
    require(principal.is_admin or str(team_id) in principal.team_ids,
            "you are not in that team")
    if principal.is_admin and await queries.get_team(session=session, team_id=team_id) is None:
        raise Problem(404, "team-not-found", "Team not found", f"no team {team_id}")
    return await ticket_page(session, where=lists.team_queue(team_id), sort=Sort.DUE,
                             limit=limit, cursor=cursor)


@router.get("/dashboard", response_model=DashboardOut)
async def dashboard(session: SessionDep, principal: CurrentPrincipal) -> DashboardOut:
    """Counts over the open tickets the caller reaches, with a count per visible view."""
    require_staff(principal)
    reach, me = caller_reach(principal), me_of(principal)
    views = await views_store.visible(session=session, agent_id=me, team_ids=reach)
    board = await lists.dashboard(
        session=session, reach=reach, me=me,
        views=[TicketFilters.model_validate(v.filters) for v in views])
    return DashboardOut(
        my_open=board.my_open, unassigned=board.unassigned, at_risk=board.at_risk,
        breached=board.breached, by_status=board.by_status,
        unassigned_by_team=board.unassigned_by_team,
        views=[ViewCount(id=v.id, name=v.name, count=n)
               for v, n in zip(views, board.views, strict=True)])


# ---- shared by every ticket list --------------------------------------------------------

def caller_reach(p: Principal) -> list[uuid.UUID] | None:
    """None for admins (every team); else the agent's teams."""
    return None if p.is_admin else [uuid.UUID(t) for t in sorted(p.team_ids)]


def me_of(p: Principal) -> uuid.UUID | None:
    return uuid.UUID(p.agent_id) if p.agent_id else None


async def ticket_page(session: Any, *, where: Sequence[Any], sort: Sort, limit: int,
                      cursor: str | None) -> TicketPage:
    try:
        found = await lists.page(session=session, where=where, sort=sort, limit=limit,
                                 cursor=cursor)
    except ValueError as err:
        raise Problem(400, "bad-cursor", "Bad cursor",
                      f"{err}; pass back the next_cursor of the previous page") from err
    return TicketPage(items=[ticket_out(queries.to_snapshot(r)) for r in found.rows],
                      next_cursor=found.next_cursor)
