"""POST /api/v1/tickets/{ticket}/satisfaction: the customer rates a resolution (CSAT)."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import problems
from services import satisfaction
from services.satisfaction import RatingCreate, RatingOut

router = APIRouter(prefix="/tickets", tags=["satisfaction"])


@router.post("/{ticket}/satisfaction", status_code=status.HTTP_201_CREATED,
             response_model=RatingOut, responses=problems(403, 404, 409, 410, 422, 503, 504))
async def rate_ticket(ticket: str, body: RatingCreate, desk: DeskDep,
                      principal: CurrentPrincipal) -> RatingOut:
    """Rate the ticket's latest resolution good or bad, with an optional comment: with the
    ticket's customer token, once per resolution (409 for a second rating of the same one;
    422 while the ticket is not resolved or closed)."""
    return await satisfaction.rate_ticket(desk, principal, ticket, body)
