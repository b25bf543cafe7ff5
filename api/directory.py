"""/api/v1/teams and /api/v1/agents: just enough directory to assign tickets to someone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import SessionDep
from api.problems import Problem
from api.schemas import AgentCreate, AgentOut, TeamCreate, TeamOut
from db import queries
from db.models import Agent, Team

router = APIRouter(tags=["directory"])
RowT = TypeVar("RowT", Team, Agent)


@router.post("/teams", status_code=status.HTTP_201_CREATED, response_model=TeamOut)
async def create_team(body: TeamCreate, session: SessionDep) -> Team:
    team = Team(name=body.name)
    return await _insert(session, team, f"a team named {body.name!r} exists")


@router.get("/teams", response_model=list[TeamOut])
async def list_teams(session: SessionDep) -> Sequence[Team]:
    return (await session.scalars(select(Team).order_by(Team.name))).all()


@router.post("/agents", status_code=status.HTTP_201_CREATED, response_model=AgentOut)
async def create_agent(body: AgentCreate, session: SessionDep) -> Agent:
    if body.team_id and await queries.get_team(session=session, team_id=body.team_id) is None:
        raise Problem(422, "unknown-team", "Unknown team", f"no team {body.team_id}")
    agent = Agent(email=str(body.email).lower(), name=body.name, team_id=body.team_id)
    return await _insert(session, agent, f"an agent with email {body.email} exists")


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(session: SessionDep) -> Sequence[Agent]:
    return (await session.scalars(select(Agent).order_by(Agent.name))).all()


async def _insert(session: SessionDep, row: RowT, conflict: str) -> RowT:
    session.add(row)
    try:
        await session.commit()
    except IntegrityError as err:
        await session.rollback()
        raise Problem(409, "conflict", "Already exists", conflict) from err
    await session.refresh(row)
    return row
