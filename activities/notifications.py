"""Notifications about tickets (sla.warning, sla.breached): one row per recipient.

The rows are the agents' in-app inbox (`GET /api/v1/me/notifications`) and what email and
Slack deliver from (feeds/notice_dispatch.py). Idempotent: a retried activity writes nothing
twice, because each row's id is derived from the ticket, the audit row it belongs to and the
recipient.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity

from db.models import Agent, AgentTeam, Notification, Team
from domain.access import Role
from workflows.ticket_types import Notice

# Who hears about what: leads always; the assignee too once the ticket has breached.
ASSIGNEE_HEARS = frozenset({"sla.breached"})


class NotificationActivities:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @activity.defn(name="send_notification")
    async def send_notification(self, notice: Notice) -> int:
        """Write the notice for each recipient; the number of recipients."""
        async with self.engine.begin() as conn:
            team_id = await _existing_team(conn, notice.team_id)
            recipients: Sequence[uuid.UUID | None] = await _recipients(conn, notice, team_id)
            rows = [_row(notice, team_id, agent_id) for agent_id in recipients or [None]]
            stmt = insert(Notification).values(rows).on_conflict_do_nothing()
            await conn.execute(stmt)
        return len(rows)


async def _existing_team(conn: AsyncConnection, team_id: str | None) -> uuid.UUID | None:
    if team_id is None:
        return None
    return await conn.scalar(select(Team.id).where(Team.id == uuid.UUID(team_id)))


async def _recipients(conn: AsyncConnection, notice: Notice,
                      team_id: uuid.UUID | None) -> list[uuid.UUID]:
    """The team's active leads, then (for a breach) the assignee; each once. A notice that
    names its recipients (the P0 heartbeat's manager or leads) goes to them."""
    if notice.recipients is not None:
        # Still there: an agent deleted since the lookup would fail the row's foreign key.
        named = [uuid.UUID(agent_id) for agent_id in notice.recipients]
        return list((await conn.scalars(
            select(Agent.id).where(Agent.id.in_(named)).order_by(Agent.id))).all())
    found: list[uuid.UUID] = []
    if team_id is not None:
        leads = select(Agent.id).join(AgentTeam, AgentTeam.agent_id == Agent.id).where(
            AgentTeam.team_id == team_id, Agent.role == Role.LEAD.value, Agent.active,
        ).order_by(Agent.id)
        found.extend((await conn.scalars(leads)).all())
    if notice.kind in ASSIGNEE_HEARS and notice.assignee_id is not None:
        assignee = await conn.scalar(select(Agent.id).where(
            Agent.id == uuid.UUID(notice.assignee_id), Agent.active))
        if assignee is not None and assignee not in found:
            found.append(assignee)
    return found


def _row(notice: Notice, team_id: uuid.UUID | None, agent_id: uuid.UUID | None
         ) -> dict[str, Any]:
    ticket_id = uuid.UUID(notice.ticket_id)
    key = f"{notice.kind}:{notice.seq}:{agent_id or team_id or '-'}"
    return {
        "id": uuid.uuid5(ticket_id, key), "kind": notice.kind, "ticket_id": ticket_id,
        "agent_id": agent_id, "team_id": team_id, "event_at": notice.event_at,
        "detail": {
            "public_ref": notice.public_ref, "target": notice.target, "priority": notice.priority,
            "due_at": notice.due_at.isoformat() if notice.due_at else None,
        } | notice.detail,
    }
