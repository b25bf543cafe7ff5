"""/api/v1/tickets/{ticket}/portal-tokens: a link for the customer to follow their ticket.

Staff who reach a ticket may give its customer a token that reads the public conversation
and replies as that customer, and nothing else.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, status

from api.admin.schemas import PORTAL_TOKEN_DAYS, PortalTokenCreate, TokenIssued
from api.admin.tokens import issue
from api.auth import CurrentPrincipal
from api.deps import SessionDep
from api.openapi import problems
from domain.access import TokenKind, require_staff
from services.ticket_access import live_ticket

router = APIRouter(prefix="/tickets", tags=["tickets"])


@router.post("/{ticket}/portal-tokens", status_code=status.HTTP_201_CREATED,
             response_model=TokenIssued, responses=problems(404, 410, 422))
async def create_portal_token(ticket: str, session: SessionDep, principal: CurrentPrincipal,
                              body: PortalTokenCreate | None = None) -> dict[str, Any]:
    require_staff(principal)
    row = await live_ticket(session, ticket, principal)
    body = body or PortalTokenCreate()
    expires_at = body.expires_at or datetime.now(UTC) + timedelta(days=PORTAL_TOKEN_DAYS)
    return await issue(session, principal, kind=TokenKind.CUSTOMER, name=body.name,
                       expires_at=expires_at, ticket_id=row.id,
                       customer_email=row.customer_email)
