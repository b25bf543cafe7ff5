"""/api/v1/tickets/{ticket}/priority and /sla: commands that move a ticket's SLA clocks.

A priority change recomputes every running deadline from its original start; pausing for an
incident stops every clock until the incident's resume (waiting on the customer pauses by
status instead).
"""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import COMMAND_PROBLEMS
from services import ticket_sla
from services.schemas import PriorityChange, SlaPauseRequest, TicketOut

router = APIRouter(prefix="/tickets", tags=["tickets"])


@router.post("/{ticket}/priority", response_model=TicketOut, responses=COMMAND_PROBLEMS)
async def change_priority(ticket: str, body: PriorityChange, desk: DeskDep,
                          principal: CurrentPrincipal) -> TicketOut:
    return await ticket_sla.change_priority(desk, principal, ticket, body)


@router.post("/{ticket}/sla/pause", response_model=TicketOut, responses=COMMAND_PROBLEMS)
async def pause_sla(ticket: str, body: SlaPauseRequest, desk: DeskDep,
                    principal: CurrentPrincipal) -> TicketOut:
    return await ticket_sla.pause_sla(desk, principal, ticket, body, pause=True)


@router.post("/{ticket}/sla/resume", response_model=TicketOut, responses=COMMAND_PROBLEMS)
async def resume_sla(ticket: str, body: SlaPauseRequest, desk: DeskDep,
                     principal: CurrentPrincipal) -> TicketOut:
    return await ticket_sla.pause_sla(desk, principal, ticket, body, pause=False)
