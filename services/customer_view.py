"""Response bodies for customer tokens: every route a customer reads a ticket through builds
them here, from the rules of domain/customer_view.py (what a customer may learn)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from db import queries
from db.models import Ticket, TicketMessage
from domain.access import Principal, TokenKind
from domain.customer_view import customer_author_id, customer_ticket
from services.messages import messages_out
from services.schemas import CustomerMessageCreated, CustomerTicketOut, MessageCreated, MessageOut


def is_customer(p: Principal) -> bool:
    return p.kind is TokenKind.CUSTOMER


def customer_ticket_out(row: Ticket) -> CustomerTicketOut:
    return CustomerTicketOut.model_validate(customer_ticket(
        queries.to_snapshot(row), public_updated_at=row.public_updated_at))


async def customer_messages_out(session: AsyncSession, rows: Sequence[TicketMessage], *,
                                ticket_ref: str) -> list[MessageOut]:
    """Public messages as their customer reads them: numbered among the public ones, no
    staff ids, no mail delivery state, no reply link to a message the customer cannot see."""
    hidden = await queries.internal_message_ids(
        session=session, message_ids=[m.in_reply_to for m in rows if m.in_reply_to])
    shown = await messages_out(session, rows, ticket_ref=ticket_ref)
    return [out.model_copy(update={
        "seq": row.public_seq,
        "author_id": customer_author_id(row.author_type, row.author_id),
        "in_reply_to": None if row.in_reply_to in hidden else row.in_reply_to,
        "delivery": None,
        "authentication": None,  # how we judged their mail is the desk's business
    }) for out, row in zip(shown, rows, strict=True)]


async def customer_message_created(session: AsyncSession, created: MessageCreated
                                   ) -> CustomerMessageCreated:
    """A customer's reply as stored, and the ticket it landed on (the one it was posted to,
    or the follow-up a late reply opened). A customer's command is answered only once its
    projection is written, so both are read back from there."""
    message = await queries.get_message(session=session, message_uuid=created.id)
    ticket = await queries.get_ticket(session=session, key=str(created.ticket.ticket_id))
    if message is None or ticket is None:  # the workflow answers after projecting: never
        raise RuntimeError(f"message {created.id} answered before it was projected")
    for loaded in (message, ticket):  # this session may hold them from before the command
        await session.refresh(loaded)
    [out] = await customer_messages_out(session, [message], ticket_ref=ticket.public_ref)
    return CustomerMessageCreated(**out.model_dump(), ticket=customer_ticket_out(ticket))
