"""The vacation handover's side effects: read the plan, assign each ticket, tell the delegate.

Assigning goes through the ticket's own workflow (its `assign` update), with an update id
derived from the agent, the period's start and the ticket: a retried activity or a re-run
handover moves no ticket twice.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from db.models import Agent, AgentTeam, Notification, Ticket
from domain.lifecycle import OPEN
from domain.out_of_office import HANDOVER_NOTIFICATION, handover_update_id
from workflows.ticket_types import AssignIn, AssignmentKind
from workflows.vacation_handover_types import (
    HandoverInput,
    HandoverNotice,
    HandoverOrder,
    HandoverPlan,
    HandoverTicket,
)

log = logging.getLogger("helpdesk.vacation_handover")
SYSTEM = "system"


class HandoverActivities:
    def __init__(self, engine: AsyncEngine, client: Client) -> None:
        self.engine, self.client = engine, client

    @activity.defn(name="plan_vacation_handover")
    async def plan_vacation_handover(self, inp: HandoverInput) -> HandoverPlan:
        async with self.engine.connect() as conn:
            agent = (await conn.execute(
                select(Agent).where(Agent.id == uuid.UUID(inp.agent_id)))).first()
            if agent is None or agent.out_of_office_start != inp.start:
                return HandoverPlan(current=False)
            delegate = await _usable_delegate(conn, agent)
            tickets = (await conn.execute(
                select(Ticket.id, Ticket.public_ref, Ticket.team_id).where(
                    Ticket.assignee_id == agent.id,
                    Ticket.status.in_([s.value for s in OPEN]),
                ).order_by(Ticket.created_at))).all()
        return HandoverPlan(
            current=True, agent_name=agent.name, end=agent.out_of_office_end,
            delegate_id=str(delegate) if delegate else None,
            tickets=[HandoverTicket(str(t.id), t.public_ref, str(t.team_id) if t.team_id else None)
                     for t in tickets])

    @activity.defn(name="hand_over_ticket")
    async def hand_over_ticket(self, order: HandoverOrder) -> bool:
        """True when the ticket moved; False when it refused (ended or closed meanwhile)."""
        ticket = order.ticket
        cmd = AssignIn(agent_id=order.delegate_id, team_id=ticket.team_id, reason=order.reason,
                       actor_id=SYSTEM, actor_type=SYSTEM,
                       kind=AssignmentKind.VACATION_HANDOVER.value)
        update_id = handover_update_id(order.agent_id, order.start, ticket.ticket_id)
        handle = self.client.get_workflow_handle(ticket.public_ref)
        try:
            await handle.execute_update("assign", cmd, id=update_id)
        except WorkflowUpdateFailedError as err:
            log.info("vacation handover skipped %s: %s", ticket.public_ref, err.cause)
            return False
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            log.info("vacation handover skipped %s: its workflow has ended", ticket.public_ref)
            return False
        return True

    @activity.defn(name="notify_vacation_handover")
    async def notify_vacation_handover(self, notice: HandoverNotice) -> int:
        """One row per ticket handed over, in the delegate's inbox; the number written."""
        rows = [_row(notice, ticket) for ticket in notice.tickets]
        async with self.engine.begin() as conn:
            await conn.execute(insert(Notification).values(rows).on_conflict_do_nothing())
        return len(rows)


async def _usable_delegate(conn: AsyncConnection, agent: Any) -> uuid.UUID | None:
    """The delegate if still active and in one of the agent's teams; else the queue."""
    if agent.out_of_office_delegate_id is None:
        return None
    agent_teams = select(AgentTeam.team_id).where(AgentTeam.agent_id == agent.id)
    return await conn.scalar(
        select(Agent.id).join(AgentTeam, AgentTeam.agent_id == Agent.id).where(
            Agent.id == agent.out_of_office_delegate_id, Agent.active,
            AgentTeam.team_id.in_(agent_teams)).limit(1))


def _row(notice: HandoverNotice, ticket: HandoverTicket) -> dict[str, Any]:
    ticket_id = uuid.UUID(ticket.ticket_id)
    key = f"{HANDOVER_NOTIFICATION}:{notice.agent_id}:{notice.start.timestamp()}:" \
          f"{notice.delegate_id}"
    return {
        "id": uuid.uuid5(ticket_id, key), "kind": HANDOVER_NOTIFICATION,
        "ticket_id": ticket_id, "agent_id": uuid.UUID(notice.delegate_id),
        "team_id": None,  # the delegate's own notice, not the team's
        "event_at": notice.event_at,
        "detail": {
            "public_ref": ticket.public_ref, "from_agent_id": notice.agent_id,
            "from_agent_name": notice.agent_name,
            "until": notice.end.isoformat() if notice.end else None,
            "handed_over": len(notice.tickets),
            "refs": [t.public_ref for t in notice.tickets],
        },
    }
