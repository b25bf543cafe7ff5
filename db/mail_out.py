"""Queries of outbound mail: what a message's mail needs, and its delivery state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models import Agent, Ticket, TicketMessage

SENT = "sent"
RETRYING = "retrying"


@dataclass(frozen=True)
class MailContext:
    message: TicketMessage
    ticket: Ticket
    author_name: str | None  # the agent's name for an agent's reply
    thread: list[TicketMessage]  # the ticket's public messages before this one, in order


async def mail_context(engine: AsyncEngine, message_uuid: str) -> MailContext | None:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        message = await session.get(TicketMessage, uuid.UUID(message_uuid))
        if message is None:
            return None
        ticket = await session.get(Ticket, message.ticket_id)
        assert ticket is not None
        thread = await session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == message.ticket_id,
                   TicketMessage.visibility == "public", TicketMessage.seq < message.seq)
            .order_by(TicketMessage.seq))
        author_id = _as_uuid(message.author_id) if message.author_type == "agent" else None
        name = await session.scalar(select(Agent.name).where(Agent.id == author_id)) \
            if author_id else None
        return MailContext(message=message, ticket=ticket, author_name=name,
                           thread=list(thread))


async def mark_sent(engine: AsyncEngine, message_uuid: str, attempt: int) -> None:
    await _set(engine, message_uuid, delivery_status=SENT, delivery_attempts=attempt,
               delivery_error=None, delivered_at=datetime.now(UTC))


async def mark_retrying(engine: AsyncEngine, message_uuid: str, attempt: int,
                        error: str) -> None:
    await _set(engine, message_uuid, delivery_status=RETRYING, delivery_attempts=attempt,
               delivery_error=error[:2000])


async def _set(engine: AsyncEngine, message_uuid: str, **values: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(TicketMessage).where(
            TicketMessage.id == uuid.UUID(message_uuid),
            # A late attempt's failure never hides that an earlier one went through.
            TicketMessage.delivery_status.is_distinct_from(SENT)).values(**values))


def _as_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
