"""Who the caller is: its token, and for an agent its name, email, role and out of office."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from db import queries
from db.models import Agent, AgentTeam, Team
from domain.access import Principal, TokenKind
from services.desk import Desk


class MeOut(BaseModel):
    token_id: str
    kind: TokenKind
    is_admin: bool
    agent: dict[str, Any] | None
    team_ids: list[str]
    ticket_id: str | None
    customer_email: str | None


async def who_am_i(desk: Desk, principal: Principal) -> MeOut:
    agent = None
    if principal.agent_id:
        row = await queries.get_agent(session=desk.session,
                                      agent_id=uuid.UUID(principal.agent_id))
        agent = {"id": str(row.id), "name": row.name, "email": row.email,
                 "role": row.role, "teams": await _teams(desk, row.id),
                 "out_of_office": _out_of_office(row)} if row else None
    return MeOut(token_id=principal.token_id, kind=principal.kind, is_admin=principal.is_admin,
                 agent=agent, team_ids=sorted(principal.team_ids),
                 ticket_id=principal.ticket_id, customer_email=principal.customer_email)


async def _teams(desk: Desk, agent_id: uuid.UUID) -> list[dict[str, str]]:
    """The agent's teams by name: what a person reads (team_ids is what a client checks)."""
    rows = await desk.session.execute(
        select(Team.id, Team.name).join(AgentTeam, AgentTeam.team_id == Team.id)
        .where(AgentTeam.agent_id == agent_id).order_by(Team.name))
    return [{"id": str(team_id), "name": name} for team_id, name in rows.all()]


def _out_of_office(agent: Agent) -> dict[str, Any] | None:
    if agent.out_of_office_start is None or agent.out_of_office_end is None:
        return None
    delegate = agent.out_of_office_delegate_id
    return {"start": agent.out_of_office_start.isoformat(),
            "end": agent.out_of_office_end.isoformat(),
            "delegate_id": str(delegate) if delegate else None}
