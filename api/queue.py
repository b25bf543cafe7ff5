"""/api/v1/queue: an agent takes the next ticket of its teams (the pull queue).

Each attempt claims a candidate in Postgres (db/queue.py, one statement) and asks the ticket's
workflow to confirm it (the `claim` update, whose validator refuses a stale claim). A claim
lost to another caller, or a ticket that ended meanwhile, is not the caller's error: the
route moves on to the next candidate. 200 with the ticket taken; 204 when there is none.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from api.auth import CurrentPrincipal
from api.commands import WorkflowGone, send_update
from api.deps import SessionDep, TemporalDep
from api.openapi import problems
from api.schemas import TicketOut
from api.views import ticket_out
from db import queue
from domain.access import Principal, TokenKind, require
from domain.errors import ClaimLost, TicketDegraded, TicketEnded
from domain.records import TicketSnapshot
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import ClaimIn

router = APIRouter(prefix="/queue", tags=["queue"])
# Each attempt either confirms a ticket or rules one out, so the loop ends on its own when
# the candidates run out; the bound only caps the work one call may do under a stampede.
MAX_ATTEMPTS = 20


@router.post("/next", response_model=TicketOut,
             responses={status.HTTP_204_NO_CONTENT: {"description": "nothing to take"},
                        **problems(503, 504)})
async def take_next_ticket(session: SessionDep, client: TemporalDep,
                           principal: CurrentPrincipal) -> TicketOut | Response:
    agent_id = _agent_of(principal)
    tried: list[uuid.UUID] = []
    for _ in range(MAX_ATTEMPTS):
        pick = await queue.claim_next_ticket(session=session, agent_id=agent_id, exclude=tried)
        if pick is None:
            break
        tried.append(pick.ticket_id)
        if not pick.claimed:
            continue  # another caller's claim committed first: try the next candidate
        taken = await _confirm(client, pick, agent_id)
        await queue.release_claim(session=session, ticket_id=pick.ticket_id, agent_id=agent_id)
        if taken is not None:
            return ticket_out(taken)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _agent_of(principal: Principal) -> uuid.UUID:
    require(principal.kind is TokenKind.AGENT and principal.agent_id is not None,
            "only an agent token takes tickets from the queue")
    return uuid.UUID(principal.agent_id)


async def _confirm(client: TemporalDep, pick: queue.Pick,
                   agent_id: uuid.UUID) -> TicketSnapshot | None:
    """The ticket, now the agent's; None when the claim went stale. Other failures propagate
    and leave the claim to expire."""
    claim_id = str(uuid.uuid4())
    command = ClaimIn(agent_id=str(agent_id), team_id=str(pick.team_id), claim_id=claim_id)
    try:
        return await send_update(client, pick.public_ref, TicketWorkflow.claim, command,
                                 update_id=f"claim-{claim_id}")
    except (ClaimLost, TicketEnded, TicketDegraded, WorkflowGone):
        return None
