"""SLA use cases: a priority change recomputes the clocks; leads pause them for an incident."""

from __future__ import annotations

from domain.access import Principal, require_lead, require_staff
from services.desk import Desk
from services.schemas import PriorityChange, SlaPauseRequest, TicketOut
from services.ticket_access import live_ticket
from services.tickets import run_command
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import PriorityChangeIn, SlaPauseIn


async def change_priority(desk: Desk, principal: Principal, ticket: str,
                          body: PriorityChange) -> TicketOut:
    require_staff(principal)
    row = await live_ticket(desk.session, ticket, principal)
    actor_type, actor_id = principal.actor
    command = PriorityChangeIn(priority=body.priority.value, reason=body.reason,
                               actor_type=actor_type.value, actor_id=actor_id)
    return await run_command(desk.session, desk.temporal, row, TicketWorkflow.change_priority,
                             command)


async def pause_sla(desk: Desk, principal: Principal, ticket: str, body: SlaPauseRequest, *,
                    pause: bool) -> TicketOut:
    """Pause (or resume) every clock for a reason other than waiting on the customer."""
    # Stopping the clocks changes what the team is measured by: leads and admins only.
    require_lead(principal, "only a lead or an admin pauses SLA clocks")
    row = await live_ticket(desk.session, ticket, principal)
    actor_type, actor_id = principal.actor
    command = SlaPauseIn(reason=body.reason, note=body.note, actor_type=actor_type.value,
                         actor_id=actor_id)
    update = TicketWorkflow.pause_sla if pause else TicketWorkflow.resume_sla
    return await run_command(desk.session, desk.temporal, row, update, command)
