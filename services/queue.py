"""The pull queue: an agent takes the next ticket of its teams.

Each attempt claims a candidate in Postgres (db/queue.py, one statement) and asks the ticket's
workflow to confirm it (the `claim` update, whose validator refuses a stale claim). A claim
lost to another caller, or a ticket that ended meanwhile, is not the caller's error: the next
candidate is tried.
"""

from __future__ import annotations

import uuid

from db import queue
from domain.access import Principal, TokenKind, require
from domain.errors import ClaimLost, TicketDegraded, TicketEnded
from domain.records import TicketSnapshot
from services.commands import WorkflowGone, send_update
from services.desk import Desk
from services.schemas import TicketOut
from services.views import ticket_out
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import ClaimIn

# Each attempt either confirms a ticket or rules one out, so the loop ends on its own when
# the candidates run out; the bound only caps the work one call may do under a stampede.
MAX_ATTEMPTS = 20


async def claim_next_ticket(desk: Desk, principal: Principal) -> TicketOut | None:
    """The ticket now assigned to the calling agent; None when nothing is left to take."""
    agent_id = _agent_of(principal)
    tried: list[uuid.UUID] = []
    for _ in range(MAX_ATTEMPTS):
        pick = await queue.claim_next_ticket(session=desk.session, agent_id=agent_id,
                                             exclude=tried)
        if pick is None:
            break
        tried.append(pick.ticket_id)
        if not pick.claimed:
            continue  # another caller's claim committed first: try the next candidate
        taken = await _confirm(desk, pick, agent_id)
        await queue.release_claim(session=desk.session, ticket_id=pick.ticket_id,
                                  agent_id=agent_id)
        if taken is not None:
            return ticket_out(taken)
    return None


def _agent_of(principal: Principal) -> uuid.UUID:
    require(principal.kind is TokenKind.AGENT and principal.agent_id is not None,
            "only an agent token takes tickets from the queue")
    assert principal.agent_id is not None
    return uuid.UUID(principal.agent_id)


async def _confirm(desk: Desk, pick: queue.Pick, agent_id: uuid.UUID) -> TicketSnapshot | None:
    """The ticket, now the agent's; None when the claim went stale. Other failures propagate
    and leave the claim to expire."""
    claim_id = str(uuid.uuid4())
    command = ClaimIn(agent_id=str(agent_id), team_id=str(pick.team_id), claim_id=claim_id)
    try:
        result: TicketSnapshot = await send_update(
            desk.temporal, pick.public_ref, TicketWorkflow.claim, command,
            update_id=f"claim-{claim_id}")
    except (ClaimLost, TicketEnded, TicketDegraded, WorkflowGone):
        return None
    return result
