"""Finding a ticket on behalf of a caller: 404, then 403, then 410, in that order.

The access check comes before the merged check so that a 410 (which names the merge target)
never tells a caller about a ticket it may not reach.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db import queries
from db.models import Ticket
from domain.access import Principal, TicketScope, TokenKind, require_post, require_ticket
from domain.lifecycle import Status
from services.commands import merged_problem
from services.problems import not_found


def scope_of(row: Ticket) -> TicketScope:
    return TicketScope(
        ticket_id=str(row.id), team_id=str(row.team_id) if row.team_id else None,
        assignee_id=str(row.assignee_id) if row.assignee_id else None,
        customer_email=row.customer_email,
        parent_ticket_id=str(row.parent_ticket_id) if row.parent_ticket_id else None,
    )


async def find_ticket(session: AsyncSession, key: str, principal: Principal, *,
                      to_post: bool = False) -> Ticket:
    """The ticket, if this caller may reach it (merged or not); `to_post` a message to it."""
    row = await queries.get_ticket(session=session, key=key)
    if row is None:
        raise not_found(key)
    check = require_post if to_post else require_ticket
    check(principal, scope_of(row),
          bound_merged_into=await _bound_merged_into(session, principal, row))
    return row


async def live_ticket(session: AsyncSession, key: str, principal: Principal, *,
                      to_post: bool = False) -> Ticket:
    """A reachable ticket that was not merged away (410 names where it went)."""
    row = await find_ticket(session, key, principal, to_post=to_post)
    if row.status == Status.DUPLICATE.value and row.merged_into:
        raise merged_problem(f"{row.public_ref} was merged", str(row.merged_into))
    # End the read transaction: its pooled connection must not sit idle while a command
    # waits on the workflow (expire_on_commit=False keeps `row` readable).
    await session.commit()
    return row


async def _bound_merged_into(session: AsyncSession, p: Principal, row: Ticket) -> str | None:
    """For a customer token reaching past its own ticket: where that ticket was merged."""
    if p.kind is not TokenKind.CUSTOMER or p.ticket_id is None or str(row.id) == p.ticket_id:
        return None
    bound = await queries.get_ticket(session=session, key=p.ticket_id)
    return str(bound.merged_into) if bound and bound.merged_into else None
