"""/api/v1/teams and /api/v1/agents: the directory as staff see it (read-only).

Agents look up colleagues to assign or hand over work; changes go through /api/v1/admin.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from sqlalchemy import select

from api.admin.agents import agent_bodies
from api.auth import CurrentPrincipal
from api.deps import SessionDep
from db.models import Agent, Team
from domain.access import require_staff
from services.schemas import AgentOut, TeamOut

router = APIRouter(tags=["directory"])


@router.get("/teams", response_model=list[TeamOut])
async def list_teams(session: SessionDep, principal: CurrentPrincipal) -> Sequence[Team]:
    require_staff(principal)
    return (await session.scalars(select(Team).order_by(Team.name))).all()


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(session: SessionDep, principal: CurrentPrincipal,
                      include_inactive: bool = False) -> list[AgentOut]:
    require_staff(principal)
    stmt = select(Agent).order_by(Agent.name)
    if not include_inactive:
        stmt = stmt.where(Agent.active)
    return await agent_bodies(session, (await session.scalars(stmt)).all(), AgentOut)
