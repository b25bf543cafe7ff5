"""/api/v1/me: who this token is, so a client can show it and check it works."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.auth import CurrentPrincipal
from api.deps import SessionDep
from db import queries
from domain.access import TokenKind

router = APIRouter(tags=["me"])


class MeOut(BaseModel):
    token_id: str
    kind: TokenKind
    is_admin: bool
    agent: dict[str, Any] | None
    team_ids: list[str]
    ticket_id: str | None
    customer_email: str | None


@router.get("/me", response_model=MeOut)
async def me(principal: CurrentPrincipal, session: SessionDep) -> MeOut:
    agent = None
    if principal.agent_id:
        row = await queries.get_agent(session=session, agent_id=principal.agent_id)
        agent = {"id": str(row.id), "name": row.name, "email": row.email,
                 "role": row.role} if row else None
    return MeOut(token_id=principal.token_id, kind=principal.kind, is_admin=principal.is_admin,
                 agent=agent, team_ids=sorted(principal.team_ids),
                 ticket_id=principal.ticket_id, customer_email=principal.customer_email)
