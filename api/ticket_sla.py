"""/api/v1/tickets/{ticket}/priority and /sla: commands that move a ticket's SLA clocks.

A priority change recomputes every running deadline from its original start; pausing for an
incident stops every clock until the incident's resume (waiting on the customer pauses by
status instead).
"""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import CurrentPrincipal
from api.deps import SessionDep, TemporalDep
from api.openapi import COMMAND_PROBLEMS
from api.schemas import PriorityChange, SlaPauseRequest, TicketOut
from api.ticket_access import live_ticket
from api.tickets import run_command
from domain.access import Principal, require_lead, require_staff
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import PriorityChangeIn, SlaPauseIn

router = APIRouter(prefix="/tickets", tags=["tickets"])


@router.post("/{ticket}/priority", response_model=TicketOut, responses=COMMAND_PROBLEMS)
async def change_priority(ticket: str, body: PriorityChange, session: SessionDep,
                          client: TemporalDep, principal: CurrentPrincipal) -> TicketOut:
    require_staff(principal)
    row = await live_ticket(session, ticket, principal)
    actor_type, actor_id = principal.actor
    command = PriorityChangeIn(priority=body.priority.value, reason=body.reason,
                               actor_type=actor_type.value, actor_id=actor_id)
    return await run_command(session, client, row, TicketWorkflow.change_priority, command)


@router.post("/{ticket}/sla/pause", response_model=TicketOut, responses=COMMAND_PROBLEMS)
async def pause_sla(ticket: str, body: SlaPauseRequest, session: SessionDep,
                    client: TemporalDep, principal: CurrentPrincipal) -> TicketOut:
    return await _pause_command(ticket, body, session, client, principal, pause=True)


@router.post("/{ticket}/sla/resume", response_model=TicketOut, responses=COMMAND_PROBLEMS)
async def resume_sla(ticket: str, body: SlaPauseRequest, session: SessionDep,
                     client: TemporalDep, principal: CurrentPrincipal) -> TicketOut:
    return await _pause_command(ticket, body, session, client, principal, pause=False)


async def _pause_command(ticket: str, body: SlaPauseRequest, session: SessionDep,
                         client: TemporalDep, principal: Principal, *, pause: bool) -> TicketOut:
    # Stopping the clocks changes what the team is measured by: leads and admins only.
    require_lead(principal, "only a lead or an admin pauses SLA clocks")
    row = await live_ticket(session, ticket, principal)
    actor_type, actor_id = principal.actor
    command = SlaPauseIn(reason=body.reason, note=body.note, actor_type=actor_type.value,
                         actor_id=actor_id)
    update = TicketWorkflow.pause_sla if pause else TicketWorkflow.resume_sla
    return await run_command(session, client, row, update, command)
