"""/api/v1/me: who this token is, so a client can show it and check it works."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import CurrentPrincipal
from api.deps import DeskDep, SessionDep
from api.openapi import problems
from db import queries
from db.models import Agent
from domain.access import TokenKind
from services import accounts

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
        row = await queries.get_agent(session=session, agent_id=uuid.UUID(principal.agent_id))
        agent = {"id": str(row.id), "name": row.name, "email": row.email,
                 "role": row.role, "out_of_office": _out_of_office(row)} if row else None
    return MeOut(token_id=principal.token_id, kind=principal.kind, is_admin=principal.is_admin,
                 agent=agent, team_ids=sorted(principal.team_ids),
                 ticket_id=principal.ticket_id, customer_email=principal.customer_email)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str
    new_password: str = Field(description="10 to 256 characters")


@router.put("/me/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
            responses=problems(403, 422))
async def change_password(body: PasswordChange, desk: DeskDep,
                          principal: CurrentPrincipal) -> Response:
    """An agent changes its own workspace password; its signed-in sessions end."""
    await accounts.change_own_password(desk, principal, current=body.current_password,
                                       new=body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _out_of_office(agent: Agent) -> dict[str, Any] | None:
    if agent.out_of_office_start is None or agent.out_of_office_end is None:
        return None
    delegate = agent.out_of_office_delegate_id
    return {"start": agent.out_of_office_start.isoformat(),
            "end": agent.out_of_office_end.isoformat(),
            "delegate_id": str(delegate) if delegate else None}
