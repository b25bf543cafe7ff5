"""What a signed-in customer does with their tickets in the portal, beside what the JSON
API's use cases already do for them (services/tickets.py: get_ticket, list_messages,
post_message): list all of theirs, and mark one solved or reopen it.

Every ticket is found through services/ticket_access.py with the customer's Principal, so
another customer's ticket is refused exactly as the API refuses it; the portal shows that
refusal as not-found.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from db import portal
from domain.access import Principal, require
from domain.lifecycle import Status
from domain.portal import CustomerAction, action_target, customer_actions
from services.customer_view import customer_ticket_out, is_customer
from services.desk import Desk
from services.problems import Problem
from services.satisfaction import rating_prompt
from services.schemas import CustomerTicketOut
from services.ticket_access import live_ticket
from services.tickets import run_command
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import StatusChangeIn

PAGE_SIZE = 25
_REASONS = {CustomerAction.SOLVE: "the customer marked it solved",
            CustomerAction.REOPEN: "the customer reopened it"}


@dataclass(frozen=True)
class TicketList:
    items: list[CustomerTicketOut]
    next_cursor: str | None


async def list_tickets(desk: Desk, principal: Principal, *, cursor: str | None = None,
                       limit: int = PAGE_SIZE) -> TicketList:
    """All the customer's tickets, the latest change they could see first."""
    email = _own_email(principal)
    rows = await portal.customer_tickets(session=desk.session, email=email, limit=limit + 1,
                                         before=_decode(cursor) if cursor else None)
    await desk.session.commit()
    page = rows[:limit]
    more = len(rows) > limit
    return TicketList(items=[customer_ticket_out(r) for r in page],
                      next_cursor=_encode(page[-1].public_updated_at, page[-1].id)
                      if more and page else None)


async def actions(desk: Desk, principal: Principal, ticket: str) -> list[CustomerAction]:
    """What the lifecycle lets this customer do to the ticket now (the page offers these)."""
    row = await live_ticket(desk.session, ticket, principal)
    return customer_actions(Status(row.status), closed_at=row.closed_at, now=datetime.now(UTC))


async def rating_due(desk: Desk, principal: Principal, ticket: str) -> str | None:
    """The token of the satisfaction question the customer is owed on this ticket now (it is
    resolved and this resolution is not rated yet), else None."""
    row = await live_ticket(desk.session, ticket, principal)
    return rating_prompt(desk.settings, row)


async def act(desk: Desk, principal: Principal, ticket: str, action: CustomerAction
              ) -> CustomerTicketOut:
    """Mark solved or reopen, by the ticket's workflow like an agent's status change; the
    audit names the customer."""
    _own_email(principal)
    row = await live_ticket(desk.session, ticket, principal)
    target = action_target(action, Status(row.status), closed_at=row.closed_at,
                           now=datetime.now(UTC))
    if target is None:
        raise Problem(422, "invalid-transition", "Not possible now",
                      f"{row.public_ref} cannot be {_done(action)} while it is "
                      f"{row.status.replace('_', ' ')}")
    actor_type, actor_id = principal.actor
    await run_command(desk.session, desk.temporal, row, TicketWorkflow.change_status,
                      StatusChangeIn(status=target.value, reason=_REASONS[action],
                                     actor_type=actor_type.value, actor_id=actor_id))
    await desk.session.refresh(row)
    return customer_ticket_out(row)


def _done(action: CustomerAction) -> str:
    return "marked solved" if action is CustomerAction.SOLVE else "reopened"


def _own_email(principal: Principal) -> str:
    require(is_customer(principal) and bool(principal.customer_email),
            "only a signed-in customer has a ticket list here")
    return str(principal.customer_email)


def _encode(at: datetime, ticket_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{ticket_id}".encode()).decode()


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, _, ticket_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), uuid.UUID(ticket_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as err:
        raise Problem(400, "bad-cursor", "Bad cursor",
                      "cursor is not one this page issued") from err
