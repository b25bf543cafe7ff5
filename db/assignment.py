"""The facts push assignment ranks on: a team's mode and overflow times, and its agents with
their load, shift, absence and last assignment (domain/assignment.py does the choosing)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Agent, AgentTeam, Assignment, Team, Ticket
from db.sla_config import load_calendar
from domain.assignment import AssignmentMode, Candidate
from domain.calendar import BusinessCalendar, CalendarError
from domain.lifecycle import OPEN


@dataclass(frozen=True)
class TeamAssignment:
    mode: str = AssignmentMode.MANUAL.value
    overflow_seconds: dict[str, int] = field(default_factory=dict)


async def team_assignment(*, session: AsyncSession, team_id: uuid.UUID
                          ) -> TeamAssignment | None:
    team = await session.get(Team, team_id)
    if team is None:
        return None
    return TeamAssignment(mode=team.assignment_mode,
                          overflow_seconds=dict(team.overflow_seconds or {}))


async def team_candidates(*, session: AsyncSession, team_id: uuid.UUID, at: datetime
                          ) -> list[Candidate]:
    """Every active agent of the team, with whether their shift calendar is open at `at`."""
    found = (await session.execute(_candidates_query(team_id))).all()
    shifts: dict[str, bool] = {}
    candidates = []
    for agent, open_tickets, last_assigned_at in found:
        name = agent.shift_calendar
        if name is not None and name not in shifts:
            shifts[name] = await _shift_open(session, name, at)
        candidates.append(Candidate(
            agent_id=str(agent.id), open_tickets=open_tickets, capacity=agent.capacity,
            skills=frozenset(agent.skills or ()), active=agent.active,
            on_shift=True if name is None else shifts[name], generalist=agent.generalist,
            out_of_office_start=agent.out_of_office_start,
            out_of_office_end=agent.out_of_office_end, last_assigned_at=last_assigned_at,
        ))
    return candidates


async def _shift_open(session: AsyncSession, name: str, at: datetime) -> bool:
    spec = await load_calendar(session=session, name=name, at=at)
    if spec is None:
        return False  # a shift calendar that no longer exists puts nobody on shift
    try:
        return BusinessCalendar(spec).is_open(at)
    except CalendarError:
        return False


def _candidates_query(team_id: uuid.UUID) -> Select[Any]:
    open_tickets = (
        select(func.count()).select_from(Ticket)
        .where(Ticket.assignee_id == Agent.id, Ticket.status.in_(sorted(s.value for s in OPEN)))
        .scalar_subquery()
    )
    last_assigned = (
        select(func.max(Assignment.created_at)).where(Assignment.agent_id == Agent.id)
        .scalar_subquery()
    )
    return (
        select(Agent, open_tickets, last_assigned)
        .join(AgentTeam, AgentTeam.agent_id == Agent.id)
        .where(AgentTeam.team_id == team_id, Agent.active)
        .order_by(Agent.id)
    )
