"""Bearer authentication: every /api/v1 call resolves its token to a Principal, or gets 401.

Tokens are looked up on every request (an indexed read), never cached: a revocation or an
expiry takes effect on the very next call.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SessionDep
from api.problems import Problem
from db import tokens
from domain.access import Principal, Role, TokenKind

# auto_error=False: a missing header is our 401 problem, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="an API token: `Authorization: Bearer hd…`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def unauthenticated(detail: str) -> Problem:
    return Problem(401, "unauthenticated", "Authentication required", detail,
                   headers={"WWW-Authenticate": 'Bearer realm="helpdesk"'})


async def authenticate(request: Request, session: SessionDep,
                       credentials: Credentials) -> Principal:
    if credentials is None:
        raise unauthenticated("send Authorization: Bearer <token>")
    found = await _lookup(request, session, credentials.credentials)
    now = datetime.now(UTC)
    principal = principal_of(found, now)
    assert found is not None  # principal_of refuses an unknown token
    if await tokens.mark_used(session=session, token=found.token, now=now):
        await session.commit()
    # Otherwise the lookup's transaction stays open for the route's own reads (two round
    # trips saved); routes that then wait on Temporal commit first, releasing the connection.
    await request.app.state.rate_limits.hit_token(principal.token_id)
    return principal


async def _lookup(request: Request, session: SessionDep, secret: str) -> tokens.Lookup | None:
    found = await tokens.lookup(session=session, secret=secret)
    admin_token: str | None = request.app.state.settings.admin_token
    # Bytes: compare_digest refuses str with non-ASCII characters (a header may hold any).
    if found is None and admin_token and hmac.compare_digest(secret.encode(),
                                                             admin_token.encode()):
        # The database was not reachable when the API started: install the token now.
        await tokens.ensure_bootstrap_admin(engine=request.app.state.engine, secret=secret)
        found = await tokens.lookup(session=session, secret=secret)
    return found


def principal_of(found: tokens.Lookup | None, now: datetime) -> Principal:
    """Who a looked-up token is; 401 when it is unknown, revoked, expired or deactivated."""
    if found is None:
        raise unauthenticated("this token is not one the help desk issued")
    token = found.token
    if token.revoked_at is not None:
        raise unauthenticated("this token was revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise unauthenticated("this token has expired")
    if token.agent_id is not None and not found.agent_active:
        raise unauthenticated("this token's agent is deactivated")
    return Principal(
        token_id=str(token.id), kind=TokenKind(token.kind),
        agent_id=_text(token.agent_id), role=Role(found.agent_role) if found.agent_role else None,
        team_ids=frozenset(str(t) for t in found.team_ids), ticket_id=_text(token.ticket_id),
        customer_email=token.customer_email,
    )


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
