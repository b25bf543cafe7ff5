"""/api/v1/admin/agents: who works tickets, in which teams, with which skills and load.

An agent is never deleted: DELETE deactivates, so assignments and audit keep naming them
and their tokens stop working until an admin sets them active again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel
from sqlalchemy import Select, delete, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.common import (
    AdminDep,
    Limit,
    audit,
    commit_or_conflict,
    decode,
    get_or_404,
    next_cursor,
)
from api.admin.schemas import AgentCreate, AgentOut, AgentPage, AgentUpdate, PasswordSet
from api.admin.sla_refs import ensure_calendar
from api.deps import DeskDep, SessionDep
from api.problems import Problem
from db import queries, web_sessions
from db.models import Agent, AgentTeam, Team
from domain.access import Role
from services import accounts

router = APIRouter(prefix="/agents", tags=["admin"])
BodyT = TypeVar("BodyT", bound=BaseModel)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AgentOut)
async def create_agent(body: AgentCreate, session: SessionDep, admin: AdminDep) -> AgentOut:
    await _check_teams(session, body.team_ids)
    await ensure_calendar(session, body.shift_calendar)
    agent = Agent(id=uuid.uuid4(), **body.model_dump(exclude={"team_ids"}))
    session.add(agent)
    # The row must exist before its memberships (no ORM relationship orders the two).
    await _flush_or_conflict(session, body.email)
    session.add_all(AgentTeam(agent_id=agent.id, team_id=t) for t in body.team_ids)
    audit(session, admin, "created", "agent", agent.id, **body.model_dump(mode="json"))
    await commit_or_conflict(session, _email_taken(body.email))
    return await _out(session, agent)


@router.get("", response_model=AgentPage)
async def list_agents(
    session: SessionDep, _: AdminDep, team_id: uuid.UUID | None = None,
    role: Role | None = None, active: bool | None = None,
    q: str | None = Query(default=None, max_length=200, description="in name or email"),
    limit: Limit = 50, cursor: str | None = None,
) -> dict[str, Any]:
    stmt = _filtered(select(Agent), team_id=team_id, role=role, active=active, q=q)
    if after := decode(cursor, str, uuid.UUID):
        stmt = stmt.where(tuple_(Agent.name, Agent.id) > tuple(after))
    rows = (await session.scalars(stmt.order_by(Agent.name, Agent.id).limit(limit))).all()
    return {"items": await _outs(session, rows),
            "next_cursor": next_cursor(rows, limit, "name", "id")}


@router.get("/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: uuid.UUID, session: SessionDep, _: AdminDep) -> AgentOut:
    return await _out(session, await get_or_404(session, Agent, agent_id, "agent"))


@router.patch("/{agent_id}", response_model=AgentOut)
async def update_agent(agent_id: uuid.UUID, body: AgentUpdate, session: SessionDep,
                       admin: AdminDep) -> AgentOut:
    """Only the fields sent change; `team_ids` replaces the memberships; active=true reactivates."""
    agent = await get_or_404(session, Agent, agent_id, "agent")
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return await _out(session, agent)
    if "team_ids" in changes:
        await _replace_teams(session, agent_id, changes.pop("team_ids"))
    await ensure_calendar(session, changes.get("shift_calendar"))
    for field, value in changes.items():
        setattr(agent, field, value)
    if changes.get("active") is False:  # a deactivated agent's workspace sessions end now
        await web_sessions.end_all_of(session=session, agent_id=agent_id)
    agent.updated_at = func.now()
    audit(session, admin, "updated", "agent", agent_id,
          **body.model_dump(mode="json", exclude_unset=True))
    await commit_or_conflict(session, _email_taken(body.email))
    await session.refresh(agent)  # updated_at is the database's now()
    return await _out(session, agent)


@router.delete("/{agent_id}", response_model=AgentOut)
async def deactivate_agent(agent_id: uuid.UUID, session: SessionDep,
                           admin: AdminDep) -> AgentOut:
    """Deactivates: the row, memberships and history stay; the agent's tokens answer 401."""
    agent = await get_or_404(session, Agent, agent_id, "agent")
    if agent.active:  # deactivating twice changes nothing and records nothing
        agent.active = False
        await web_sessions.end_all_of(session=session, agent_id=agent_id)
        agent.updated_at = func.now()
        audit(session, admin, "deactivated", "agent", agent_id, email=agent.email)
        await session.commit()
        await session.refresh(agent)  # updated_at is the database's now()
    return await _out(session, agent)


@router.put("/{agent_id}/password", status_code=status.HTTP_204_NO_CONTENT,
            response_class=Response)
async def set_password(agent_id: uuid.UUID, body: PasswordSet, desk: DeskDep,
                       admin: AdminDep) -> Response:
    """Sets or resets the agent's workspace password; its signed-in sessions end."""
    await accounts.set_password(desk, admin, agent_id, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _filtered(stmt: Select[Agent], *, team_id: uuid.UUID | None, role: Role | None,
              active: bool | None, q: str | None) -> Select[Agent]:
    if team_id is not None:
        members = select(AgentTeam.agent_id).where(AgentTeam.team_id == team_id)
        stmt = stmt.where(Agent.id.in_(members))
    if role is not None:
        stmt = stmt.where(Agent.role == role.value)
    if active is not None:
        stmt = stmt.where(Agent.active == active)
    if q:
        stmt = stmt.where(Agent.name.icontains(q, autoescape=True)
                          | Agent.email.icontains(q, autoescape=True))
    return stmt



async def _check_teams(session: AsyncSession, team_ids: Sequence[uuid.UUID]) -> None:
    found = set((await session.scalars(select(Team.id).where(Team.id.in_(team_ids)))).all())
    missing = [str(t) for t in team_ids if t not in found]
    if missing:
        raise Problem(422, "unknown-team", "Unknown team", f"no team {', '.join(missing)}",
                      team_ids=missing)


async def _replace_teams(session: AsyncSession, agent_id: uuid.UUID,
                         team_ids: list[uuid.UUID]) -> None:
    await _check_teams(session, team_ids)
    await session.execute(delete(AgentTeam).where(AgentTeam.agent_id == agent_id))
    session.add_all(AgentTeam(agent_id=agent_id, team_id=t) for t in team_ids)


async def _flush_or_conflict(session: AsyncSession, email: str) -> None:
    try:
        await session.flush()
    except IntegrityError as err:
        await session.rollback()
        raise Problem(409, "conflict", "Already exists", _email_taken(email)) from err


def _email_taken(email: str | None) -> str:
    return f"an agent with email {email!r} exists"


async def _out(session: AsyncSession, agent: Agent) -> AgentOut:
    return (await _outs(session, [agent]))[0]


async def _outs(session: AsyncSession, agents: Sequence[Agent]) -> list[AgentOut]:
    return await agent_bodies(session, agents, AgentOut)


async def agent_bodies(session: AsyncSession, agents: Sequence[Agent],
                       model: type[BodyT]) -> list[BodyT]:
    """Agents as `model` bodies with their team ids, loaded for all of them in one query."""
    teams = await queries.team_ids_by_agent(session=session, agent_ids=[a.id for a in agents])
    fields = model.model_fields.keys() - {"team_ids"}
    return [model(team_ids=teams.get(a.id, []), **{f: getattr(a, f) for f in fields})
            for a in agents]
