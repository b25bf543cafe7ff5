"""Where a breached ticket goes: its team's senior pool, and the least-loaded senior there;
who hears of a silent urgent ticket (the P0 heartbeat): its team's manager, else its leads."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from db.models import Agent, AgentTeam, Team, Ticket
from domain.access import Role
from domain.lifecycle import OPEN
from workflows.ticket_types import (
    EscalationRequest,
    EscalationTarget,
    HeartbeatRecipients,
    HeartbeatRequest,
)


class EscalationActivities:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @activity.defn(name="find_escalation_target")
    async def find_escalation_target(self, request: EscalationRequest
                                     ) -> EscalationTarget | None:
        """None when the team has no senior pool or the ticket is already with a senior."""
        if request.team_id is None:
            return None
        async with self.engine.connect() as conn:
            pool = await conn.scalar(select(Team.senior_pool_team_id)
                                     .where(Team.id == uuid.UUID(request.team_id)))
            if pool is None:
                return None
            if request.assignee_id is not None and await conn.scalar(
                select(Agent.senior).where(Agent.id == uuid.UUID(request.assignee_id))
            ):
                return None
            agent = await conn.scalar(_least_loaded_senior(pool))
        return EscalationTarget(team_id=str(pool), agent_id=str(agent) if agent else None)

    @activity.defn(name="find_heartbeat_recipients")
    async def find_heartbeat_recipients(self, request: HeartbeatRequest) -> HeartbeatRecipients:
        """The team's active manager; with none, its active leads; else nobody (told so)."""
        if request.team_id is None:
            return HeartbeatRecipients(agent_ids=[], told="nobody")
        team_id = uuid.UUID(request.team_id)
        async with self.engine.connect() as conn:
            manager = await conn.scalar(
                select(Agent.id).join(Team, Team.manager_id == Agent.id)
                .where(Team.id == team_id, Agent.active))
            if manager is not None:
                return HeartbeatRecipients(agent_ids=[str(manager)], told="manager",
                                           manager_id=str(manager))
            leads = (await conn.scalars(team_leads(team_id))).all()
        if leads:
            return HeartbeatRecipients(agent_ids=[str(a) for a in leads], told="leads")
        return HeartbeatRecipients(agent_ids=[], told="nobody")


def team_leads(team_id: uuid.UUID) -> Select[uuid.UUID]:
    return (select(Agent.id).join(AgentTeam, AgentTeam.agent_id == Agent.id)
            .where(AgentTeam.team_id == team_id, Agent.role == Role.LEAD.value, Agent.active)
            .order_by(Agent.id))


def _least_loaded_senior(pool: uuid.UUID) -> Select[uuid.UUID]:
    open_load = (
        select(func.count()).select_from(Ticket)
        .where(Ticket.assignee_id == Agent.id, Ticket.status.in_(sorted(s.value for s in OPEN)))
        .scalar_subquery()
    )
    return (
        select(Agent.id).join(AgentTeam, AgentTeam.agent_id == Agent.id)
        .where(AgentTeam.team_id == pool, Agent.senior, Agent.active)
        .order_by(open_load, Agent.id).limit(1)
    )

