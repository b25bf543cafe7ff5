"""/api/v1/admin/teams: the teams tickets are routed to."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from sqlalchemy import exists, func, select, tuple_
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
from api.admin.schemas import TeamCreate, TeamOut, TeamPage, TeamUpdate
from api.admin.sla_refs import ensure_calendar, ensure_policy
from api.deps import SessionDep
from api.problems import Problem
from db.models import Agent, AgentTeam, Team, Ticket

router = APIRouter(prefix="/teams", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TeamOut)
async def create_team(body: TeamCreate, session: SessionDep, admin: AdminDep) -> Team:
    await _check_senior_pool(session, body.senior_pool_team_id, None)
    await _check_manager(session, body.manager_id)
    await ensure_calendar(session, body.calendar)
    await ensure_policy(session, body.sla_policy)
    team = Team(id=uuid.uuid4(), **body.model_dump())
    session.add(team)
    audit(session, admin, "created", "team", team.id, **body.model_dump(mode="json"))
    await commit_or_conflict(session, f"a team named {body.name!r} exists")
    return team


@router.get("", response_model=TeamPage)
async def list_teams(session: SessionDep, _: AdminDep, limit: Limit = 50,
                     cursor: str | None = None) -> dict[str, Any]:
    stmt = select(Team).order_by(Team.name, Team.id).limit(limit)
    if after := decode(cursor, str, uuid.UUID):
        stmt = stmt.where(tuple_(Team.name, Team.id) > tuple(after))
    rows = (await session.scalars(stmt)).all()
    return {"items": rows, "next_cursor": next_cursor(rows, limit, "name", "id")}


@router.get("/{team_id}", response_model=TeamOut)
async def get_team(team_id: uuid.UUID, session: SessionDep, _: AdminDep) -> Team:
    return await get_or_404(session, Team, team_id, "team")


@router.patch("/{team_id}", response_model=TeamOut)
async def update_team(team_id: uuid.UUID, body: TeamUpdate, session: SessionDep,
                      admin: AdminDep) -> Team:
    team = await get_or_404(session, Team, team_id, "team")
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name", "") is None:
        raise Problem(422, "invalid-body", "Invalid request", "name: a team keeps a name")
    for kept in ("assignment_mode", "overflow_seconds"):
        if kept in changes and changes[kept] is None:
            raise Problem(422, "invalid-body", "Invalid request", f"{kept}: may not be null")
    if "senior_pool_team_id" in changes:
        await _check_senior_pool(session, body.senior_pool_team_id, team_id)
    if "manager_id" in changes:
        await _check_manager(session, body.manager_id)
    await ensure_calendar(session, changes.get("calendar"))
    await ensure_policy(session, changes.get("sla_policy"))
    for field, value in changes.items():
        setattr(team, field, value)
    team.updated_at = func.now()
    audit(session, admin, "updated", "team", team_id, **body.model_dump(mode="json",
                                                                      exclude_unset=True))
    await commit_or_conflict(session, f"a team named {body.name!r} exists")
    await session.refresh(team)  # updated_at was set by the database
    return team


@router.delete("/{team_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_team(team_id: uuid.UUID, session: SessionDep, admin: AdminDep) -> None:
    """Only an unused team goes: tickets, members and escalations keep theirs."""
    team = await get_or_404(session, Team, team_id, "team")
    for what, used in (("tickets", Ticket.team_id), ("members", AgentTeam.team_id),
                       ("teams escalating to it", Team.senior_pool_team_id)):
        if await session.scalar(select(exists().where(used == team_id))):
            raise Problem(409, "team-in-use", "Team in use",
                          f"team {team.name!r} still has {what}; move them first")
    await session.delete(team)
    audit(session, admin, "deleted", "team", team_id, name=team.name)
    await session.commit()



async def _check_senior_pool(session: AsyncSession, pool_id: uuid.UUID | None,
                             team_id: uuid.UUID | None) -> None:
    if pool_id is None:
        return
    if pool_id == team_id:
        raise Problem(422, "bad-senior-pool", "Bad senior pool",
                      "a team cannot be its own senior pool")
    if await session.get(Team, pool_id) is None:
        raise Problem(422, "unknown-team", "Unknown team", f"no team {pool_id} for the senior pool")


async def _check_manager(session: AsyncSession, agent_id: uuid.UUID | None) -> None:
    """A manager is an active agent: notices to anyone else would reach nobody."""
    if agent_id is None:
        return
    agent = await session.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise Problem(422, "unknown-agent", "Unknown agent",
                      f"no active agent {agent_id} to manage the team")
