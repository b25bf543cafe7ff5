"""/api/v1/admin/tokens: issue, list and revoke API tokens (the secret is shown once)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, status
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.common import (
    AdminDep,
    Limit,
    audit,
    decode,
    get_or_404,
    next_cursor,
    not_found,
)
from api.admin.schemas import TokenCreate, TokenIssued, TokenOut, TokenPage
from api.deps import SessionDep
from api.problems import Problem
from db import queries, tokens
from db.models import ApiToken
from domain.access import Principal, TokenKind

router = APIRouter(prefix="/tokens", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenIssued)
async def create_token(body: TokenCreate, session: SessionDep, admin: AdminDep
                       ) -> dict[str, Any]:
    agent_id = await _agent_binding(session, body)
    ticket_id, customer_email = await _ticket_binding(session, body)
    return await issue(session, admin, kind=body.kind, name=body.name, agent_id=agent_id,
                       ticket_id=ticket_id, customer_email=customer_email,
                       expires_at=body.expires_at)


@router.get("", response_model=TokenPage)
async def list_tokens(
    session: SessionDep, kind: TokenKind | None = None, agent_id: uuid.UUID | None = None,
    include_revoked: bool = False, limit: Limit = 50, cursor: str | None = None,
) -> dict[str, Any]:
    after = decode(cursor, datetime.fromisoformat, uuid.UUID)
    rows = await tokens.list_tokens(
        session=session, kind=kind, agent_id=agent_id, include_revoked=include_revoked,
        limit=limit, after=(after[0], after[1]) if after else None)
    return {"items": rows, "next_cursor": next_cursor(rows, limit, "created_at", "id")}


@router.get("/{token_id}", response_model=TokenOut)
async def get_token(token_id: uuid.UUID, session: SessionDep) -> ApiToken:
    return await get_or_404(session, ApiToken, token_id, "token")


@router.delete("/{token_id}", response_model=TokenOut)
async def revoke_token(token_id: uuid.UUID, session: SessionDep, admin: AdminDep) -> ApiToken:
    """Revoked at once: the very next request with it gets 401. Revoking twice is harmless."""
    row = await tokens.revoke(session=session, token_id=token_id)
    if row is None:
        raise not_found("token", token_id)
    audit(session, admin, "revoked", "token", token_id, name=row.name, kind=row.kind)
    await session.commit()
    return row


async def issue(session: AsyncSession, principal: Principal, *, kind: TokenKind, name: str,
                expires_at: datetime | None, **binding: Any) -> dict[str, Any]:
    """Create a token and answer with its secret, the only time anyone sees it."""
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise Problem(422, "bad-expiry", "Expiry in the past",
                      "expires_at must be in the future (or omitted for no expiry)")
    _, created_by = principal.actor
    row, secret = await tokens.create_token(session=session, kind=kind, name=name,
                                            expires_at=expires_at, created_by=created_by,
                                            **binding)
    audit(session, principal, "issued", "token", row.id, name=name, kind=kind.value,
          **{k: str(v) for k, v in binding.items() if v is not None})
    await session.commit()
    return TokenOut.model_validate(row).model_dump() | {"token": secret}


async def _agent_binding(session: AsyncSession, body: TokenCreate) -> uuid.UUID | None:
    if body.kind is not TokenKind.AGENT:
        _refuse_binding(body.agent_id is not None, "agent_id", "agent")
        return None
    if body.agent_id is None:
        raise Problem(422, "bad-token-binding", "Agent required",
                      "an agent token names the agent it acts as (agent_id)")
    agent = await queries.get_agent(session=session, agent_id=body.agent_id)
    if agent is None or not agent.active:
        raise Problem(422, "unknown-agent", "Unknown agent", f"no active agent {body.agent_id}")
    return agent.id


async def _ticket_binding(session: AsyncSession, body: TokenCreate
                          ) -> tuple[uuid.UUID | None, str | None]:
    if body.kind is not TokenKind.CUSTOMER:
        _refuse_binding(body.ticket is not None, "ticket", "customer")
        return None, None
    row = await queries.get_ticket(session=session, key=body.ticket) if body.ticket else None
    if row is None:
        raise Problem(422, "bad-token-binding", "Ticket required",
                      "a customer token names an existing ticket (ticket: UUID or ref)")
    return row.id, row.customer_email


def _refuse_binding(present: bool, field: str, kind: str) -> None:
    if present:
        raise Problem(422, "bad-token-binding", "Binding not allowed",
                      f"{field} belongs only on a {kind} token")
