"""/api/v1/queue: an agent takes the next ticket of its teams (the pull queue).

Each attempt claims a candidate in Postgres (db/queue.py, one statement) and asks the ticket's
workflow to confirm it (the `claim` update, whose validator refuses a stale claim). A claim
lost to another caller, or a ticket that ended meanwhile, is not the caller's error: the
use case moves on to the next candidate. 200 with the ticket taken; 204 when there is none.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import problems
from services.queue import claim_next_ticket
from services.schemas import TicketOut

router = APIRouter(prefix="/queue", tags=["queue"])


@router.post("/next", response_model=TicketOut,
             responses={status.HTTP_204_NO_CONTENT: {"description": "nothing to take"},
                        **problems(503, 504)})
async def take_next_ticket(desk: DeskDep, principal: CurrentPrincipal) -> TicketOut | Response:
    taken = await claim_next_ticket(desk, principal)
    return taken if taken is not None else Response(status_code=status.HTTP_204_NO_CONTENT)
