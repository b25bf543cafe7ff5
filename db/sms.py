"""Queries of the SMS channel: texts received (by MessageSid), the customer's open ticket,
and the Twilio messages of each reply with their delivery."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from db.models import SmsInbound, SmsOutbound, Ticket, TicketMessage
from domain.lifecycle import OPEN, Status
from domain.sms_delivery import FAILED, PartDelivery, message_delivery, moves_forward
from domain.ticket_fields import Channel

# A text threads onto its customer's ticket while the desk still works on it or it is
# resolved (a reply to a resolved ticket picks it up again, as an emailed one does).
THREADS_ONTO = frozenset(OPEN | {Status.RESOLVED})


async def inbound_seen(*, session: AsyncSession, message_sid: str) -> bool:
    return await session.get(SmsInbound, message_sid) is not None


async def record_inbound(*, session: AsyncSession, message_sid: str, account_sid: str,
                         from_number: str, to_number: str, ticket_id: uuid.UUID) -> None:
    await session.execute(insert(SmsInbound).values(
        message_sid=message_sid, account_sid=account_sid, from_number=from_number,
        to_number=to_number, ticket_id=ticket_id).on_conflict_do_nothing())
    await session.commit()


async def open_ticket_of(*, session: AsyncSession, customer_email: str) -> Ticket | None:
    """The customer's newest SMS ticket still open (None: the next text opens a new one)."""
    return await session.scalar(
        select(Ticket).where(Ticket.customer_email == customer_email,
                             Ticket.channel == Channel.SMS.value,
                             Ticket.status.in_([s.value for s in THREADS_ONTO]))
        .order_by(Ticket.created_at.desc()).limit(1))


@dataclass(frozen=True)
class Conversation:
    """Who a reply on an SMS ticket goes to, and from which of our numbers."""
    customer_number: str
    our_number: str | None


async def conversation(*, session: AsyncSession, ticket_id: uuid.UUID) -> Conversation | None:
    """From the customer's latest text on the ticket (None: they never texted it)."""
    row = await session.scalar(
        select(SmsInbound).where(SmsInbound.ticket_id == ticket_id)
        .order_by(SmsInbound.received_at.desc()).limit(1))
    return Conversation(row.from_number, row.to_number) if row else None


async def sms_tickets(*, conn: AsyncConnection, ticket_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these tickets are SMS conversations."""
    rows = await conn.execute(select(Ticket.id).where(Ticket.id.in_(ticket_ids),
                                                      Ticket.channel == Channel.SMS.value))
    return set(rows.scalars())


async def queue_replies(*, conn: AsyncConnection, message_uuids: list[uuid.UUID]) -> None:
    """Shown as queued until the sender reports."""
    await conn.execute(update(TicketMessage).where(
        TicketMessage.id.in_(message_uuids), TicketMessage.delivery_status.is_(None))
        .values(delivery_status="queued"))


async def sent_parts(*, engine: AsyncEngine, message_uuid: uuid.UUID) -> dict[int, str]:
    """Part number -> Twilio sid, for the parts of a reply Twilio already accepted."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(SmsOutbound.part, SmsOutbound.twilio_sid)
                                  .where(SmsOutbound.message_uuid == message_uuid))
        return {part: sid for part, sid in rows.all()}


async def record_part(*, engine: AsyncEngine, values: dict[str, object]) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(SmsOutbound).values(**values).on_conflict_do_nothing())


async def set_message_delivery(*, engine: AsyncEngine, message_uuid: uuid.UUID,
                               **values: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(TicketMessage).where(TicketMessage.id == message_uuid)
                           .values(**values))


async def forget_failed_parts(*, session: AsyncSession, message_uuid: uuid.UUID) -> None:
    """Before a retry: the parts Twilio refused or could not deliver are sent again (the
    delivered ones are not); the message shows queued until the sender reports."""
    await session.execute(delete(SmsOutbound).where(
        SmsOutbound.message_uuid == message_uuid,
        SmsOutbound.status.in_(sorted(FAILED))))
    await session.execute(update(TicketMessage).where(TicketMessage.id == message_uuid)
                          .values(delivery_status="queued", delivery_error=None))
    await session.commit()


async def mark_failed(*, engine: AsyncEngine, message_uuid: uuid.UUID, error: str) -> None:
    """Given up; a refusal's own record (which part, Twilio's code) is kept."""
    async with engine.begin() as conn:
        await conn.execute(update(TicketMessage).where(
            TicketMessage.id == message_uuid,
            TicketMessage.delivery_status.is_distinct_from("failed"))
            .values(delivery_status="failed", delivery_error=error))


async def refresh_message_delivery(conn: AsyncConnection, message_uuid: uuid.UUID) -> None:
    """The message's delivery from its parts' (once all were accepted by Twilio)."""
    rows = await conn.execute(
        select(SmsOutbound.part, SmsOutbound.parts, SmsOutbound.status, SmsOutbound.error_code)
        .where(SmsOutbound.message_uuid == message_uuid).order_by(SmsOutbound.part))
    parts = [PartDelivery(*row) for row in rows.all()]
    shown = message_delivery(parts)
    if shown is not None:
        await conn.execute(update(TicketMessage).where(TicketMessage.id == message_uuid)
                           .values(delivery_status=shown.status, delivery_error=shown.error))


async def record_status(*, engine: AsyncEngine, twilio_sid: str, status: str,
                        error_code: int | None) -> bool:
    """A status callback: the part's status moves forward only (a late `sent` after
    `delivered` changes nothing); False for a sid that is none of ours."""
    async with engine.begin() as conn:
        part = (await conn.execute(
            select(SmsOutbound.message_uuid, SmsOutbound.status)
            .where(SmsOutbound.twilio_sid == twilio_sid).with_for_update())).first()
        if part is None:
            return False
        if moves_forward(part.status, status):
            await conn.execute(update(SmsOutbound).where(SmsOutbound.twilio_sid == twilio_sid)
                               .values(status=status, error_code=error_code,
                                       updated_at=func.now()))
            await refresh_message_delivery(conn, part.message_uuid)
    return True
