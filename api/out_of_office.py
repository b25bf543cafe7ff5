"""/api/v1/agents/{agent_id}/out-of-office: an agent's absence, and the handover it schedules.

Set by the agent, a lead of one of its teams, or an admin; recorded in the admin audit.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from api.admin.common import audit
from api.auth import CurrentPrincipal
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.handover_schedule import cancel_handover, schedule_handover
from api.openapi import problems
from api.problems import Problem
from db import queries
from db.models import Agent, AgentTeam
from domain.access import Principal, require_agent_settings, require_staff
from domain.instants import Instant
from domain.out_of_office import period_problem, schedule_id

router = APIRouter(prefix="/agents", tags=["directory"])


class OutOfOfficeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: Instant
    end: Instant
    delegate_id: uuid.UUID | None = None


class OutOfOfficeOut(BaseModel):
    agent_id: uuid.UUID
    start: datetime
    end: datetime
    delegate_id: uuid.UUID | None
    schedule_id: str
    handover: str  # scheduled (at start) or started (the period has begun)


@router.put("/{agent_id}/out-of-office", response_model=OutOfOfficeOut,
            responses=problems(404, 422))
async def set_out_of_office(agent_id: uuid.UUID, body: OutOfOfficeIn, session: SessionDep,
                            principal: CurrentPrincipal, temporal: TemporalDep,
                            settings: SettingsDep) -> OutOfOfficeOut:
    agent = await _agent_within_reach(session, principal, agent_id)
    now = datetime.now(UTC)
    if problem := period_problem(body.start, body.end, now):
        raise Problem(422, "invalid-out-of-office", "Invalid out of office", problem)
    if body.delegate_id is not None:
        await _check_delegate(session, agent_id, body.delegate_id)
    agent.out_of_office_start, agent.out_of_office_end = body.start, body.end
    agent.out_of_office_delegate_id = body.delegate_id
    agent.updated_at = func.now()
    audit(session, principal, "out_of_office_set", "agent", agent_id,
          **body.model_dump(mode="json"))
    # Committed before the handover can start: it reads the period back and moves nothing
    # for a period that is not (or no longer) the agent's.
    await session.commit()
    handover = await schedule_handover(temporal, task_queue=settings.temporal_task_queue,
                                       agent_id=str(agent_id), start=body.start, now=now)
    return OutOfOfficeOut(agent_id=agent_id, start=body.start, end=body.end,
                          delegate_id=body.delegate_id, schedule_id=schedule_id(str(agent_id)),
                          handover=handover)


@router.delete("/{agent_id}/out-of-office", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response, responses=problems(404, 422))
async def clear_out_of_office(agent_id: uuid.UUID, session: SessionDep,
                              principal: CurrentPrincipal, temporal: TemporalDep) -> Response:
    """Back at work: the period and its pending handover go; moved tickets stay moved."""
    agent = await _agent_within_reach(session, principal, agent_id)
    if agent.out_of_office_start is not None:
        agent.out_of_office_start = agent.out_of_office_end = None
        agent.out_of_office_delegate_id = None
        agent.updated_at = func.now()
        audit(session, principal, "out_of_office_cleared", "agent", agent_id)
    await session.commit()  # also ends the read transaction before waiting on Temporal
    await cancel_handover(temporal, agent_id=str(agent_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _agent_within_reach(session: SessionDep, principal: Principal,
                              agent_id: uuid.UUID) -> Agent:
    require_staff(principal)
    agent = await queries.get_agent(session=session, agent_id=agent_id)
    if agent is None:
        raise Problem(404, "not-found", "Agent not found", f"no agent {agent_id}")
    teams = await queries.agent_team_ids(session=session, agent_id=agent_id)
    require_agent_settings(principal, agent_id=str(agent_id),
                           agent_team_ids=frozenset(str(t) for t in teams))
    return agent


async def _check_delegate(session: SessionDep, agent_id: uuid.UUID,
                          delegate_id: uuid.UUID) -> None:
    """The delegate is another active agent sharing one of the agent's teams."""
    if delegate_id == agent_id:
        raise _bad_delegate("an agent cannot delegate to themself", delegate_id)
    agent_teams = select(AgentTeam.team_id).where(AgentTeam.agent_id == agent_id)
    shares = await session.scalar(
        select(Agent.id).join(AgentTeam, AgentTeam.agent_id == Agent.id).where(
            Agent.id == delegate_id, Agent.active, AgentTeam.team_id.in_(agent_teams)).limit(1))
    if shares is None:
        raise _bad_delegate("the delegate must be an active agent in one of the agent's teams",
                            delegate_id)


def _bad_delegate(detail: str, delegate_id: uuid.UUID) -> Problem:
    return Problem(422, "invalid-delegate", "Invalid delegate", detail,
                   delegate_id=str(delegate_id))
